package streamable_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/sse"
	"github.com/streamkit-dev/streamkit/streamable"
)

// One endpoint decides per request: a JSON body or an event stream.
func ExampleHandler() {
	h := streamable.Handler(func(r *http.Request) streamable.Reply {
		if r.URL.Query().Get("watch") == "" {
			return streamable.JSON(http.StatusOK, []byte(`{"count":2}`))
		}
		return streamable.StreamReply(func(s *streamable.Stream) error {
			for i := 1; i <= 2; i++ {
				if _, err := s.Send(sse.Event{Data: fmt.Appendf(nil, `{"n":%d}`, i)}); err != nil {
					return err // the client left: stop producing
				}
			}
			return nil
		})
	}, &streamable.Options{KeepAlive: -1})
	hs := httptest.NewServer(h)
	defer hs.Close()

	for _, u := range []string{hs.URL, hs.URL + "?watch=1"} {
		resp, _ := http.Get(u)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s\n%s", resp.Header.Get("Content-Type"), b)
		fmt.Println()
	}
	// Output:
	// application/json
	// {"count":2}
	// text/event-stream
	// data: {"n":1}
	//
	// data: {"n":2}
}

// An MCP endpoint: the application brings the methods.
func ExampleNewServer() {
	store := eventstore.NewMemory(eventstore.Options{})
	defer store.Close()
	srv, _ := streamable.NewServer(streamable.ServerOptions{
		Store: store, // resumable streams
		Handle: func(ctx context.Context, req *streamable.Request) (any, error) {
			switch req.Method {
			case "initialize":
				return map[string]any{"protocolVersion": streamable.Rev20250618, "capabilities": map[string]any{}}, nil
			case "work":
				_ = req.Notify(ctx, "notifications/progress", map[string]any{"progress": 1})
				return map[string]string{"status": "done"}, nil
			}
			return nil, &streamable.Error{Code: streamable.CodeMethodNotFound, Message: "no such method"}
		},
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close(context.Background())

	c := streamable.NewClient(hs.URL, streamable.ClientOptions{})
	ctx := context.Background()
	_, _ = c.Call(ctx, "initialize", map[string]string{"protocolVersion": streamable.Rev20250618}, nil)
	res, _ := c.Call(ctx, "work", nil, func(m *streamable.Message) { fmt.Println("notification:", m.Method) })
	fmt.Println("result:", string(res.Result))
	fmt.Println("sessions:", srv.Sessions())
	_ = c.Close(ctx)
	// Output:
	// notification: notifications/progress
	// result: {"status":"done"}
	// sessions: 1
}

func ExampleParseMessage() {
	for _, in := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":1}`,
		`{"jsonrpc"`,
	} {
		m, err := streamable.ParseMessage([]byte(in))
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(m.Kind())
	}
	// Output:
	// request
	// notification
	// streamable: JSON-RPC error -32600: message needs exactly one of method, result or error
	// streamable: JSON-RPC error -32700: parse error
}

func ExampleSplitBatch() {
	body := []byte(`[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"b"}]`)
	if streamable.DetectBatch(body) {
		items, err := streamable.SplitBatch(body, streamable.BatchLimits{MaxItems: 10})
		fmt.Println(len(items), err)
	}
	_, err := streamable.SplitBatch([]byte(`[]`), streamable.BatchLimits{})
	fmt.Println(err)
	// Output:
	// 2 <nil>
	// streamable: JSON-RPC error -32600: empty batch
}

func ExampleReadFrame() {
	var buf bytes.Buffer
	_ = streamable.WriteFrame(&buf, []byte(`{"jsonrpc":"2.0","method":"exit"}`))
	fmt.Printf("%q\n", buf.String())
	msg, err := streamable.ReadFrame(bufio.NewReader(&buf), streamable.FrameLimits{MaxBytes: 1 << 20})
	fmt.Println(string(msg), err)
	_, err = streamable.ReadFrame(bufio.NewReader(strings.NewReader("Content-Length: 99999999\r\n\r\n")), streamable.FrameLimits{MaxBytes: 1 << 20})
	fmt.Println(err)
	// Output:
	// "Content-Length: 33\r\n\r\n{\"jsonrpc\":\"2.0\",\"method\":\"exit\"}"
	// {"jsonrpc":"2.0","method":"exit"} <nil>
	// streamable: frame too large: Content-Length 99999999 over 1048576
}
