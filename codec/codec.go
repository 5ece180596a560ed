package codec

import (
	"errors"
	"fmt"
	"strconv"
)

// MessageType says how a message travels: as text (UTF-8) or as raw bytes.
// The values are those of gorilla/websocket's TextMessage and BinaryMessage
// (and of the WebSocket opcodes), so a transport converts with a cast.
// Transports that only carry text (SSE, long polling, HTTP bodies) use Text.
type MessageType int

// Message types.
const (
	Text   MessageType = 1 // UTF-8 text: JSON, protojson
	Binary MessageType = 2 // raw bytes: binary protobuf
)

// String returns "text", "binary" or "MessageType(n)".
func (t MessageType) String() string {
	switch t {
	case Text:
		return "text"
	case Binary:
		return "binary"
	}
	return "MessageType(" + strconv.Itoa(int(t)) + ")"
}

// Codec turns frames read from a connection into values of type I, and values
// of type O into frames to write. I and O differ when a protocol's two
// directions carry different messages (requests in, responses out).
//
// Concurrency: a Codec is safe for concurrent use by multiple goroutines; a
// transport shares one Codec between all its connections. Every codec in this
// module and in codec/protocodec is stateless after construction; a custom
// Codec must be too, or synchronize itself.
//
// Decode decodes one complete message. t is the frame type the transport
// received; a codec that cannot decode that type returns an error wrapping
// ErrMessageType (never a panic). Malformed data is an error (the JSON codecs
// wrap the encoding/json error, so errors.As finds *json.SyntaxError and
// friends). Decode must not retain data, or anything that aliases it, after
// it returns: transports reuse their read buffers.
//
// Encode returns the encoded message and the frame type to send it as. The
// returned slice belongs to the caller. A value that cannot be encoded is an
// error, never a panic.
type Codec[I, O any] interface {
	Decode(data []byte, t MessageType) (I, error)
	Encode(v O) ([]byte, MessageType, error)
}

// ErrMessageType is wrapped by Decode errors when a frame has a type the codec
// does not decode (a Binary frame given to a JSON codec, for example). A
// transport that sees it may close the connection with "unsupported data"
// (WebSocket status 1003).
var ErrMessageType = errors.New("codec: unexpected message type")

// CheckType returns nil when got is want, and otherwise an error that wraps
// ErrMessageType and names both types. Custom codecs use it to reject frames
// the same way the codecs in this module do.
func CheckType(got, want MessageType) error {
	if got == want {
		return nil
	}
	return fmt.Errorf("%w: got %v, want %v", ErrMessageType, got, want)
}
