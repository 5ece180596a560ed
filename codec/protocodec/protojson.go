package protocodec

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/streamkit-dev/streamkit/codec"
)

// ProtoJSONCodec decodes Text frames in the protobuf JSON mapping
// (google.golang.org/protobuf/encoding/protojson) into new *I messages and
// encodes *O messages as Text frames. I and O are generated message structs
// (pb.Request, not *pb.Request); the PI and PO parameters are their pointer
// types, which NewProtoJSONCodec infers:
//
//	c := protocodec.NewProtoJSONCodec[pb.Request, pb.Response]()
//	c.UnmarshalOptions.DiscardUnknown = true
//
// Decode builds each message with new(I): no reflection and no factory to
// configure, so the zero value is ready to use and cannot panic.
//
// protojson deliberately varies its output's white space between builds, so
// compare encoded messages with proto.Equal after decoding, never as bytes.
//
// It is safe for concurrent use; do not change the options while it is in use.
type ProtoJSONCodec[I, O any, PI interface {
	*I
	proto.Message
}, PO interface {
	*O
	proto.Message
}] struct {
	// MarshalOptions are used by Encode: UseProtoNames (snake_case keys),
	// EmitUnpopulated / EmitDefaultValues (write zero fields), UseEnumNumbers,
	// Multiline and Indent, Resolver for google.protobuf.Any.
	MarshalOptions protojson.MarshalOptions
	// UnmarshalOptions are used by Decode: DiscardUnknown accepts and drops
	// keys the message does not declare (otherwise they are an error, which
	// makes adding a field a breaking change for older readers),
	// RecursionLimit bounds nesting (zero means the default, 10000), Resolver
	// for google.protobuf.Any.
	UnmarshalOptions protojson.UnmarshalOptions
}

// NewProtoJSONCodec returns a ProtoJSONCodec with default options for
// messages *I in and *O out, inferring the pointer type parameters. Set its
// option fields before use.
func NewProtoJSONCodec[I, O any, PI interface {
	*I
	proto.Message
}, PO interface {
	*O
	proto.Message
}]() ProtoJSONCodec[I, O, PI, PO] {
	return ProtoJSONCodec[I, O, PI, PO]{}
}

// Decode parses one protojson document into a new *I. A frame that is not
// Text is an error wrapping codec.ErrMessageType; malformed JSON, unknown
// fields (unless UnmarshalOptions.DiscardUnknown) and values that do not fit
// the message are errors wrapping protojson's. The message does not alias
// data.
func (c ProtoJSONCodec[I, O, PI, PO]) Decode(data []byte, t codec.MessageType) (PI, error) {
	if t != codec.Text {
		return nil, codec.CheckType(t, codec.Text)
	}
	m := PI(new(I))
	if err := c.UnmarshalOptions.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("protocodec: decode protojson: %w", err)
	}
	return m, nil
}

// Encode marshals m in the protobuf JSON mapping, as a Text frame. A nil
// message encodes as an empty one ("{}" for most messages), as
// protojson.Marshal does; a message that cannot be written as JSON (a
// google.protobuf.Value with no kind set, invalid UTF-8) is an error.
func (c ProtoJSONCodec[I, O, PI, PO]) Encode(m PO) ([]byte, codec.MessageType, error) {
	b, err := c.MarshalOptions.Marshal(m)
	if err != nil {
		return nil, codec.Text, fmt.Errorf("protocodec: encode protojson: %w", err)
	}
	return b, codec.Text, nil
}
