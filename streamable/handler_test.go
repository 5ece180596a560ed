package streamable

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/sse"
	"github.com/streamkit-dev/streamkit/sse/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func get(t *testing.T, ctx context.Context, url, accept string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	return resp
}

// The handler decides per request; Accept is honoured for both kinds.
func TestHandlerChoosesPerRequest(t *testing.T) {
	h := Handler(func(r *http.Request) Reply {
		if r.URL.Query().Get("stream") == "" {
			return JSON(http.StatusCreated, []byte(`{"ok":true}`))
		}
		return StreamReply(func(s *Stream) error {
			for i := range 3 {
				if _, err := s.Send(sse.Event{Type: "n", Data: []byte{byte('a' + i)}}); err != nil {
					return err
				}
			}
			return nil
		})
	}, &Options{Retry: time.Second})
	hs := httptest.NewServer(h)
	defer hs.Close()

	resp := get(t, context.Background(), hs.URL, "application/json")
	assert.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.Equal(t, `{"ok":true}`, readAll(t, resp))
	resp = get(t, context.Background(), hs.URL, "text/event-stream")
	readAll(t, resp)
	assert.Equal(t, http.StatusNotAcceptable, resp.StatusCode)

	resp = get(t, context.Background(), hs.URL+"?stream=1", "application/json;q=0.5, text/*")
	assert.Equal(t, "no", resp.Header.Get("X-Accel-Buffering"))
	evs := events(t, resp)
	require.Len(t, evs, 3)
	assert.Equal(t, "n", evs[0].Type)
	assert.Equal(t, "c", evs[2].Data)
	resp = get(t, context.Background(), hs.URL+"?stream=1", "application/json")
	readAll(t, resp)
	assert.Equal(t, http.StatusNotAcceptable, resp.StatusCode)
}

func TestHandlerResumableIDs(t *testing.T) {
	st := eventstore.NewMemory(eventstore.Options{})
	defer st.Close()
	h := Handler(func(r *http.Request) Reply {
		return StreamReply(func(s *Stream) error {
			_, err := s.Send(sse.Event{Data: []byte("x")})
			if err == nil {
				err = s.SendMessage(&Message{JSONRPC: "2.0", Method: "m"})
			}
			return err
		})
	}, &Options{Store: st, StreamName: func(*http.Request) string { return "s1" }})
	hs := httptest.NewServer(h)
	defer hs.Close()
	evs := events(t, get(t, context.Background(), hs.URL, ""))
	require.Len(t, evs, 2)
	assert.Regexp(t, regexp.MustCompile(`^\d+-\d+$`), evs[0].ID)
	held, err := st.ReadAfter(context.Background(), "s1", eventstore.ID{}, 10)
	require.NoError(t, err)
	require.Len(t, held, 2)
	assert.Equal(t, held[1].ID.String(), evs[1].ID)
}

// A producer blocked in Send (or looping on it) is released when the
// client disconnects, and Serve returns.
func TestHandlerDisconnectReleasesProducer(t *testing.T) {
	done := make(chan error, 1)
	h := Handler(func(r *http.Request) Reply {
		return StreamReply(func(s *Stream) error {
			big := []byte(strings.Repeat("x", 32<<10))
			for {
				if _, err := s.Send(sse.Event{Data: big}); err != nil {
					done <- err
					return err
				}
			}
		})
	}, &Options{KeepAlive: -1})
	hs := httptest.NewServer(h)
	defer hs.Close()
	ctx, cancel := context.WithCancel(context.Background())
	resp := get(t, ctx, hs.URL, "")
	_, err := parser.New(resp.Body, parser.Options{}).Next()
	require.NoError(t, err)
	cancel()
	resp.Body.Close()
	select {
	case err := <-done:
		assert.True(t, errors.Is(err, ErrStreamClosed), "%v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("producer still blocked after the client left")
	}
}

// A client that stops reading is disconnected by the per-write timeout.
func TestHandlerSlowConsumerTimesOut(t *testing.T) {
	done := make(chan error, 1)
	h := Handler(func(r *http.Request) Reply {
		return StreamReply(func(s *Stream) error {
			big := []byte(strings.Repeat("x", 64<<10))
			for {
				if _, err := s.Send(sse.Event{Data: big}); err != nil {
					done <- err
					return err
				}
			}
		})
	}, &Options{KeepAlive: -1, WriteTimeout: 100 * time.Millisecond})
	hs := httptest.NewServer(h)
	defer hs.Close()
	resp := get(t, context.Background(), hs.URL, "")
	defer resp.Body.Close() // never read: the server's writes block, then time out
	select {
	case err := <-done:
		assert.ErrorIs(t, err, ErrStreamClosed)
	case <-time.After(20 * time.Second):
		t.Fatal("slow consumer was not disconnected")
	}
}
