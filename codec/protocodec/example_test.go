package protocodec_test

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/apipb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/streamkit-dev/streamkit/codec"
	"github.com/streamkit-dev/streamkit/codec/protocodec"
)

// The examples use well-known types; with generated code it is the same:
// protocodec.NewBinaryProtoCodec[pb.Request, pb.Response]().

func ExampleNewBinaryProtoCodec() {
	// Messages *timestamppb.Timestamp in and out; the pointer type
	// parameters are inferred.
	c := protocodec.NewBinaryProtoCodec[timestamppb.Timestamp, timestamppb.Timestamp]()

	b, mt, err := c.Encode(timestamppb.New(time.Unix(1700000000, 0)))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(mt, len(b), "bytes")

	ts, err := c.Decode(b, mt)
	fmt.Println(ts.AsTime().UTC(), err)
	// Output:
	// binary 6 bytes
	// 2023-11-14 22:13:20 +0000 UTC <nil>
}

func ExampleBinaryProtoCodec() {
	// The zero value works: Decode builds messages with new(I), so there is
	// no factory to forget.
	var c protocodec.BinaryProtoCodec[structpb.Struct, structpb.Struct, *structpb.Struct, *structpb.Struct]
	c.MarshalOptions.Deterministic = true // sorted map keys: stable bytes

	s, _ := structpb.NewStruct(map[string]any{"b": 2, "a": 1})
	b, mt, _ := c.Encode(s)
	back, _ := c.Decode(b, mt)
	fmt.Println(back.Fields["a"].GetNumberValue(), back.Fields["b"].GetNumberValue())

	// A Text frame is not protobuf wire format.
	_, err := c.Decode([]byte(`{"a":1}`), codec.Text)
	fmt.Println(errors.Is(err, codec.ErrMessageType))
	// Output:
	// 1 2
	// true
}

func ExampleNewProtoJSONCodec() {
	c := protocodec.NewProtoJSONCodec[apipb.Method, apipb.Method]()
	// Accept keys this reader does not know, so writers can add fields.
	c.UnmarshalOptions.DiscardUnknown = true
	c.MarshalOptions.UseProtoNames = true

	m, err := c.Decode([]byte(`{"name":"Get","requestTypeUrl":"x.Req","addedLater":true}`), codec.Text)
	fmt.Println(m.GetName(), m.GetRequestTypeUrl(), err)

	_, mt, _ := c.Encode(m)
	fmt.Println(mt)
	// Output:
	// Get x.Req <nil>
	// text
}

func ExampleProtoJSONCodec() {
	// google.protobuf.Value holds any JSON value.
	var c protocodec.ProtoJSONCodec[structpb.Value, structpb.Value, *structpb.Value, *structpb.Value]
	v, err := c.Decode([]byte(`{"items":[1,"two",null]}`), codec.Text)
	if err != nil {
		fmt.Println(err)
		return
	}
	items := v.GetStructValue().Fields["items"].GetListValue().Values
	fmt.Println(len(items), items[0].GetNumberValue(), items[1].GetStringValue())

	_, err = c.Decode([]byte{0x08, 0x01}, codec.Binary)
	fmt.Println(err)
	// Output:
	// 3 1 two
	// codec: unexpected message type: got binary, want text
}
