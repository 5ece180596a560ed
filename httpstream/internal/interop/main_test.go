package interop

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// klog's flush daemon, started by k8s.io/streaming's import of klog.
		goleak.IgnoreTopFunction("k8s.io/klog/v2.(*flushDaemon).run.func1"),
		// spdystream keeps a goroutine for 1 s after a Close whose network
		// close failed (the stalled-stream benchmark tears connections
		// down from below). Our own goroutines are not exempted.
		goleak.IgnoreTopFunction("github.com/moby/spdystream.(*Connection).shutdown"),
	)
}
