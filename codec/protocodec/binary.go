package protocodec

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/streamkit-dev/streamkit/codec"
)

// BinaryProtoCodec decodes Binary frames of the protobuf wire format into new
// *I messages and encodes *O messages as Binary frames. I and O are generated
// message structs (pb.Request, not *pb.Request); the PI and PO parameters are
// their pointer types, which NewBinaryProtoCodec infers:
//
//	c := protocodec.NewBinaryProtoCodec[pb.Request, pb.Response]()
//
// Decode builds each message with new(I): no reflection and no factory to
// configure, so the zero value is ready to use and cannot panic.
//
// It is safe for concurrent use; do not change the options while it is in use.
type BinaryProtoCodec[I, O any, PI interface {
	*I
	proto.Message
}, PO interface {
	*O
	proto.Message
}] struct {
	// MarshalOptions are used by Encode; set Deterministic for stable bytes
	// (map keys sorted), at a small cost.
	MarshalOptions proto.MarshalOptions
	// UnmarshalOptions are used by Decode: DiscardUnknown drops fields the
	// message does not declare instead of keeping them to re-encode,
	// RecursionLimit bounds nesting (zero means protobuf's default, 10000).
	// Merge has no effect: every Decode starts from a new message.
	UnmarshalOptions proto.UnmarshalOptions
}

// NewBinaryProtoCodec returns a BinaryProtoCodec with default options for
// messages *I in and *O out, inferring the pointer type parameters. Set its
// option fields before use.
func NewBinaryProtoCodec[I, O any, PI interface {
	*I
	proto.Message
}, PO interface {
	*O
	proto.Message
}]() BinaryProtoCodec[I, O, PI, PO] {
	return BinaryProtoCodec[I, O, PI, PO]{}
}

// Decode parses one wire-format message into a new *I. A frame that is not
// Binary is an error wrapping codec.ErrMessageType; malformed input is an
// error wrapping protobuf's. Empty data is a valid, empty message. The
// message does not alias data (protobuf copies bytes fields and unknown
// fields).
func (c BinaryProtoCodec[I, O, PI, PO]) Decode(data []byte, t codec.MessageType) (PI, error) {
	if t != codec.Binary {
		return nil, codec.CheckType(t, codec.Binary)
	}
	m := PI(new(I))
	// The message is new: merging into it is the same as replacing it, and
	// skips the Reset that proto.Unmarshal does first.
	opts := c.UnmarshalOptions
	opts.Merge = true
	if err := opts.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("protocodec: decode protobuf: %w", err)
	}
	return m, nil
}

// Encode marshals m to the protobuf wire format, as a Binary frame. A nil
// message encodes as an empty one (zero bytes), as proto.Marshal does.
func (c BinaryProtoCodec[I, O, PI, PO]) Encode(m PO) ([]byte, codec.MessageType, error) {
	b, err := c.MarshalOptions.Marshal(m)
	if err != nil {
		return nil, codec.Binary, fmt.Errorf("protocodec: encode protobuf: %w", err)
	}
	return b, codec.Binary, nil
}
