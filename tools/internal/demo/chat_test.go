package demo

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/codec"
	"github.com/streamkit-dev/streamkit/eventstore/redisstore/redistest"
	"github.com/streamkit-dev/streamkit/ws"
)

var chatTestCodec = codec.Funcs[ChatOut, ChatIn]{
	DecodeFunc: func(b []byte, _ codec.MessageType) (ChatOut, error) {
		var v ChatOut
		err := json.Unmarshal(b, &v)
		return v, err
	},
	EncodeFunc: func(v ChatIn) ([]byte, codec.MessageType, error) {
		b, err := json.Marshal(v)
		return b, codec.Text, err
	},
}

// dialChat joins room with query and returns what it receives.
func dialChat(t *testing.T, ctx context.Context, url, query string) (*ws.Conn[ChatOut, ChatIn], chan ChatOut) {
	t.Helper()
	got := make(chan ChatOut, 1024)
	c, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/ws/chat?room=r&"+query, chatTestCodec,
		&ws.Hooks[ChatOut, ChatIn]{Message: func(_ *ws.Conn[ChatOut, ChatIn], m ChatOut) error { got <- m; return nil }}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(ws.CloseNormal, ""); <-c.Done() })
	return c, got
}

// next returns the next message of kind.
func next(t *testing.T, got chan ChatOut, kind string) ChatOut {
	t.Helper()
	for {
		select {
		case m := <-got:
			if m.Kind == kind {
				return m
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("no %q within 20s", kind)
		}
	}
}

// In scale-out mode a chat client resumes with ?after=: it gets the
// messages after that ID, once, and then live ones; a resume from too far
// back is told "gap".
func TestChatResumeWithRedis(t *testing.T) {
	srv := redistest.New(t)
	url, _ := start(t, Config{Store: "redis://" + srv.Addr(), NoTicker: true})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, got := dialChat(t, ctx, url, "name=a")
	next(t, got, "welcome")
	var ids []string
	for i := 1; i <= 3; i++ {
		require.NoError(t, a.Send(ChatIn{Text: strconv.Itoa(i)}))
		m := next(t, got, "message")
		require.Equal(t, strconv.Itoa(i), m.Text, "the sender gets its own message back, with its ID")
		ids = append(ids, m.ID)
	}
	_, got2 := dialChat(t, ctx, url, "name=b&after="+ids[0])
	assert.Equal(t, "2", next(t, got2, "message").Text)
	assert.Equal(t, "3", next(t, got2, "message").Text)
	require.NoError(t, a.Send(ChatIn{Text: "4"}))
	assert.Equal(t, "4", next(t, got2, "message").Text)
	require.Equal(t, "4", next(t, got, "message").Text)

	for i := 5; i <= maxReplay+5; i++ {
		require.NoError(t, a.Send(ChatIn{Text: strconv.Itoa(i)}))
		require.Equal(t, strconv.Itoa(i), next(t, got, "message").Text)
	}
	_, got3 := dialChat(t, ctx, url, "name=c&after="+ids[0])
	next(t, got3, "gap")
	require.NoError(t, a.Send(ChatIn{Text: "last"}))
	assert.Equal(t, "last", next(t, got3, "message").Text, "after a gap the client goes on live")
}
