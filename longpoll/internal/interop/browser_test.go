package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/longpoll"
)

// page polls with fetch the way golongpoll's JS client does (last_id= sent
// empty at first, since_time and last_id from the last event, since_time
// moved on to a timeout's timestamp), publishes one event itself, and
// resolves once it has seen want events.
const page = `<!doctype html><meta charset="utf-8"><title>longpoll</title>
<script>
window.runScenario = async function () {
  const want = 4, got = [], errors = [];
  let since = Date.now() - 60000, lastId = '';
  const deadline = Date.now() + 30000;
  let published = null;
  while (got.length < want && Date.now() < deadline) {
    const q = new URLSearchParams({category: 'browser', timeout: '2', since_time: String(since), last_id: lastId});
    let data;
    try {
      const resp = await fetch('/events?' + q, {cache: 'no-store'});
      if (resp.status !== 200) { errors.push('status ' + resp.status); continue; }
      data = await resp.json();
    } catch (e) { errors.push(String(e)); continue; }
    if (data.error) { errors.push(data.error); continue; }
    if (data.events && data.events.length > 0) {
      for (const ev of data.events) { got.push(ev); since = ev.timestamp; lastId = ev.id; }
    } else if (data.timeout && data.timestamp > since) {
      since = data.timestamp;
    }
    if (published === null) {
      const r = await fetch('/publish', {method: 'POST', body: JSON.stringify({category: 'browser', data: {from: 'browser'}})});
      published = {status: r.status, body: await r.text()};
    }
  }
  return {events: got, errors, published};
};
</script>`

func TestChromiumPollsWithFetch(t *testing.T) {
	if _, err := exec.LookPath("chromium"); err != nil {
		t.Fatalf("chromium is not installed: run scripts/need chromium (or make test, which reads longpoll/internal/interop/.needs)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed: run scripts/need node")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "playwright-core", "package.json")); err != nil {
		t.Fatalf("npm packages missing in longpoll/internal/interop: run scripts/need npm:longpoll/internal/interop (npm ci): %v", err)
	}
	b, err := longpoll.NewBroker(longpoll.Options{})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/events", b.SubscriptionHandler())
	mux.Handle("/publish", b.PublishHandler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(page))
	})
	s := &server{b: b}
	s.hs = newHTTPTestServer(mux)
	defer s.close(t)

	// Go publishes while the page polls.
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		deadline := time.Now().Add(60 * time.Second)
		for b.Stats().Waiting == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		for i := range 3 {
			time.Sleep(300 * time.Millisecond)
			_, err := b.Publish(context.Background(), "browser", map[string]int{"go": i})
			assert.NoError(t, err)
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, node, "browser_peer.mjs", s.hs.URL+"/")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "stderr:\n%s", stderr.String())
	<-pubDone
	var res struct {
		Events    []longpoll.Event
		Errors    []string
		Published struct {
			Status int
			Body   string
		}
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &res), stdout.String())
	assert.Empty(t, res.Errors)
	assert.Equal(t, http.StatusOK, res.Published.Status)
	assert.Equal(t, `{"success": true}`, res.Published.Body)
	require.Len(t, res.Events, 4)
	var data []string
	for i, ev := range res.Events {
		data = append(data, string(ev.Data))
		if i > 0 {
			assert.Less(t, res.Events[i-1].ID, ev.ID)
		}
	}
	sort.Strings(data)
	assert.Equal(t, []string{`{"from":"browser"}`, `{"go":0}`, `{"go":1}`, `{"go":2}`}, data)
}
