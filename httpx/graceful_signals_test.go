//go:build unix

package httpx

import (
	"context"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGracefulSignals(t *testing.T) {
	t.Run("first signal drains", func(t *testing.T) {
		srv := &http.Server{Addr: "127.0.0.1:0", Handler: helloHandler()}
		run := runGraceful(srv, WithSignals(syscall.SIGUSR1), WithDrainTimeout(30*time.Second))
		s := <-run.ready
		assert.Equal(t, "hello", getBody(t, testClient(nil), s.URL()))
		require.NoError(t, syscall.Kill(syscall.Getpid(), syscall.SIGUSR1))
		assert.NoError(t, waitErr(t, run.done, 20*time.Second))
	})
	t.Run("second signal forces close", func(t *testing.T) {
		var wg sync.WaitGroup
		srv := &http.Server{Addr: "127.0.0.1:0", Handler: streamHandlers(&wg, nil)}
		hookStarted := make(chan struct{})
		var cause error
		hook := func(ctx context.Context) error {
			close(hookStarted)
			<-ctx.Done() // a slow goodbye, cut short by the second signal
			cause = context.Cause(ctx)
			return nil
		}
		const drain = time.Minute
		run := runGraceful(srv, WithSignals(syscall.SIGUSR1), WithDrainTimeout(drain), WithShutdownHooks(hook))
		s := <-run.ready
		stream := openStream(t, testClient(nil), s.URL()+"/ignore")

		require.NoError(t, syscall.Kill(syscall.Getpid(), syscall.SIGUSR1))
		<-hookStarted
		start := time.Now()
		require.NoError(t, syscall.Kill(syscall.Getpid(), syscall.SIGUSR1))
		err := waitErr(t, run.done, drain/2)
		assert.Less(t, time.Since(start), drain/3)
		assert.ErrorIs(t, err, ErrForcedClose)
		assert.ErrorIs(t, err, ErrSecondSignal)
		assert.ErrorIs(t, cause, ErrSecondSignal)
		assert.Error(t, (<-stream).err)
		wg.Wait()
	})
}
