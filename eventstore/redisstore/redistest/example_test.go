package redistest_test

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/streamkit-dev/streamkit/eventstore/redisstore/redistest"
)

// Start is for callers without a testing.TB, such as benchmarks; in a test,
// redistest.New(t, cfg) does the same and stops the server with t.Cleanup.
func ExampleStart() {
	srv, err := redistest.Start(redistest.Config{AOF: true})
	if err != nil {
		fmt.Println(err) // names scripts/need when redis-server is missing
		return
	}
	defer srv.Stop()
	ctx := context.Background()
	client := redis.NewClient(srv.Options())
	defer client.Close()

	client.Set(ctx, "k", "kept", 0)
	_ = srv.Kill()    // a crash
	_ = srv.Restart() // same port, same data directory
	fmt.Println(client.Get(ctx, "k").Val())
	// Output: kept
}
