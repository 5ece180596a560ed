package ws

import (
	"bufio"
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

	mu  sync.Mutex
	on  bool
	buf *[]byte
}

func newBatchConn(c net.Conn, pool *sync.Pool) *batchConn { return &batchConn{Conn: c, pool: pool} }

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.on {
		return b.Conn.Write(p)
	}
	if b.buf == nil {
		b.buf, _ = b.pool.Get().(*[]byte)
		if b.buf == nil {
			b.buf = new([]byte)
		}
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
	pool *sync.Pool
	bc   *batchConn
}

func (w *batchHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.bc = newBatchConn(c, w.pool)
	return w.bc, brw, nil
}

func (w *batchHijacker) Unwrap() http.ResponseWriter { return w.ResponseWriter }
