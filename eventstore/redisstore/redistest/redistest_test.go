package redistest_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/streamkit-dev/streamkit/eventstore/redisstore/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestServerRestartKeepsPortAndAOF(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	srv := redistest.New(t, redistest.Config{AOF: true})
	host, port, err := net.SplitHostPort(srv.Addr())
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host)
	assert.Equal(t, strconv.Itoa(srv.Port()), port)

	c := srv.Client(t)
	require.NoError(t, c.Set(ctx, "k", "v", 0).Err())
	require.NoError(t, srv.Kill())
	require.Error(t, c.Ping(ctx).Err(), "the server is down")
	require.NoError(t, srv.Restart())
	assert.Equal(t, port, strconv.Itoa(srv.Port()))
	v, err := c.Get(ctx, "k").Result()
	require.NoError(t, err, "the AOF kept the key across a SIGKILL")
	assert.Equal(t, "v", v)
	require.NoError(t, srv.Stop())
	require.NoError(t, srv.Stop(), "Stop is idempotent")
}

func TestServerWithoutAOFForgets(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	srv := redistest.New(t)
	c := redis.NewClient(srv.Options())
	defer c.Close()
	require.NoError(t, c.Set(ctx, "k", "v", 0).Err())
	require.NoError(t, srv.Restart())
	_, err := c.Get(ctx, "k").Result()
	require.ErrorIs(t, err, redis.Nil)
}

func TestStartWithoutRedisNamesScriptsNeed(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := redistest.Start(redistest.Config{})
	require.ErrorIs(t, err, redistest.ErrNotInstalled)
	assert.Contains(t, err.Error(), "scripts/need redis")
}

func TestStartTwoServers(t *testing.T) {
	a, err := redistest.Start(redistest.Config{})
	require.NoError(t, err)
	defer a.Stop()
	b := redistest.New(t)
	assert.NotEqual(t, a.Addr(), b.Addr())
	dir := a.Dir()
	require.NoError(t, a.Stop())
	assert.NoDirExists(t, dir, "Start's temporary directory is removed by Stop")
}
