//go:build unix && !linux

package httpx

func newPollBackend(p *Poller) (pollBackend, error) { return newGoroutineBackend(p), nil }
