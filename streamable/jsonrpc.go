package streamable

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// JSON-RPC 2.0 error codes.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
)

// Batch bounds used when BatchLimits fields are zero.
const (
	DefaultMaxBatchItems = 100
	DefaultMaxBatchBytes = 4 << 20
)

// ErrInvalidMessage matches (errors.Is) every *Error that ParseMessage and
// SplitBatch return, so callers can tell "the peer sent garbage" from I/O
// failures.
var ErrInvalidMessage = errors.New("streamable: invalid JSON-RPC message")

// Error is a JSON-RPC error object. It is also the Go error that the parsers
// return: Code is CodeParseError for bytes that are not JSON and
// CodeInvalidRequest for JSON that is not a valid message or batch.
type Error struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("streamable: JSON-RPC error %d: %s", e.Code, e.Message)
}

// Is makes errors.Is(err, ErrInvalidMessage) true for parse and
// invalid-request errors.
func (e *Error) Is(target error) bool {
	return target == ErrInvalidMessage && (e.Code == CodeParseError || e.Code == CodeInvalidRequest)
}

// Kind says what a message is.
type Kind uint8

// Message kinds.
const (
	KindRequest      Kind = iota + 1 // method and id
	KindNotification                 // method, no id
	KindResponse                     // result and id
	KindError                        // error and id (id may be null)
)

func (k Kind) String() string {
	switch k {
	case KindRequest:
		return "request"
	case KindNotification:
		return "notification"
	case KindResponse:
		return "response"
	case KindError:
		return "error"
	}
	return "invalid"
}

// Message is one JSON-RPC 2.0 envelope. Params, Result and ID stay raw so
// that the transport never decodes what it does not need.
type Message struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *Error          `json:"error,omitempty"`
}

// Kind classifies m. It assumes m was validated by ParseMessage.
func (m *Message) Kind() Kind {
	switch {
	case m.Method != "" && len(m.ID) > 0:
		return KindRequest
	case m.Method != "":
		return KindNotification
	case m.Error != nil:
		return KindError
	}
	return KindResponse
}

// IsRequest reports whether m is a request (it expects a response).
func (m *Message) IsRequest() bool { return m.Method != "" && len(m.ID) > 0 }

// NewRequest builds a request message. params may be nil, a
// json.RawMessage, or any value encoding/json accepts.
func NewRequest(id json.RawMessage, method string, params any) (*Message, error) {
	p, err := rawJSON(params)
	if err != nil {
		return nil, err
	}
	return &Message{JSONRPC: "2.0", ID: id, Method: method, Params: p}, nil
}

// NewNotification builds a notification message.
func NewNotification(method string, params any) (*Message, error) {
	p, err := rawJSON(params)
	if err != nil {
		return nil, err
	}
	return &Message{JSONRPC: "2.0", Method: method, Params: p}, nil
}

// NewResult builds the response to the request with id.
func NewResult(id json.RawMessage, result any) (*Message, error) {
	r, err := rawJSON(result)
	if err != nil {
		return nil, err
	}
	if r == nil {
		r = json.RawMessage("{}")
	}
	return &Message{JSONRPC: "2.0", ID: id, Result: r}, nil
}

// NewErrorResponse builds an error response; a nil id is sent as null.
func NewErrorResponse(id json.RawMessage, e *Error) *Message {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	return &Message{JSONRPC: "2.0", ID: id, Error: e}
}

func rawJSON(v any) (json.RawMessage, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		if !json.Valid(v) {
			return nil, errors.New("streamable: json.RawMessage is not valid JSON")
		}
		return v, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("streamable: encoding params: %w", err)
	}
	return b, nil
}

func invalid(format string, args ...any) *Error {
	return &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf(format, args...)}
}

// ParseMessage parses and validates one JSON-RPC 2.0 message. It returns an
// *Error with CodeParseError when b is not JSON and CodeInvalidRequest when
// it is JSON but not a message: wrong or missing "jsonrpc", an id that is
// not a string, number or null, a method that is not a non-empty string,
// both or neither of result and error, a request that is also a response.
func ParseMessage(b []byte) (*Message, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		if len(b) > 0 && json.Valid(b) {
			return nil, invalid("message is not an object")
		}
		return nil, &Error{Code: CodeParseError, Message: "parse error"}
	}
	// Decode straight into the Message: a field of the wrong JSON type
	// (a numeric method, an error that is not an object) is an
	// *json.UnmarshalTypeError, reported as Invalid Request.
	m := &Message{}
	if err := json.Unmarshal(b, m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, invalid("field %q has the wrong type", te.Field)
		}
		if json.Valid(b) {
			return nil, invalid("malformed message: %v", err)
		}
		return nil, &Error{Code: CodeParseError, Message: "parse error"}
	}
	if m.JSONRPC != "2.0" {
		return nil, invalid(`"jsonrpc" must be "2.0"`)
	}
	if len(m.ID) > 0 {
		switch m.ID[0] {
		case '"', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'n': // n: null, for error responses
		default:
			return nil, invalid("id must be a string, a number or null")
		}
	}
	if isNull(m.Params) {
		m.Params = nil
	}
	if len(m.Params) > 0 {
		if c := m.Params[0]; c != '{' && c != '[' {
			return nil, invalid("params must be an object or an array")
		}
	}
	hasResult := len(m.Result) > 0
	hasError := m.Error != nil
	if m.Method != "" {
		if hasResult || hasError {
			return nil, invalid("a request cannot carry result or error")
		}
		if isNull(m.ID) {
			return nil, invalid("request id must not be null")
		}
		return m, nil
	}
	if bytes.Contains(b, []byte(`"method"`)) && methodPresent(b) {
		return nil, invalid("method must be a non-empty string")
	}
	if hasResult == hasError {
		return nil, invalid("message needs exactly one of method, result or error")
	}
	if len(m.ID) == 0 {
		return nil, invalid("response needs an id")
	}
	if hasResult && isNull(m.ID) {
		return nil, invalid("result id must not be null")
	}
	return m, nil
}

// methodPresent reports whether the object b has a "method" member that is
// not null (an empty-string method is invalid, an absent or null one means
// a response).
func methodPresent(b []byte) bool {
	var probe struct {
		Method json.RawMessage `json:"method"`
	}
	return json.Unmarshal(b, &probe) == nil && len(probe.Method) > 0 && !isNull(probe.Method)
}

func isNull(id json.RawMessage) bool { return bytes.Equal(id, []byte("null")) }

// DetectBatch reports whether b is a JSON-RPC batch: its first
// non-whitespace byte is '['.
func DetectBatch(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c == '['
	}
	return false
}

// BatchLimits bound SplitBatch. Zero fields take the defaults.
type BatchLimits struct {
	MaxItems int // default DefaultMaxBatchItems
	MaxBytes int // default DefaultMaxBatchBytes
}

// SplitBatch splits a JSON array into its raw elements without decoding
// them. An empty array is an Invalid Request error (JSON-RPC 2.0, section
// 6); more than MaxItems elements or more than MaxBytes bytes is an Invalid
// Request error too; bytes that are not a JSON array are a parse error.
func SplitBatch(b []byte, lim BatchLimits) ([]json.RawMessage, error) {
	if lim.MaxItems <= 0 {
		lim.MaxItems = DefaultMaxBatchItems
	}
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = DefaultMaxBatchBytes
	}
	if len(b) > lim.MaxBytes {
		return nil, invalid("batch larger than %d bytes", lim.MaxBytes)
	}
	if !DetectBatch(b) {
		return nil, &Error{Code: CodeParseError, Message: "parse error: not a batch"}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		return nil, &Error{Code: CodeParseError, Message: "parse error"}
	}
	var out []json.RawMessage
	for dec.More() {
		if len(out) == lim.MaxItems {
			return nil, invalid("batch has more than %d items", lim.MaxItems)
		}
		var item json.RawMessage
		if err := dec.Decode(&item); err != nil {
			return nil, &Error{Code: CodeParseError, Message: "parse error"}
		}
		out = append(out, item)
	}
	if t, err := dec.Token(); err != nil || t != json.Delim(']') {
		return nil, &Error{Code: CodeParseError, Message: "parse error"}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &Error{Code: CodeParseError, Message: "parse error: data after the batch"}
	}
	if len(out) == 0 {
		return nil, invalid("empty batch")
	}
	return out, nil
}
