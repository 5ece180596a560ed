package codec_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/streamkit-dev/streamkit/codec"
)

func ExampleJSONCodec() {
	var c codec.JSONCodec // the zero value is ready to use

	v, err := c.Decode([]byte(`{"user":"ada","n":3}`), codec.Text)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(v.(map[string]any)["user"], v.(map[string]any)["n"])

	b, mt, _ := c.Encode(map[string]any{"ok": true})
	fmt.Println(string(b), mt)
	// Output:
	// ada 3
	// {"ok":true} text
}

func ExampleJSONCodec_useNumber() {
	// Without UseNumber, 2^53+1 would come back as a float64 and lose a digit.
	c := codec.JSONCodec{UseNumber: true}
	v, _ := c.Decode([]byte(`{"id":9007199254740993}`), codec.Text)
	fmt.Printf("%v %T\n", v.(map[string]any)["id"], v.(map[string]any)["id"])
	// Output: 9007199254740993 json.Number
}

func ExampleTypedJSONCodec() {
	type Request struct {
		Method string `json:"method"`
	}
	type Response struct {
		Result string `json:"result"`
	}
	// Requests in, responses out.
	var c codec.Codec[Request, Response] = codec.TypedJSONCodec[Request, Response]{DisallowUnknownFields: true}

	req, err := c.Decode([]byte(`{"method":"ping"}`), codec.Text)
	fmt.Println(req.Method, err)

	_, err = c.Decode([]byte(`{"method":"ping","extra":1}`), codec.Text)
	fmt.Println(err)

	b, _, _ := c.Encode(Response{Result: "pong"})
	fmt.Println(string(b))
	// Output:
	// ping <nil>
	// codec: decode JSON: json: unknown field "extra"
	// {"result":"pong"}
}

func ExampleErrMessageType() {
	var c codec.JSONCodec
	_, err := c.Decode([]byte{0x08, 0x01}, codec.Binary)
	fmt.Println(errors.Is(err, codec.ErrMessageType))
	fmt.Println(err)
	// Output:
	// true
	// codec: unexpected message type: got binary, want text
}

func ExampleCheckType() {
	// A custom codec for upper-case text lines rejects binary frames the way
	// the module's codecs do.
	upper := codec.Funcs[string, string]{
		DecodeFunc: func(data []byte, t codec.MessageType) (string, error) {
			if err := codec.CheckType(t, codec.Text); err != nil {
				return "", err
			}
			return string(data), nil
		},
	}
	_, err := upper.Decode([]byte("x"), codec.Binary)
	fmt.Println(errors.Is(err, codec.ErrMessageType))
	// Output: true
}

func ExampleFuncs() {
	// A line-oriented text codec: no JSON, just strings.
	var lines codec.Codec[string, string] = codec.Funcs[string, string]{
		DecodeFunc: func(data []byte, t codec.MessageType) (string, error) {
			if err := codec.CheckType(t, codec.Text); err != nil {
				return "", err
			}
			return strings.TrimRight(string(data), "\n"), nil // string() copies data
		},
		EncodeFunc: func(s string) ([]byte, codec.MessageType, error) {
			return []byte(s + "\n"), codec.Text, nil
		},
	}
	s, _ := lines.Decode([]byte("hello\n"), codec.Text)
	b, mt, _ := lines.Encode("world")
	fmt.Printf("%q %q %v\n", s, b, mt)
	// Output: "hello" "world\n" text
}

func ExampleMessageType() {
	// The numbers match gorilla/websocket's TextMessage (1) and
	// BinaryMessage (2), so a WebSocket transport converts with a cast.
	fmt.Println(int(codec.Text), codec.Text, int(codec.Binary), codec.Binary)
	// Output: 1 text 2 binary
}
