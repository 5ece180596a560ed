package redisstore_test

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/eventstore"
)

// replyDropper is a TCP proxy to Redis that can lose the next reply: it
// closes the connection instead of forwarding it, after Redis ran the command.
type replyDropper struct {
	ln       net.Listener
	target   string
	dropNext atomic.Bool
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    []net.Conn
}

func newReplyDropper(t *testing.T, target string) *replyDropper {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &replyDropper{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			_ = c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *replyDropper) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			_, _ = io.Copy(s, c)
			_ = s.Close()
		}()
		go func() {
			defer p.wg.Done()
			defer c.Close()
			buf := make([]byte, 64<<10)
			for {
				n, err := s.Read(buf)
				if n > 0 {
					if p.dropNext.CompareAndSwap(true, false) {
						_ = s.Close()
						return
					}
					if _, werr := c.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
}

// An append whose reply is lost is not sent again by the client: the caller
// gets ErrUnavailable and the event is stored once, never twice.
func TestAppendNotRetriedAfterLostReply(t *testing.T) {
	ctx := ctxT(t)
	proxy := newReplyDropper(t, shared.Addr())
	c := redis.NewClient(&redis.Options{
		Addr:            proxy.ln.Addr().String(),
		MaxRetries:      3,
		MinRetryBackoff: time.Millisecond,
		MaxRetryBackoff: 5 * time.Millisecond,
	})
	t.Cleanup(func() { _ = c.Close() })
	prefix := newPrefix()
	s := openOn(t, c, prefix, eventstore.Options{})
	first, err := s.Append(ctx, "s", "", []byte("1")) // loads the script
	require.NoError(t, err)

	proxy.dropNext.Store(true)
	_, err = s.Append(ctx, "s", "", []byte("2"))
	require.ErrorIs(t, err, eventstore.ErrUnavailable)

	direct := openOn(t, client(t, shared), prefix, eventstore.Options{})
	got, err := direct.ReadAfter(ctx, "s", eventstore.ID{}, 10)
	require.NoError(t, err)
	require.Len(t, got, 2, "the lost-reply append ran exactly once")
	assert.Equal(t, first, got[0])
	assert.Equal(t, "2", string(got[1].Data))

	// The store carries on over a new connection.
	_, err = s.Append(ctx, "s", "", []byte("3"))
	require.NoError(t, err)
}
