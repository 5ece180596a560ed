package codec

import "errors"

// Funcs adapts a pair of functions to a Codec, for one-off formats and for
// tests (a codec that fails on purpose, say). Its concurrency and retention
// guarantees are those of the functions.
//
// A nil function is an error wrapping ErrNotConfigured when called, not a
// panic, so the zero value is safe (if useless).
type Funcs[I, O any] struct {
	DecodeFunc func(data []byte, t MessageType) (I, error)
	EncodeFunc func(v O) ([]byte, MessageType, error)
}

// ErrNotConfigured is returned by a codec that is missing something it needs,
// such as a Funcs without the function being called.
var ErrNotConfigured = errors.New("codec: codec not configured")

// Decode calls DecodeFunc.
func (f Funcs[I, O]) Decode(data []byte, t MessageType) (I, error) {
	if f.DecodeFunc == nil {
		var zero I
		return zero, ErrNotConfigured
	}
	return f.DecodeFunc(data, t)
}

// Encode calls EncodeFunc.
func (f Funcs[I, O]) Encode(v O) ([]byte, MessageType, error) {
	if f.EncodeFunc == nil {
		return nil, 0, ErrNotConfigured
	}
	return f.EncodeFunc(v)
}
