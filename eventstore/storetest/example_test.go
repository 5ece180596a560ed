package storetest_test

import (
	"testing"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/eventstore/storetest"
)

// A store implementation runs the suite from one test function; the
// package's TestMain should also run go.uber.org/goleak's VerifyTestMain.
func ExampleRun() {
	_ = func(t *testing.T) { // func TestConformance(t *testing.T)
		storetest.Run(t, storetest.Harness{
			New: func(t *testing.T, opts eventstore.Options) eventstore.Store {
				s := eventstore.NewMemory(opts)
				t.Cleanup(func() { _ = s.Close() })
				return s
			},
			Clock: true, // the store takes its time from opts.Clock
		})
	}
}
