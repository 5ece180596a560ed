package longpoll_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/longpoll"
)

// TestKill9LosesNothingAcknowledged publishes to a server child with the file
// persistor (sync on every publish), kills it with SIGKILL, and checks that
// a new server on the same directory replays every acknowledged event.
func TestKill9LosesNothingAcknowledged(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "events")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	killed := false
	defer func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	url := strings.TrimSpace(line)

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	acked := 0
	for i := range 50 {
		data, _ := json.Marshal(i)
		resp, err := longpoll.Publish(url+"/pub", 10*time.Second, nil, longpoll.PublishRequest{Category: "c", Data: data}, "", "", tr)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
		acked++
	}
	require.NoError(t, cmd.Process.Signal(os.Kill))
	_ = cmd.Wait()
	killed = true

	var s longpoll.Server
	info := longpoll.ServerInfo{Address: "127.0.0.1:0", TimeoutSeconds: 60, SubscriptionURI: "/sub", PublishURI: "/pub"}
	require.NoError(t, s.Start(info, longpoll.FilePersistorInfo{Use: true, FileName: dir}, nil))
	defer func() { require.NoError(t, s.Stop(5*time.Second)) }()
	resp, err := longpoll.Subscription(s.URL()+"/sub", nil, longpoll.SubscriptionRequest{Category: "c", TimeoutSeconds: 1, SinceTime: 1}, "", "", tr)
	require.NoError(t, err)
	require.Len(t, resp.Events, acked)
	for i, ev := range resp.Events {
		assert.Equal(t, itoa(int64(i)), string(ev.Data))
	}
	// New IDs continue after the recovered ones.
	_, err = s.Broker().Publish(t.Context(), "c", "after")
	require.NoError(t, err)
	last := resp.Events[acked-1]
	resp, err = longpoll.Subscription(s.URL()+"/sub", nil, longpoll.SubscriptionRequest{Category: "c", TimeoutSeconds: 1, SinceTime: last.Timestamp, LastID: last.ID}, "", "", tr)
	require.NoError(t, err)
	require.Len(t, resp.Events, 1)
	assert.Equal(t, `"after"`, string(resp.Events[0].Data))
}
