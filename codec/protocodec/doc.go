// Package protocodec provides Protocol Buffers codecs for streamkit
// transports: [BinaryProtoCodec] (the wire format, in Binary frames) and
// [ProtoJSONCodec] (the protobuf JSON mapping, in Text frames). Both implement
// codec.Codec from github.com/streamkit-dev/streamkit/codec.
//
// It is a module of its own so that only its users download
// google.golang.org/protobuf; the codec module stays standard library only.
//
// # Type parameters
//
// Generated protobuf types are used through pointers (*pb.Request implements
// proto.Message). The codecs take the message structs and their pointer types:
//
//	BinaryProtoCodec[I, O any, PI interface{ *I; proto.Message }, PO interface{ *O; proto.Message }]
//
// and implement codec.Codec[PI, PO]. Go does not infer type arguments of a
// type, but it does for a function, so the constructors need only the structs:
//
//	c := protocodec.NewBinaryProtoCodec[pb.Request, pb.Response]() // codec.Codec[*pb.Request, *pb.Response]
//
// Decode builds each message with new(I) through the PI constraint: no
// reflection, no factory function, no prototype message. An unconfigured zero
// value therefore works and cannot panic.
//
// # Frames and errors
//
// BinaryProtoCodec decodes only Binary frames and encodes Binary frames;
// ProtoJSONCodec decodes only Text frames and encodes Text frames. A frame of
// the other type is an error wrapping codec.ErrMessageType, which transports
// check for. Binary protobuf cannot travel on text-only transports (SSE, long
// polling); use ProtoJSONCodec there.
//
// Malformed input is an error prefixed "protocodec: " that wraps protobuf's.
// By default protojson rejects JSON keys the message does not declare; set
// UnmarshalOptions.DiscardUnknown on the reading side so that a writer may
// add fields without breaking older readers. The binary format always accepts
// unknown fields (keeping them to re-encode unless DiscardUnknown is set).
//
// # Concurrency
//
// Both codecs are safe for concurrent use: they hold only their options,
// which must not change while the codec is in use. Messages themselves are not
// safe for concurrent mutation; Decode returns a new message each call.
//
// # Memory
//
// Decode never retains data: protobuf copies bytes fields and unknown fields
// out of the input. Encode returns a new slice owned by the caller. Nesting is
// bounded by UnmarshalOptions.RecursionLimit (default 10000); the total size
// of a message is bounded by the transport's message size limit, which it
// applies before the codec sees the frame.
//
// # Shutdown
//
// The codecs hold no goroutines or resources; there is nothing to close.
package protocodec
