package eventstore_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/eventstore/storetest"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir) // the child side of TestFileCrash; never returns
	}
	goleak.VerifyTestMain(m)
}

func TestMemoryConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T, opts eventstore.Options) eventstore.Store {
			m := eventstore.NewMemory(opts)
			t.Cleanup(func() { _ = m.Close() })
			return m
		},
		Clock: true,
	})
}
