package ws

import (
	"bufio"
	"encoding/binary"
	"net"
	"net/http"
	"sync"
)

// maxBatch bounds the bytes a batch holds before it is written out.
const maxBatch = 64 << 10

// batchConn lets the writer send a burst of queued messages with one write
// (one syscall, fewer TCP segments) instead of one per message. gorilla
// writes every frame straight to its net.Conn; between begin and end this
// conn collects those writes and end writes them at once. Outside a batch,
// and for gorilla's own control frames written while no batch is open,
// writes go straight through. Writes are ordered: a write that arrives while
// end is flushing waits for it. The buffer exists only during a batch.
type batchConn struct {
	net.Conn
	pool *sync.Pool

	mu   sync.Mutex
	on   bool
	buf  *[]byte
	hdr  [14]byte // a frame header held back to go out with its payload
	hdrN int

	// Read side, server connections only (see waitIdle): gorilla's read
	// buffer, which we made so we can see whether it holds data, and the
	// bytes (or error) waitIdle read while the connection was idle, handed
	// to gorilla by the next Read. Read goroutine only.
	br      *bufio.Reader
	pend    []byte
	pendBuf *[]byte
	pendErr error
	stash   *sync.Pool
}

func newBatchConn(c net.Conn, pool *sync.Pool) *batchConn { return &batchConn{Conn: c, pool: pool} }

// Read hands over what waitIdle read first, then reads from the network.
func (b *batchConn) Read(p []byte) (int, error) {
	if b.pendBuf != nil {
		n := copy(p, b.pend)
		b.pend = b.pend[n:]
		if len(b.pend) == 0 {
			b.stash.Put(b.pendBuf)
			b.pend, b.pendBuf = nil, nil
		}
		return n, nil
	}
	if err := b.pendErr; err != nil {
		b.pendErr = nil
		return 0, err
	}
	return b.Conn.Read(p)
}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.on {
		// gorilla writes a server message as two writes, its frame header
		// and then the payload, expecting net.Buffers to make them one
		// writev; through a wrapper they would be two system calls and two
		// TCP segments. Hold the header back and write both at once.
		if b.hdrN > 0 {
			h := b.hdrN
			b.hdrN = 0
			bufs := net.Buffers{b.hdr[:h], p}
			n, err := bufs.WriteTo(b.Conn)
			return max(int(n)-h, 0), err
		}
		if headerOnly(p) {
			b.hdrN = copy(b.hdr[:], p)
			return len(p), nil
		}
		return b.Conn.Write(p)
	}
	if b.buf == nil {
		b.buf, _ = b.pool.Get().(*[]byte)
		if b.buf == nil {
			b.buf = new([]byte)
		}
	}
	if b.hdrN > 0 { // not expected: headers are held back only outside a batch
		*b.buf = append(*b.buf, b.hdr[:b.hdrN]...)
		b.hdrN = 0
	}
	if len(*b.buf)+len(p) > maxBatch {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > maxBatch {
			return b.Conn.Write(p)
		}
	}
	*b.buf = append(*b.buf, p...)
	return len(p), nil
}

// headerOnly reports whether p is exactly a WebSocket frame header whose
// payload is still to come. Anything else (a whole frame, a control frame
// without payload, the handshake) is written at once.
func headerOnly(p []byte) bool {
	if len(p) < 2 || len(p) > 14 {
		return false
	}
	n, l := 2, uint64(p[1]&0x7f)
	switch l {
	case 126:
		if n += 2; len(p) < n {
			return false
		}
		l = uint64(binary.BigEndian.Uint16(p[2:]))
	case 127:
		if n += 8; len(p) < n {
			return false
		}
		l = binary.BigEndian.Uint64(p[2:])
	}
	if p[1]&0x80 != 0 {
		n += 4
	}
	return len(p) == n && l > 0
}

func (b *batchConn) begin() {
	b.mu.Lock()
	b.on = true
	b.mu.Unlock()
}

// end writes what the batch collected and ends it.
func (b *batchConn) end() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.on = false
	err := b.flushLocked()
	if b.buf != nil {
		if cap(*b.buf) <= 2*maxBatch {
			*b.buf = (*b.buf)[:0]
			b.pool.Put(b.buf)
		}
		b.buf = nil
	}
	return err
}

func (b *batchConn) flushLocked() error {
	if b.buf == nil || len(*b.buf) == 0 {
		return nil
	}
	_, err := b.Conn.Write(*b.buf)
	*b.buf = (*b.buf)[:0]
	return err
}

// batchHijacker hands gorilla's Upgrade a batchConn instead of the raw
// hijacked connection. gorilla looks for http.Hijacker directly, so the
// wrapper implements it (through http.ResponseController, which also finds
// it behind middleware that implements Unwrap).
type batchHijacker struct {
	http.ResponseWriter
	pool     *sync.Pool
	stash    *sync.Pool
	readSize int // > 256: give gorilla our own read buffer of this size
	bc       *batchConn
}

func (w *batchHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.bc = newBatchConn(c, w.pool)
	// gorilla reuses the hijacked bufio.Reader when its Upgrader has no
	// ReadBufferSize and the reader is larger than 256 bytes; net/http's
	// (4 KiB) is replaced by ours so that waitIdle can see what it holds.
	// With buffered data gorilla refuses the handshake anyway.
	if w.readSize > 256 && brw.Reader.Buffered() == 0 {
		w.bc.br = bufio.NewReaderSize(w.bc, w.readSize)
		w.bc.stash = w.stash
		brw = bufio.NewReadWriter(w.bc.br, brw.Writer)
	}
	return w.bc, brw, nil
}

func (w *batchHijacker) Unwrap() http.ResponseWriter { return w.ResponseWriter }
