package main

// The WebSocket benchmark's server process. The bench binary re-executes
// itself with STREAMKIT_BENCH_WS_SERVER=<impl>; init then serves that
// implementation on 127.0.0.1:0, prints the address on stdout, and exits
// when stdin closes. Each implementation is written the way its docs and
// examples teach, with the same behaviour: echo every message, and broadcast
// on /broadcast.

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	coder "github.com/coder/websocket"
	"github.com/gorilla/websocket"
	"github.com/olahol/melody"

	"github.com/streamkit-dev/streamkit/codec"
	"github.com/streamkit-dev/streamkit/ws"
)

const (
	wsServerEnv = "STREAMKIT_BENCH_WS_SERVER"
	wsHoldEnv   = "STREAMKIT_BENCH_WS_HOLD" // "addr n": hold n idle connections to addr
)

func init() {
	if impl := os.Getenv(wsServerEnv); impl != "" {
		os.Exit(wsServe(impl))
	}
	if hold := os.Getenv(wsHoldEnv); hold != "" {
		os.Exit(wsHold(hold))
	}
}

// wsHold is the idle-connection holder process: it opens the connections,
// prints a line when they are open, and closes them when stdin closes.
func wsHold(spec string) int {
	var addr string
	var n int
	if _, err := fmt.Sscan(spec, &addr, &n); err != nil {
		fmt.Fprintln(os.Stderr, "bad", wsHoldEnv, err)
		return 2
	}
	cs, err := dialMany(context.Background(), addr, n, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("held")
	_, _ = io.Copy(io.Discard, os.Stdin)
	cs.close()
	return 0
}

// wsImpl is one server implementation under test.
type wsImpl interface {
	http.Handler
	Count() int
	Broadcast(msg []byte)
}

func wsServe(impl string) int {
	var h wsImpl
	switch impl {
	case "streamkit":
		h = newSKServer()
	case "gorilla":
		h = newGorillaServer()
	case "melody":
		h = newMelodyServer()
	case "coder":
		h = newCoderServer()
	default:
		fmt.Fprintln(os.Stderr, "unknown impl", impl)
		return 2
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", h)
	if os.Getenv("STREAMKIT_BENCH_WS_DEBUG") != "" {
		// Every allocation sampled, so the idle rows' heap profile is exact.
		runtime.MemProfileRate = 1
		mux.HandleFunc("/debug/heap", func(w http.ResponseWriter, r *http.Request) {
			runtime.GC()
			_ = pprof.Lookup("heap").WriteTo(w, 0)
		})
	}
	// A CPU profile of the next ?seconds=N (default 5), for looking into a
	// row by hand.
	mux.HandleFunc("/debug/cpu", func(w http.ResponseWriter, r *http.Request) {
		sec, err := strconv.Atoi(r.URL.Query().Get("seconds"))
		if err != nil || sec <= 0 {
			sec = 5
		}
		if err := pprof.StartCPUProfile(w); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		time.Sleep(time.Duration(sec) * time.Second)
		pprof.StopCPUProfile()
	})
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		cpu := cpuTime() // before the forced GC below
		var ms runtime.MemStats
		if r.URL.Query().Has("gc") { // memory figures are wanted: settle them first
			debug.FreeOSMemory()
			runtime.ReadMemStats(&ms)
		}
		_ = json.NewEncoder(w).Encode(wsStats{RSS: rss(), Heap: ms.HeapInuse, Stack: ms.StackInuse,
			Goroutines: runtime.NumGoroutine(), Conns: h.Count(), CPU: cpu})
	})
	// A collection before a measurement, so garbage from the setup (or
	// from the row before) is not collected during it.
	mux.HandleFunc("/gc", func(w http.ResponseWriter, r *http.Request) {
		runtime.GC()
		_ = json.NewEncoder(w).Encode(wsStats{Conns: h.Count()})
	})
	mux.HandleFunc("/broadcast", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		size, _ := strconv.Atoi(r.URL.Query().Get("size"))
		for i := range n {
			// Each message carries its send time for latency and its index.
			msg := make([]byte, max(size, 16))
			binary.LittleEndian.PutUint64(msg, uint64(time.Now().UnixNano()))
			binary.LittleEndian.PutUint64(msg[8:], uint64(i))
			h.Broadcast(msg)
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	fmt.Println(ln.Addr().String())
	_, _ = io.Copy(io.Discard, os.Stdin) // the bench closes stdin to stop us
	_ = srv.Close()
	return 0
}

type wsStats struct {
	RSS        uint64 // bytes, after a forced GC and scavenge
	Heap       uint64
	Stack      uint64
	Goroutines int
	Conns      int
	CPU        time.Duration // user+system CPU time of the process so far
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func rss() uint64 {
	f, err := os.Open("/proc/self/statm")
	if err != nil {
		return 0
	}
	defer f.Close()
	var size, res uint64
	_, _ = fmt.Fscan(bufio.NewReader(f), &size, &res)
	return res * uint64(os.Getpagesize())
}

// --- streamkit ---

// rawCodec passes bytes through (copying, since a codec must not retain the
// read buffer).
type rawCodec struct{}

func (rawCodec) Decode(data []byte, t codec.MessageType) ([]byte, error) {
	return append([]byte(nil), data...), nil
}

func (rawCodec) Encode(v []byte) ([]byte, codec.MessageType, error) { return v, codec.Binary, nil }

type skServer struct {
	*ws.Server[[]byte, []byte]
	hub *ws.Hub[[]byte, []byte]
}

func newSKServer() *skServer {
	s := &skServer{hub: ws.NewHub[[]byte, []byte](rawCodec{})}
	s.Server = ws.NewServer[[]byte, []byte](ws.HandlerFunc[[]byte, []byte](func(*http.Request) (ws.Session[[]byte, []byte], error) {
		return s, nil
	}), rawCodec{}, nil)
	return s
}

func (s *skServer) OnStart(c *ws.Conn[[]byte, []byte]) error { s.hub.Add(c); return nil }
func (s *skServer) OnMessage(c *ws.Conn[[]byte, []byte], m []byte) error {
	return c.SendRaw(m, codec.Binary)
}
func (s *skServer) Broadcast(msg []byte) { _, _ = s.hub.Broadcast(msg) }

// --- raw gorilla, as its chat example teaches (2 goroutines, send chan) ---

const (
	gWriteWait  = 10 * time.Second
	gPongWait   = 60 * time.Second
	gPingPeriod = gPongWait * 9 / 10
	gMaxMessage = 1 << 20
	gSendBuffer = 256
)

type gorillaServer struct {
	up    websocket.Upgrader
	mu    sync.RWMutex
	conns map[*gClient]struct{}
}

type gClient struct {
	s    *gorillaServer
	conn *websocket.Conn
	send chan []byte
}

func newGorillaServer() *gorillaServer {
	return &gorillaServer{up: websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024}, conns: map[*gClient]struct{}{}}
}

func (s *gorillaServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &gClient{s: s, conn: conn, send: make(chan []byte, gSendBuffer)}
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	go c.writePump()
	go c.readPump()
}

func (s *gorillaServer) Count() int { s.mu.RLock(); defer s.mu.RUnlock(); return len(s.conns) }

func (s *gorillaServer) Broadcast(msg []byte) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for c := range s.conns {
		select {
		case c.send <- msg:
		default: // slow client: the chat example drops it
			go c.conn.Close()
		}
	}
}

func (c *gClient) readPump() {
	defer func() {
		c.s.mu.Lock()
		if _, ok := c.s.conns[c]; ok {
			delete(c.s.conns, c)
			close(c.send)
		}
		c.s.mu.Unlock()
		c.conn.Close()
	}()
	c.conn.SetReadLimit(gMaxMessage)
	_ = c.conn.SetReadDeadline(time.Now().Add(gPongWait))
	c.conn.SetPongHandler(func(string) error { return c.conn.SetReadDeadline(time.Now().Add(gPongWait)) })
	for {
		_, msg, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		select {
		case c.send <- msg:
		default:
		}
	}
}

func (c *gClient) writePump() {
	ticker := time.NewTicker(gPingPeriod)
	defer func() {
		ticker.Stop()
		c.conn.Close()
	}()
	for {
		select {
		case msg, ok := <-c.send:
			_ = c.conn.SetWriteDeadline(time.Now().Add(gWriteWait))
			if !ok {
				_ = c.conn.WriteMessage(websocket.CloseMessage, []byte{})
				return
			}
			if err := c.conn.WriteMessage(websocket.BinaryMessage, msg); err != nil {
				return
			}
		case <-ticker.C:
			_ = c.conn.SetWriteDeadline(time.Now().Add(gWriteWait))
			if err := c.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
		}
	}
}

// --- melody ---

type melodyServer struct{ m *melody.Melody }

func newMelodyServer() *melodyServer {
	m := melody.New()
	m.Config.MaxMessageSize = 1 << 20
	m.Config.MessageBufferSize = 256
	m.HandleMessageBinary(func(s *melody.Session, msg []byte) { _ = s.WriteBinary(msg) })
	return &melodyServer{m: m}
}

func (s *melodyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) { _ = s.m.HandleRequest(w, r) }
func (s *melodyServer) Count() int                                       { return s.m.Len() }
func (s *melodyServer) Broadcast(msg []byte)                             { _ = s.m.BroadcastBinary(msg) }

// --- coder/websocket (its chat example: subscriber channel + writer) ---

type coderServer struct {
	mu    sync.RWMutex
	subs  map[*coderSub]struct{}
	count atomic.Int64
}

type coderSub struct {
	msgs chan []byte
	slow func()
}

func newCoderServer() *coderServer { return &coderServer{subs: map[*coderSub]struct{}{}} }

func (s *coderServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := coder.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub := &coderSub{msgs: make(chan []byte, 256), slow: cancel}
	s.mu.Lock()
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	s.count.Add(1)
	defer func() {
		s.mu.Lock()
		delete(s.subs, sub)
		s.mu.Unlock()
		s.count.Add(-1)
	}()
	go func() {
		for {
			select {
			case msg := <-sub.msgs:
				wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
				err := c.Write(wctx, coder.MessageBinary, msg)
				wcancel()
				if err != nil {
					cancel()
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		typ, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		if err := c.Write(ctx, typ, msg); err != nil {
			return
		}
	}
}

func (s *coderServer) Count() int { return int(s.count.Load()) }

func (s *coderServer) Broadcast(msg []byte) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for sub := range s.subs {
		select {
		case sub.msgs <- msg:
		default:
			go sub.slow()
		}
	}
}
