package longpoll_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/streamkit-dev/streamkit/longpoll"
)

// crashChildEnv makes the test binary a server child for the kill -9 test:
// it serves a Server with the file persistor in the named directory, prints
// its URL and waits to be killed.
const crashChildEnv = "LONGPOLL_TEST_CRASH_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		var s longpoll.Server
		err := s.Start(longpoll.ServerInfo{Address: "127.0.0.1:0", TimeoutSeconds: 60, SubscriptionURI: "/sub", PublishURI: "/pub"},
			longpoll.FilePersistorInfo{Use: true, FileName: dir}, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(s.URL())
		time.Sleep(time.Hour)
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}
