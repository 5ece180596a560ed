//go:build !linux

package main

import (
	"context"
	"sync"
	"time"
)

// lpPollers runs one lpRawPoller goroutine per entry of cats (the epoll
// generator is Linux only).
func lpPollers(ctx context.Context, addr string, cats []string, timeout int, onEvent func(i int, ev lpEvent)) error {
	var wg sync.WaitGroup
	for i, cat := range cats {
		wg.Go(func() {
			lpRawPoller(ctx, addr, cat, timeout, func(ev lpEvent) {
				ev.recv = time.Now().UnixNano()
				onEvent(i, ev)
			})
		})
	}
	wg.Wait()
	return nil
}
