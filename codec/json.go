package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// JSONCodec decodes any JSON value into the types encoding/json uses for an
// interface{} (map[string]any, []any, string, float64 or json.Number, bool,
// nil) and encodes any value with json.Marshal. It reads and writes Text
// frames only.
//
// The zero value is ready to use and is safe for concurrent use.
type JSONCodec struct {
	// UseNumber decodes numbers as json.Number instead of float64, so
	// integers above 2^53 (IDs, counters) keep every digit.
	UseNumber bool
}

var _ Codec[any, any] = JSONCodec{}

// Decode decodes one JSON value. A frame that is not Text is an error wrapping
// ErrMessageType; malformed JSON, or anything after the value other than
// white space, is an error wrapping encoding/json's.
func (c JSONCodec) Decode(data []byte, t MessageType) (any, error) {
	if t != Text {
		return nil, CheckType(t, Text)
	}
	var v any
	if err := unmarshal(data, &v, c.UseNumber, false); err != nil {
		return nil, err
	}
	return v, nil
}

// Encode returns json.Marshal(v) as a Text frame.
func (JSONCodec) Encode(v any) ([]byte, MessageType, error) {
	return marshal(v)
}

// TypedJSONCodec decodes JSON into values of type I and encodes values of
// type O, with encoding/json's rules (struct tags, json.Marshaler, ...). It
// reads and writes Text frames only. A pointer type for I (TypedJSONCodec[*Req,
// *Resp]) avoids copying large structs; Decode then returns a new value each
// time.
//
// The zero value is ready to use and is safe for concurrent use.
type TypedJSONCodec[I, O any] struct {
	// UseNumber decodes numbers held in interface{} fields as json.Number
	// instead of float64.
	UseNumber bool
	// DisallowUnknownFields makes an object key that matches no struct field
	// a decode error instead of being ignored.
	DisallowUnknownFields bool
}

// Decode decodes one JSON value into a new I. A frame that is not Text is an
// error wrapping ErrMessageType; malformed JSON, a JSON value that does not
// fit I, or anything after the value other than white space is an error
// wrapping encoding/json's. The JSON literal null decodes to I's zero value.
func (c TypedJSONCodec[I, O]) Decode(data []byte, t MessageType) (I, error) {
	var zero I
	if t != Text {
		return zero, CheckType(t, Text)
	}
	if rt := reflect.TypeFor[I](); rt.Kind() == reflect.Pointer {
		// Decode into a new pointee, as a caller of json.Unmarshal would
		// (v := new(T); json.Unmarshal(data, v)), instead of into a
		// heap-allocated pointer variable: one allocation fewer for the
		// common TypedJSONCodec[*T, ...]. json.Unmarshal would leave the
		// pointee in place for a literal null; null means a nil pointer.
		if string(bytes.Trim(data, jsonSpace)) == "null" {
			return zero, nil
		}
		p := reflect.New(rt.Elem()).Interface().(I)
		if err := unmarshal(data, p, c.UseNumber, c.DisallowUnknownFields); err != nil {
			return zero, err
		}
		return p, nil
	}
	var v I
	if err := unmarshal(data, &v, c.UseNumber, c.DisallowUnknownFields); err != nil {
		return zero, err
	}
	return v, nil
}

// jsonSpace is JSON's white space (RFC 8259).
const jsonSpace = " \t\r\n"

// Encode returns json.Marshal(v) as a Text frame.
func (TypedJSONCodec[I, O]) Encode(v O) ([]byte, MessageType, error) {
	return marshal(v)
}

func marshal(v any) ([]byte, MessageType, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, Text, fmt.Errorf("codec: encode JSON: %w", err)
	}
	return b, Text, nil
}

// unmarshal is json.Unmarshal, or a json.Decoder when an option needs one.
// Both read exactly one value and reject trailing data other than white
// space, and neither retains data.
func unmarshal(data []byte, v any, useNumber, strict bool) error {
	if !useNumber && !strict {
		if err := json.Unmarshal(data, v); err != nil {
			return fmt.Errorf("codec: decode JSON: %w", err)
		}
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if useNumber {
		dec.UseNumber()
	}
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		if !json.Valid(data) {
			// Report malformed input as json.Unmarshal does (a
			// *json.SyntaxError with an offset), not as io.EOF or
			// io.ErrUnexpectedEOF.
			return syntaxError(data)
		}
		return fmt.Errorf("codec: decode JSON: %w", err)
	}
	// A Decoder leaves data after the value for a next call; json.Unmarshal
	// rejects it. Reject it here too, so options do not change what is valid.
	if rest := data[dec.InputOffset():]; len(bytes.TrimLeft(rest, jsonSpace)) != 0 {
		return syntaxError(data)
	}
	return nil
}

// syntaxError returns json.Unmarshal's error for data that is not exactly one
// JSON value. It runs only on the error path.
func syntaxError(data []byte) error {
	var raw json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("codec: decode JSON: %w", err)
	}
	return errors.New("codec: decode JSON: invalid JSON")
}
