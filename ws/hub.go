package ws

import (
	"sync"

	"github.com/gorilla/websocket"
	"github.com/streamkit-dev/streamkit/codec"
)

// Hub groups connections into rooms and broadcasts to them. A broadcast
// encodes its message once, shares the encoded frame (a
// websocket.PreparedMessage, so permessage-deflate also compresses once) and
// queues it on every recipient without waiting for any: a recipient whose
// queue is full is handled by its Options.QueueFull policy (closed with 1008
// by default) and never slows the others. The hub's lock is held while
// queueing, which never does I/O.
//
// Connections leave the hub (and all their rooms) by themselves when they
// end. A Hub is safe for concurrent use; the zero Hub is not usable, use
// NewHub.
type Hub[I, O any] struct {
	codec codec.Codec[I, O]

	mu    sync.RWMutex
	conns map[uint64]*member[I, O]
	rooms map[string]map[uint64]*Conn[I, O]
}

type member[I, O any] struct {
	c     *Conn[I, O]
	rooms map[string]struct{}
}

// NewHub returns an empty hub that encodes broadcasts with c (usually the
// Server's codec).
func NewHub[I, O any](c codec.Codec[I, O]) *Hub[I, O] {
	return &Hub[I, O]{codec: c, conns: make(map[uint64]*member[I, O]), rooms: make(map[string]map[uint64]*Conn[I, O])}
}

// Add puts c in the hub (in no room). It is a no-op if c is already in the
// hub or has ended. Call it from OnStart, or at any time.
func (h *Hub[I, O]) Add(c *Conn[I, O]) {
	h.mu.Lock()
	if _, ok := h.conns[c.id]; ok {
		h.mu.Unlock()
		return
	}
	h.conns[c.id] = &member[I, O]{c: c}
	h.mu.Unlock()
	if !c.onClose(func() { h.Remove(c) }) {
		h.Remove(c)
	}
}

// Remove takes c out of the hub and all its rooms.
func (h *Hub[I, O]) Remove(c *Conn[I, O]) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m, ok := h.conns[c.id]
	if !ok || m.c != c {
		return
	}
	for room := range m.rooms {
		h.leaveLocked(c.id, room)
	}
	delete(h.conns, c.id)
}

// Join puts c in room, adding it to the hub first if needed.
func (h *Hub[I, O]) Join(c *Conn[I, O], room string) {
	h.Add(c)
	h.mu.Lock()
	defer h.mu.Unlock()
	m, ok := h.conns[c.id]
	if !ok {
		return // ended meanwhile
	}
	if m.rooms == nil {
		m.rooms = make(map[string]struct{})
	}
	m.rooms[room] = struct{}{}
	r := h.rooms[room]
	if r == nil {
		r = make(map[uint64]*Conn[I, O])
		h.rooms[room] = r
	}
	r[c.id] = c
}

// Leave takes c out of room.
func (h *Hub[I, O]) Leave(c *Conn[I, O], room string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m, ok := h.conns[c.id]; ok {
		delete(m.rooms, room)
		h.leaveLocked(c.id, room)
	}
}

func (h *Hub[I, O]) leaveLocked(id uint64, room string) {
	if r := h.rooms[room]; r != nil {
		delete(r, id)
		if len(r) == 0 {
			delete(h.rooms, room)
		}
	}
}

// Count is the number of connections in the hub.
func (h *Hub[I, O]) Count() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.conns)
}

// RoomCount is the number of connections in room.
func (h *Hub[I, O]) RoomCount(room string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.rooms[room])
}

// Get returns the connection with id, if it is in the hub.
func (h *Hub[I, O]) Get(id uint64) (*Conn[I, O], bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	m, ok := h.conns[id]
	if !ok {
		return nil, false
	}
	return m.c, true
}

// SendTo queues v for the connection with id. It returns ErrClosed if no such
// connection is in the hub, else what Conn.Send returns.
func (h *Hub[I, O]) SendTo(id uint64, v O) error {
	c, ok := h.Get(id)
	if !ok {
		return ErrClosed
	}
	return c.Send(v)
}

// Broadcast queues v for every connection in the hub and returns how many
// accepted it (the others were closing or, by their policy, full).
func (h *Hub[I, O]) Broadcast(v O) (int, error) {
	return h.BroadcastFilter(v, nil)
}

// BroadcastExcept queues v for every connection but except (a sender not
// echoing its own message).
func (h *Hub[I, O]) BroadcastExcept(v O, except *Conn[I, O]) (int, error) {
	return h.BroadcastFilter(v, func(c *Conn[I, O]) bool { return c != except })
}

// BroadcastFilter queues v for every connection for which keep returns true
// (all of them when keep is nil). keep runs under the hub's read lock: it
// must not call the hub's mutating methods.
func (h *Hub[I, O]) BroadcastFilter(v O, keep func(*Conn[I, O]) bool) (int, error) {
	f, err := h.prepare(v)
	if err != nil {
		return 0, err
	}
	n := 0
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, m := range h.conns {
		if keep != nil && !keep(m.c) {
			continue
		}
		if m.c.enqueue(f) == nil {
			n++
		}
	}
	return n, nil
}

// BroadcastRoom queues v for every connection in room.
func (h *Hub[I, O]) BroadcastRoom(room string, v O) (int, error) {
	f, err := h.prepare(v)
	if err != nil {
		return 0, err
	}
	n := 0
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, c := range h.rooms[room] {
		if c.enqueue(f) == nil {
			n++
		}
	}
	return n, nil
}

// prepare encodes v once into a frame every recipient shares.
func (h *Hub[I, O]) prepare(v O) (*frame, error) {
	data, t, err := h.codec.Encode(v)
	if err != nil {
		return nil, err
	}
	pm, err := websocket.NewPreparedMessage(int(t), data)
	if err != nil {
		return nil, err
	}
	return &frame{typ: int(t), data: data, pm: pm}, nil
}
