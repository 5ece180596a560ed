package demo

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/streamkit-dev/streamkit/codec"
	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/ws"
)

// ChatIn is what a chat client sends.
type ChatIn struct {
	Text string `json:"text"`
}

// ChatOut is what the chat server sends: a message, a member joining or
// leaving, or the welcome that opens every connection.
type ChatOut struct {
	Kind    string `json:"kind"` // "welcome", "message", "join", "leave"
	ID      string `json:"id,omitempty"`
	Room    string `json:"room"`
	From    string `json:"from,omitempty"`
	Text    string `json:"text,omitempty"`
	Members int    `json:"members,omitempty"`
	Time    string `json:"time"`
}

// chatCodec reads {"text": "..."} or, for terminal clients
// (streamkit ws, websocat), a plain text line; it writes JSON.
var chatCodec = codec.Funcs[ChatIn, ChatOut]{
	DecodeFunc: func(b []byte, t codec.MessageType) (ChatIn, error) {
		var in ChatIn
		if err := codec.CheckType(t, codec.Text); err != nil {
			return in, err
		}
		if len(b) > 0 && b[0] == '{' {
			err := json.Unmarshal(b, &in)
			return in, err
		}
		return ChatIn{Text: string(b)}, nil
	},
	EncodeFunc: func(v ChatOut) ([]byte, codec.MessageType, error) {
		b, err := json.Marshal(v)
		return b, codec.Text, err
	},
}

const (
	maxNameLen = 32
	maxRoomLen = 32
	maxTextLen = 1000
)

type chat struct {
	hub      *ws.Hub[ChatIn, ChatOut]
	srv      *ws.Server[ChatIn, ChatOut]
	store    eventstore.Store
	messages atomic.Uint64
}

func newChat(st eventstore.Store) *chat {
	c := &chat{hub: ws.NewHub[ChatIn, ChatOut](chatCodec), store: st}
	c.srv = ws.NewServer[ChatIn, ChatOut](ws.HandlerFunc[ChatIn, ChatOut](c.accept), chatCodec, &ws.Options{
		ReadLimit:  16 << 10,
		SendQueue:  64,
		PingPeriod: 20 * time.Second,
		MaxConns:   1000,
	})
	return c
}

// clean keeps a name or room short, printable and on one line.
func clean(s, def string, max int) string {
	s = strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s))
	for len(s) > max {
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	if s == "" {
		return def
	}
	return s
}

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

func (c *chat) accept(r *http.Request) (ws.Session[ChatIn, ChatOut], error) {
	room := clean(r.URL.Query().Get("room"), "lobby", maxRoomLen)
	name := clean(r.URL.Query().Get("name"), "guest", maxNameLen)
	return &ws.Hooks[ChatIn, ChatOut]{
		Start: func(conn *ws.Conn[ChatIn, ChatOut]) error {
			c.hub.Join(conn, room)
			members := c.hub.RoomCount(room)
			if err := conn.Send(ChatOut{Kind: "welcome", Room: room, From: name, Members: members, Time: now()}); err != nil {
				return err
			}
			_, _ = c.hub.BroadcastFilter(ChatOut{Kind: "join", Room: room, From: name, Members: members, Time: now()},
				func(o *ws.Conn[ChatIn, ChatOut]) bool { return o != conn })
			return nil
		},
		Message: func(conn *ws.Conn[ChatIn, ChatOut], m ChatIn) error {
			text := strings.TrimSpace(m.Text)
			if text == "" {
				return nil
			}
			if len(text) > maxTextLen {
				return ws.CloseWith(ws.CloseMessageTooBig, "message over 1000 bytes")
			}
			out := ChatOut{Kind: "message", Room: room, From: name, Text: text, Time: now()}
			// The store gives the message its ID (and a log of the room).
			data, _ := json.Marshal(out)
			ev, err := c.store.Append(conn.Context(), "ws:chat:"+room, "message", data)
			if err != nil {
				return ws.CloseWith(ws.CloseTryAgainLater, "store unavailable")
			}
			out.ID = ev.ID.String()
			c.messages.Add(1)
			_, err = c.hub.BroadcastRoom(room, out)
			return err
		},
		Close: func(conn *ws.Conn[ChatIn, ChatOut], _ error) {
			c.hub.Remove(conn)
			_, _ = c.hub.BroadcastRoom(room, ChatOut{Kind: "leave", Room: room, From: name, Members: c.hub.RoomCount(room), Time: now()})
		},
	}, nil
}

func (c *chat) shutdown(ctx context.Context) error { return c.srv.Shutdown(ctx) }
