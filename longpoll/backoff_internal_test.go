package longpoll

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBackoffIsCappedAndJittered(t *testing.T) {
	minB, maxB := 100*time.Millisecond, 2*time.Second
	seen := map[time.Duration]bool{}
	for failures := range 20 {
		want := min(minB<<min(failures, 10), maxB)
		for range 20 {
			d := backoff(failures, minB, maxB)
			assert.GreaterOrEqual(t, d, want/2, "failures=%d", failures)
			assert.LessOrEqual(t, d, want, "failures=%d", failures)
			seen[d] = true
		}
	}
	assert.Greater(t, len(seen), 100, "waits are drawn at random")
}
