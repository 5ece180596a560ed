package httpstream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamkit-dev/streamkit/httpstream/internal/spdy"
)

// Conn is a SPDY/3.1 connection. It implements Connection; see the package
// documentation for flow control, liveness and shutdown.
type Conn struct {
	nc       net.Conn
	cfg      Config
	server   bool
	reader   *spdy.Reader
	protocol string // negotiated by the carrier, if any

	// wmu serialises frame writes; the header compressor and stream ID
	// allocation are guarded by it too, so IDs reach the wire in order.
	wmu    sync.Mutex
	writer *spdy.Writer
	wbuf   []byte
	nextID uint32
	hdrBuf [8]byte
	// writev: nc is a *net.TCPConn, whose net.Buffers writes are one
	// writev; otherwise frames are coalesced into coalesce first.
	writev   bool
	coalesce []byte

	mu          sync.Mutex
	streams     map[uint32]*stream
	peerStreams int    // open streams the peer initiated
	lastPeerID  uint32 // highest stream ID the peer opened
	goAwaySent  bool
	goAwayRecv  bool
	goAwayTimer *time.Timer
	idleTimer   *time.Timer
	idleTimeout time.Duration
	pingTimer   *time.Timer
	err         error // why the connection closed

	// Flow control, guarded by flowMu; flowCond wakes writers.
	flowMu      sync.Mutex
	flowCond    *sync.Cond
	sendWindow  int64 // session send window
	peerInitWin int64 // peer's INITIAL_WINDOW_SIZE

	windowedFlag atomic.Bool  // the peer sent SETTINGS: windows apply
	recvWindow   atomic.Int64 // session bytes the peer may still send
	unackedConn  atomic.Int64 // session bytes consumed, not yet returned

	// Control frames produced off the write path (PING replies, RST_STREAM,
	// WINDOW_UPDATE) queue here for the control writer goroutine.
	ctrlMu     sync.Mutex
	ctrlBuf    []byte
	ctrlSignal chan struct{}

	lastActive atomic.Int64 // unix nanos of the last non-PING frame
	pingSeq    uint32       // guarded by mu
	lastPong   atomic.Uint32
	pongCh     chan struct{} // closed and replaced on every pong; guarded by mu
	missed     int           // guarded by mu

	closed    chan struct{}
	closeChan chan bool
	closeOnce sync.Once
	wg        sync.WaitGroup
	log       *slog.Logger
}

var _ Connection = (*Conn)(nil)

// closeWriteTimeout bounds the RST_STREAM and GOAWAY frames Close sends.
const closeWriteTimeout = time.Second

// maxCtrlBacklog bounds queued control frames: a peer that sends PINGs and
// never reads our answers is dropped.
const maxCtrlBacklog = 1 << 20

// NewClientConnection starts a client connection on nc (after a successful
// upgrade). Client streams have odd IDs.
func NewClientConnection(nc net.Conn, cfg *Config) (*Conn, error) {
	return newConn(nc, nil, false, cfg.withDefaults())
}

// NewServerConnection starts a server connection on nc; handler accepts the
// streams the client opens (nil refuses them all).
func NewServerConnection(nc net.Conn, handler NewStreamHandler, cfg *Config) (*Conn, error) {
	c := cfg.withDefaults()
	c.NewStream = handler
	return newConn(nc, nil, true, c)
}

// newConn starts a connection. br, when not nil, holds bytes already read
// from nc (a hijacked connection's buffer).
func newConn(nc net.Conn, br *bufio.Reader, server bool, cfg Config) (*Conn, error) {
	var r io.Reader = nc
	if br != nil && br.Buffered() > 0 {
		buffered, _ := br.Peek(br.Buffered())
		r = io.MultiReader(bytes.NewReader(bytes.Clone(buffered)), nc)
	}
	c := &Conn{
		nc:          nc,
		cfg:         cfg,
		server:      server,
		reader:      spdy.NewReader(bufio.NewReaderSize(r, 16<<10), spdy.Limits{}),
		writer:      spdy.NewWriter(spdy.Limits{}, cfg.CompressHeaders),
		streams:     make(map[uint32]*stream),
		sendWindow:  spdyDefaultWindow,
		peerInitWin: spdyDefaultWindow,
		ctrlSignal:  make(chan struct{}, 1),
		closed:      make(chan struct{}),
		closeChan:   make(chan bool),
		pongCh:      make(chan struct{}),
		log:         cfg.Logger,
	}
	c.flowCond = sync.NewCond(&c.flowMu)
	_, c.writev = nc.(*net.TCPConn)
	c.recvWindow.Store(int64(cfg.ConnWindow))
	c.nextID = 1
	if server {
		c.nextID = 2
	}
	c.touch()
	// SETTINGS first: a streamkit peer turns windows on when it sees it; a
	// k8s peer ignores it (and the session WINDOW_UPDATE).
	b := spdy.AppendSettings(nil, 0, spdy.Setting{ID: spdy.SettingInitialWindowSize, Value: uint32(cfg.StreamWindow)})
	if extra := cfg.ConnWindow - spdyDefaultWindow; extra > 0 {
		b = spdy.AppendWindowUpdate(b, 0, uint32(extra))
	}
	// The read loop starts first: over an unbuffered carrier (net.Pipe) both
	// ends write SETTINGS at once.
	// wmu is held from before the goroutines start so that SETTINGS is the
	// first frame on the wire.
	c.wmu.Lock()
	c.wg.Add(2)
	go c.readLoop()
	go c.ctrlLoop()
	err := c.writeLocked(b)
	c.wmu.Unlock()
	if err != nil {
		c.fail(err)
		c.wg.Wait()
		return nil, fmt.Errorf("httpstream: sending SETTINGS: %w", err)
	}
	if cfg.IdleTimeout > 0 {
		c.SetIdleTimeout(cfg.IdleTimeout)
	}
	if cfg.PingPeriod > 0 {
		c.mu.Lock()
		c.pingTimer = time.AfterFunc(cfg.PingPeriod, c.sendPing)
		c.mu.Unlock()
	}
	return c, nil
}

func (c *Conn) debug(msg string, args ...any) {
	if c.log != nil {
		c.log.Debug(msg, args...)
	}
}

func (c *Conn) touch() { c.lastActive.Store(time.Now().UnixNano()) }

// write sends encoded frames. A failed or timed-out write closes the
// connection: the peer may have half a frame.
func (c *Conn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(b)
}

func (c *Conn) writeLocked(bufs ...[]byte) error {
	return c.writeLockedWithin(c.cfg.WriteTimeout, bufs...)
}

func (c *Conn) writeLockedWithin(timeout time.Duration, bufs ...[]byte) error {
	select {
	case <-c.closed:
		return c.closeErr()
	default:
	}
	if err := c.nc.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		c.fail(err)
		return err
	}
	var err error
	switch {
	case len(bufs) == 1:
		_, err = c.nc.Write(bufs[0])
	case c.writev:
		nb := net.Buffers(bufs)
		_, err = nb.WriteTo(c.nc)
	default:
		// TLS and WebSocket would turn each buffer into a record or a
		// message of its own: coalesce (a DATA frame is at most 32 KiB).
		c.coalesce = c.coalesce[:0]
		for _, b := range bufs {
			c.coalesce = append(c.coalesce, b...)
		}
		_, err = c.nc.Write(c.coalesce)
	}
	if err != nil {
		c.fail(fmt.Errorf("httpstream: write: %w", err))
		return c.closeErr()
	}
	return nil
}

// writeData sends one DATA frame.
func (c *Conn) writeData(id uint32, flags uint8, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	hdr := spdy.AppendDataHeader(c.hdrBuf[:0], id, flags, len(p))
	if len(p) == 0 {
		return c.writeLocked(hdr)
	}
	return c.writeLocked(hdr, p)
}

// queueCtrl queues a control frame for the control writer.
func (c *Conn) queueCtrl(b []byte) {
	select {
	case <-c.closed:
		return
	default:
	}
	c.ctrlMu.Lock()
	c.ctrlBuf = append(c.ctrlBuf, b...)
	over := len(c.ctrlBuf) > maxCtrlBacklog
	c.ctrlMu.Unlock()
	if over {
		c.fail(errors.New("httpstream: control frame backlog exceeded"))
		return
	}
	select {
	case c.ctrlSignal <- struct{}{}:
	default:
	}
}

func (c *Conn) ctrlLoop() {
	defer c.wg.Done()
	var spare []byte
	for {
		select {
		case <-c.closed:
			return
		case <-c.ctrlSignal:
		}
		c.ctrlMu.Lock()
		b := c.ctrlBuf
		c.ctrlBuf = spare[:0]
		c.ctrlMu.Unlock()
		if len(b) > 0 && c.write(b) != nil {
			return
		}
		spare = b
	}
}

// CreateStream opens a stream and waits for the peer's reply, at most
// Config.CreateStreamTimeout.
func (c *Conn) CreateStream(headers http.Header) (Stream, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.CreateStreamTimeout)
	defer cancel()
	s, err := c.CreateStreamContext(ctx, headers)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, ErrTimeout
	}
	return s, err
}

// CreateStreamContext opens a stream and waits for the peer's reply until
// ctx is done; on ctx's end the stream is reset.
func (c *Conn) CreateStreamContext(ctx context.Context, headers http.Header) (Stream, error) {
	s := c.newStream(0, headers.Clone(), false)
	c.wmu.Lock()
	c.mu.Lock()
	if err := c.openErrLocked(); err != nil {
		c.mu.Unlock()
		c.wmu.Unlock()
		return nil, err
	}
	id := c.nextID
	if id > maxWindow {
		c.mu.Unlock()
		c.wmu.Unlock()
		return nil, errors.New("httpstream: stream IDs exhausted")
	}
	c.nextID += 2
	s.id = id
	c.streams[id] = s
	c.mu.Unlock()
	b, err := c.writer.AppendSynStream(c.wbuf[:0], id, 0, 0, 0, headers)
	if err != nil {
		c.wmu.Unlock()
		c.removeStream(s)
		return nil, fmt.Errorf("httpstream: stream headers: %w", err)
	}
	c.wbuf = b[:0]
	err = c.writeLocked(b)
	c.wmu.Unlock()
	c.touch()
	if err != nil {
		c.removeStream(s)
		return nil, err
	}
	select {
	case <-s.replied:
		return s, nil
	case <-s.done:
		if err := s.resetErr(); errors.Is(err, errPeerReset) {
			return nil, ErrStreamRefused
		} else if err != nil {
			return nil, err
		}
		return nil, c.closeErr()
	case <-ctx.Done():
		_ = s.Reset()
		return nil, ctx.Err()
	}
}

func (c *Conn) openErrLocked() error {
	select {
	case <-c.closed:
		return c.closeErrLocked()
	default:
	}
	if c.goAwaySent || c.goAwayRecv {
		return ErrGoAway
	}
	return nil
}

// Close resets every open stream and closes the connection. It waits for
// the connection's goroutines to stop.
func (c *Conn) Close() error {
	c.mu.Lock()
	open := make([]*stream, 0, len(c.streams))
	for _, s := range c.streams {
		open = append(open, s)
	}
	c.goAwaySent = true
	last := c.lastPeerID
	c.mu.Unlock()
	var b []byte
	for _, s := range open {
		if s.markReset(ErrStreamReset) {
			b = spdy.AppendRstStream(b, s.id, spdy.StatusCancel)
		}
	}
	b = spdy.AppendGoAway(b, last, spdy.GoAwayOK)
	// The farewell is best effort: a peer that stopped reading must not
	// hold Close for a whole WriteTimeout.
	c.wmu.Lock()
	_ = c.writeLockedWithin(min(c.cfg.WriteTimeout, closeWriteTimeout), b)
	c.wmu.Unlock()
	c.fail(ErrConnectionClosed)
	c.wg.Wait()
	return nil
}

// Shutdown sends GOAWAY, refuses new streams, and waits for open streams to
// finish until ctx is done; then it closes the connection (resetting what
// is left). It returns ctx's error if streams were cut off.
func (c *Conn) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	already := c.goAwaySent
	c.goAwaySent = true
	last := c.lastPeerID
	c.mu.Unlock()
	if !already {
		_ = c.write(spdy.AppendGoAway(nil, last, spdy.GoAwayOK))
	}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	var err error
	for {
		c.mu.Lock()
		n := len(c.streams)
		c.mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-c.closed:
		case <-t.C:
			continue
		}
		break
	}
	_ = c.Close()
	return err
}

// CloseChan is closed once the connection has closed.
func (c *Conn) CloseChan() <-chan bool { return c.closeChan }

// Err returns why the connection closed, or nil while it is open.
func (c *Conn) Err() error {
	select {
	case <-c.closed:
		return c.closeErr()
	default:
		return nil
	}
}

func (c *Conn) closeErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeErrLocked()
}

func (c *Conn) closeErrLocked() error {
	if c.err == nil {
		return ErrConnectionClosed
	}
	return c.err
}

// fail closes the connection with err (the first error wins). It never
// waits: it is called from the read loop, timers and writers.
func (c *Conn) fail(err error) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.err = err
		for _, t := range []*time.Timer{c.idleTimer, c.pingTimer, c.goAwayTimer} {
			if t != nil {
				t.Stop()
			}
		}
		open := make([]*stream, 0, len(c.streams))
		for _, s := range c.streams {
			open = append(open, s)
		}
		clear(c.streams)
		close(c.closed)
		c.mu.Unlock()
		if !errors.Is(err, ErrConnectionClosed) {
			c.debug("httpstream: connection closed", "err", err)
		}
		_ = c.nc.Close()
		for _, s := range open {
			s.markReset(err)
		}
		c.flowMu.Lock()
		c.flowCond.Broadcast()
		c.flowMu.Unlock()
		close(c.closeChan)
	})
}

// SetIdleTimeout closes the connection after d without frames other than
// PING in either direction; 0 disables the timer.
func (c *Conn) SetIdleTimeout(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.idleTimeout = d
	if c.idleTimer != nil {
		c.idleTimer.Stop()
		c.idleTimer = nil
	}
	if d <= 0 || c.err != nil {
		return
	}
	c.touch()
	c.idleTimer = time.AfterFunc(d, c.checkIdle)
}

// checkIdle runs when the idle timer fires: activity since it was armed
// re-arms it for the remainder instead of resetting a timer per frame.
func (c *Conn) checkIdle() {
	c.mu.Lock()
	d := c.idleTimeout
	if d <= 0 || c.idleTimer == nil || c.err != nil {
		c.mu.Unlock()
		return
	}
	idle := time.Since(time.Unix(0, c.lastActive.Load()))
	if idle < d {
		c.idleTimer.Reset(d - idle)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.fail(ErrIdleTimeout)
}

func (c *Conn) sendPing() {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	id := c.nextPingIDLocked()
	c.pingTimer.Reset(c.cfg.PingPeriod)
	c.mu.Unlock()
	c.queueCtrl(spdy.AppendPing(nil, id))
	time.AfterFunc(c.cfg.PingTimeout, func() { c.checkPong(id) })
}

// nextPingIDLocked returns a new ping ID: odd from a client, even from a
// server, increasing (a reply acknowledges every earlier ping).
func (c *Conn) nextPingIDLocked() uint32 {
	c.pingSeq += 2
	if c.server {
		return c.pingSeq
	}
	return c.pingSeq - 1
}

// gotPong records the reply to our ping id.
func (c *Conn) gotPong(id uint32) {
	for {
		old := c.lastPong.Load()
		if id <= old || c.lastPong.CompareAndSwap(old, id) {
			break
		}
	}
	c.mu.Lock()
	close(c.pongCh)
	c.pongCh = make(chan struct{})
	c.mu.Unlock()
}

// Ping sends a PING and waits for the reply; it returns the round-trip time.
func (c *Conn) Ping(ctx context.Context) (time.Duration, error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return 0, c.closeErr()
	}
	id := c.nextPingIDLocked()
	c.mu.Unlock()
	start := time.Now()
	if err := c.write(spdy.AppendPing(nil, id)); err != nil {
		return 0, err
	}
	for {
		c.mu.Lock()
		ch := c.pongCh
		c.mu.Unlock()
		if c.lastPong.Load() >= id {
			return time.Since(start), nil
		}
		select {
		case <-ch:
		case <-c.closed:
			return 0, c.closeErr()
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func (c *Conn) checkPong(id uint32) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	if c.lastPong.Load() >= id {
		c.missed = 0
		c.mu.Unlock()
		return
	}
	c.missed++
	dead := c.missed >= c.cfg.MaxMissedPings
	c.mu.Unlock()
	if dead {
		c.fail(ErrPingTimeout)
	}
}

// RemoveStreams forgets the given streams (they leave on their own when
// fully closed or reset).
func (c *Conn) RemoveStreams(streams ...Stream) {
	c.mu.Lock()
	drained := false
	for _, st := range streams {
		if s, ok := st.(*stream); ok && c.streams[s.id] == s {
			drained = c.deleteLocked(s) || drained
		}
	}
	c.mu.Unlock()
	if drained {
		c.fail(ErrGoAway)
	}
}

func (c *Conn) removeStream(s *stream) {
	c.mu.Lock()
	drained := false
	if c.streams[s.id] == s {
		drained = c.deleteLocked(s)
	}
	c.mu.Unlock()
	if drained {
		c.fail(ErrGoAway)
	}
}

// deleteLocked removes s and reports whether the connection is now drained
// after a GOAWAY from the peer (the caller then closes it, outside c.mu).
func (c *Conn) deleteLocked(s *stream) bool {
	delete(c.streams, s.id)
	if s.peerOpened {
		c.peerStreams--
	}
	return len(c.streams) == 0 && c.goAwayRecv && c.err == nil
}

// NumStreams returns how many streams are open (not fully closed or reset).
func (c *Conn) NumStreams() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.streams)
}

// Protocol returns the stream protocol negotiated during the upgrade
// (X-Stream-Protocol-Version, or the WebSocket subprotocol without its
// "SPDY/3.1+" prefix); "" when none was.
func (c *Conn) Protocol() string { return c.protocol }

// RemoteAddr returns the peer's network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }
