package redisstore_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/eventstore/redisstore"
	"github.com/streamkit-dev/streamkit/eventstore/redisstore/redistest"
)

// shared is one redis-server for the tests that do not stop or restart it;
// each test takes its own key prefix on it.
var shared *redistest.Server

type mainRun struct{ m *testing.M }

func (r mainRun) Run() int {
	srv, err := redistest.Start(redistest.Config{})
	if err != nil {
		// A missing redis-server is a failure, never a skip.
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	shared = srv
	code := r.m.Run()
	if err := srv.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	return code
}

// quiet drops go-redis's own log lines (failed dials while a test has the
// server down on purpose).
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	redis.SetLogger(quiet{})
	goleak.VerifyTestMain(mainRun{m})
}

var prefixes atomic.Int64

// newPrefix returns a key prefix no other test uses.
func newPrefix() string {
	return "t" + strconv.FormatInt(prefixes.Add(1), 10) + ":{es}:"
}

// client returns a client for srv, closed when the test ends.
func client(t *testing.T, srv *redistest.Server) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr:            srv.Addr(),
		MaxRetries:      2,
		MinRetryBackoff: 10 * time.Millisecond,
		MaxRetryBackoff: 50 * time.Millisecond,
		DialTimeout:     2 * time.Second,
		// Fail fast while a test has the server down on purpose.
		DialerRetries:      2,
		DialerRetryTimeout: 20 * time.Millisecond,
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// open returns a store on a fresh prefix of the shared server.
func open(t *testing.T, opts eventstore.Options) *redisstore.Store {
	t.Helper()
	return openOn(t, client(t, shared), newPrefix(), opts)
}

func openOn(t *testing.T, c redis.UniversalClient, prefix string, opts eventstore.Options) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(c, redisstore.Options{
		Options:      opts,
		Prefix:       prefix,
		BlockTimeout: 200 * time.Millisecond,
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
