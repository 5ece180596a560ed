package streamable

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func clientFor(f *fixture) *Client {
	return NewClient(f.hs.URL, ClientOptions{HTTPClient: f.hs.Client(), BackoffBase: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
}

func TestClientSSEAndJSON(t *testing.T) {
	for _, mode := range []ResponseMode{ResponseSSE, ResponseJSON} {
		f := newFixture(t, ServerOptions{Response: mode})
		c := clientFor(f)
		ctx := context.Background()
		res, err := c.Call(ctx, "initialize", map[string]string{"protocolVersion": Rev20250618}, nil)
		require.NoError(t, err)
		require.Nil(t, res.Error)
		assert.NotEmpty(t, c.SessionID())
		require.NoError(t, c.Notify(ctx, "notifications/initialized", nil))

		var notes []string
		res, err = c.Call(ctx, "stream", nil, func(m *Message) { notes = append(notes, m.Method) })
		require.NoError(t, err)
		assert.JSONEq(t, `{"done":"yes"}`, string(res.Result))
		if mode == ResponseSSE {
			assert.Equal(t, []string{"progress", "progress", "progress"}, notes)
		} else {
			assert.Empty(t, notes, "a JSON answer carries only the response")
		}
		res, err = c.Call(ctx, "nope", nil, nil)
		require.NoError(t, err)
		require.NotNil(t, res.Error)
		assert.Equal(t, CodeMethodNotFound, res.Error.Code)

		require.NoError(t, c.Close(ctx))
		assert.Empty(t, c.SessionID())
		assert.Eventually(t, func() bool { return f.srv.Sessions() == 0 }, 5*time.Second, 5*time.Millisecond, "DELETE on close")
	}
}

// The client sends the negotiated version header after initialize: a
// server that supports only 2025-06-18 accepts it.
func TestClientVersionHeader(t *testing.T) {
	seen := make(chan string, 4)
	f := newFixture(t, ServerOptions{Response: ResponseJSON, Handle: func(ctx context.Context, r *Request) (any, error) {
		seen <- r.HTTP.Header.Get(HeaderProtocolVersion)
		return map[string]string{"protocolVersion": Rev20250618}, nil
	}})
	c := clientFor(f)
	_, err := c.Call(context.Background(), "initialize", nil, nil)
	require.NoError(t, err)
	_, err = c.Call(context.Background(), "ping", nil, nil)
	require.NoError(t, err)
	assert.Equal(t, "", <-seen)
	assert.Equal(t, Rev20250618, <-seen)
}

func TestClientResumesDroppedStream(t *testing.T) {
	st := eventstore.NewMemory(eventstore.Options{})
	defer st.Close()
	f := newFixture(t, ServerOptions{Store: st, Retry: 10 * time.Millisecond})
	c := clientFor(f)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := c.Call(ctx, "initialize", map[string]string{"protocolVersion": Rev20251125}, nil)
	require.NoError(t, err)
	go func() {
		time.Sleep(50 * time.Millisecond)
		close(f.h.release)
	}()
	var notes int
	res, err := c.Call(ctx, "drop", nil, func(*Message) { notes++ })
	require.NoError(t, err)
	assert.JSONEq(t, `{"done":"late"}`, string(res.Result))
	assert.Equal(t, 1, notes, "the progress sent after the drop arrives on the resumed stream")
	require.NoError(t, c.Close(ctx))
}

func TestClientErrors(t *testing.T) {
	f := newFixture(t, ServerOptions{Response: ResponseJSON})
	c := clientFor(f)
	ctx := context.Background()
	_, err := c.Call(ctx, "initialize", map[string]string{"protocolVersion": Rev20250618}, nil)
	require.NoError(t, err)
	f.srv.mu.Lock()
	ss := f.srv.sessions[c.SessionID()]
	f.srv.mu.Unlock()
	f.srv.endSession(ss, ErrSessionClosed)
	_, err = c.Call(ctx, "ping", nil, nil)
	assert.ErrorIs(t, err, ErrSessionExpired)

	// A stream that ends without the response and without an ID is lost.
	hs := httptest.NewServer(Handler(func(*http.Request) Reply {
		return StreamReply(func(s *Stream) error { return s.SendMessage(&Message{JSONRPC: "2.0", Method: "x"}) })
	}, nil))
	defer hs.Close()
	_, err = NewClient(hs.URL, ClientOptions{}).Call(ctx, "ping", nil, nil)
	assert.ErrorIs(t, err, ErrStreamLost)
}

func TestBackoffCapped(t *testing.T) {
	for n := range 20 {
		d := backoff(100*time.Millisecond, time.Second, n)
		want := min(100*time.Millisecond<<n, time.Second)
		assert.GreaterOrEqual(t, d, want/2)
		assert.LessOrEqual(t, d, want)
	}
}
