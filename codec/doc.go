// Package codec turns the frames a real-time transport carries into Go values
// and back. Every streamkit transport (sse, ws, longpoll, streamable) takes a
// Codec, so the format is chosen once, by the user, and the transport only
// moves bytes.
//
// This module imports only the standard library. Protocol Buffers codecs
// (binary and protojson) live in the nested module
// github.com/streamkit-dev/streamkit/codec/protocodec, so a JSON-only user
// never downloads google.golang.org/protobuf.
//
// # Overview
//
// A [Codec] has two methods:
//
//	Decode(data []byte, t MessageType) (I, error)  // a received frame -> a value
//	Encode(v O) ([]byte, MessageType, error)      // a value -> a frame to send
//
// I and O are the inbound and outbound value types; they differ when the two
// directions carry different messages (requests in, events out).
// [MessageType] is [Text] or [Binary], numbered like gorilla/websocket's
// TextMessage and BinaryMessage, so the ws transport converts with a cast.
// Transports that carry only text (SSE, long polling) pass Text.
//
// The codecs here:
//
//   - [JSONCodec] decodes any JSON into map[string]any, []any, string,
//     float64 (or [encoding/json.Number] with UseNumber), bool and nil, and
//     encodes anything json.Marshal accepts.
//   - [TypedJSONCodec] decodes into and encodes from your own types.
//   - [Funcs] adapts two functions, for a one-off format or a test.
//
// The JSON codecs read and write Text frames. Their cost is that of
// encoding/json itself: tools/bench measures each against calling
// encoding/json directly, and the target is within 5%.
//
// # Zero values and errors
//
// Every codec's zero value is ready to use; nothing here panics on input or
// for want of configuration. Errors carry the "codec: " prefix:
//
//   - A frame of the wrong type (Binary given to a JSON codec) is an error
//     wrapping [ErrMessageType]; custom codecs produce the same with
//     [CheckType]. A WebSocket transport typically answers it with close
//     status 1003 (unsupported data).
//   - Malformed JSON, trailing data after the value, or JSON that does not fit
//     the target type wraps encoding/json's error, so errors.As finds
//     *json.SyntaxError or *json.UnmarshalTypeError.
//   - A value json.Marshal rejects (a channel, a NaN float) is an Encode error.
//
// # Concurrency
//
// Codecs are safe for concurrent use by multiple goroutines: a transport
// shares one codec between all its connections. The codecs here hold only
// their options, which must not be changed while the codec is in use. A
// custom Codec must be safe for concurrent use too.
//
// # Memory
//
// Decode never retains the data slice: transports reuse their read buffers,
// and the JSON codecs copy what they keep (encoding/json copies strings and
// json.RawMessage). A json.Unmarshaler of your own must copy too, as
// encoding/json already requires. Encode returns a new slice owned by the
// caller. Neither method buffers anything between calls. Message size limits
// are the transport's job: it refuses an oversized frame before the codec
// sees it.
//
// # Security
//
// Decoding untrusted JSON into any builds maps and slices as large as the
// input allows; bound the input size in the transport (every streamkit
// transport has a message size limit). TypedJSONCodec.DisallowUnknownFields
// rejects objects with keys your type does not declare. json.Marshal escapes
// <, > and & in strings, so encoded JSON is safe to embed in HTML.
//
// # Shutdown
//
// Codecs hold no goroutines, connections or buffers; there is nothing to
// close.
package codec
