package redisstore_test

import (
	"testing"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/eventstore/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T, opts eventstore.Options) eventstore.Store {
			return open(t, opts)
		},
		Clock: true,
	})
}

// Without Options.Clock the store takes IDs and ages from the Redis server's
// clock (TIME inside the scripts).
func TestConformanceServerClock(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T, opts eventstore.Options) eventstore.Store {
			return open(t, opts)
		},
	})
}
