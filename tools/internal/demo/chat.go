package demo

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/streamkit-dev/streamkit/codec"
	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/eventstore/fanout"
	"github.com/streamkit-dev/streamkit/ws"
)

// ChatIn is what a chat client sends.
type ChatIn struct {
	Text string `json:"text"`
}

// ChatOut is what the chat server sends: a message, a member joining or
// leaving, or the welcome that opens every connection.
type ChatOut struct {
	Kind    string `json:"kind"` // "welcome", "message", "join", "leave", "gap"
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
	maxReplay  = 200 // messages a chat resume (?after=) replays at most
	maxNameLen = 32
	maxRoomLen = 32
	maxTextLen = 1000
)

type chat struct {
	hub      *ws.Hub[ChatIn, ChatOut]
	srv      *ws.Server[ChatIn, ChatOut]
	store    eventstore.Store
	fan      *fanout.Hub // scale-out mode: messages reach every process through the store
	messages atomic.Uint64
}

func newChat(st eventstore.Store, fan *fanout.Hub) *chat {
	c := &chat{hub: ws.NewHub[ChatIn, ChatOut](chatCodec), store: st, fan: fan}
	c.srv = ws.NewServer[ChatIn, ChatOut](ws.HandlerFunc[ChatIn, ChatOut](c.accept), chatCodec, &ws.Options{
		ReadLimit:  16 << 10,
		SendQueue:  256,
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
	after := eventstore.Tail
	if a := r.URL.Query().Get("after"); a != "" && c.fan != nil {
		id, err := eventstore.ParseID(a)
		if err != nil {
			return nil, &ws.StatusError{Status: http.StatusBadRequest, Err: errors.New("demo: after must be a message ID")}
		}
		after = id
	}
	var unsubscribe func()
	return &ws.Hooks[ChatIn, ChatOut]{
		Start: func(conn *ws.Conn[ChatIn, ChatOut]) error {
			if c.fan != nil {
				gap := false
				if after != eventstore.Tail {
					// A resume replays at most maxReplay messages (the
					// replay must fit the send queue); past that, or when
					// the history is gone, the client is told "gap" and
					// goes on from now.
					evs, err := c.store.ReadAfter(conn.Context(), chatStream(room), after, maxReplay+1)
					var ge *eventstore.GapError
					switch {
					case errors.As(err, &ge), err == nil && len(evs) > maxReplay:
						after, gap = eventstore.Tail, true
					case err != nil:
						return ws.CloseWith(ws.CloseTryAgainLater, "store unavailable")
					}
				}
				// Subscribed before the gap notice and the welcome: a client
				// that has either receives every message appended after it.
				stop, err := c.fan.Subscribe(chatStream(room), after, c.relay(conn))
				if err != nil {
					return ws.CloseWith(ws.CloseTryAgainLater, "too busy")
				}
				unsubscribe = stop
				if gap {
					if err := conn.Send(ChatOut{Kind: "gap", Room: room, Time: now()}); err != nil {
						return err
					}
				}
			}
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
			ev, err := c.store.Append(conn.Context(), chatStream(room), "message", data)
			if err != nil {
				return ws.CloseWith(ws.CloseTryAgainLater, "store unavailable")
			}
			c.messages.Add(1)
			if c.fan != nil {
				return nil // the fan-out delivers it, on every process
			}
			out.ID = ev.ID.String()
			_, err = c.hub.BroadcastRoom(room, out)
			return err
		},
		Close: func(conn *ws.Conn[ChatIn, ChatOut], _ error) {
			if unsubscribe != nil {
				unsubscribe()
			}
			c.hub.Remove(conn)
			_, _ = c.hub.BroadcastRoom(room, ChatOut{Kind: "leave", Room: room, From: name, Members: c.hub.RoomCount(room), Time: now()})
		},
	}, nil
}

func chatStream(room string) string { return "ws:chat:" + room }

// relay is a connection's fan-out callback (scale-out mode): every message
// of its room, from any process, in order and once (after a reconnect with
// ?after=ID, those after ID first). Policy: while the store is unavailable
// the connection stays open and receives messages again, none lost, when
// it is back; if the history it needs is gone (a gap) it is closed with
// 1013 so that the client reconnects without ?after=.
func (c *chat) relay(conn *ws.Conn[ChatIn, ChatOut]) fanout.Func {
	return func(ev eventstore.Event, err error) {
		if err != nil {
			if !errors.Is(err, eventstore.ErrUnavailable) {
				_ = conn.Close(ws.CloseTryAgainLater, "history lost; reconnect without after")
			}
			return
		}
		var out ChatOut
		if json.Unmarshal(ev.Data, &out) != nil {
			return
		}
		out.ID = ev.ID.String()
		_ = conn.Send(out)
	}
}

func (c *chat) shutdown(ctx context.Context) error { return c.srv.Shutdown(ctx) }
