package longpoll_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/httpx"
	"github.com/streamkit-dev/streamkit/longpoll"
)

func seedInfo() longpoll.ServerInfo {
	return longpoll.ServerInfo{Address: "127.0.0.1:0", TimeoutSeconds: 3600, SubscriptionURI: "/subscription", PublishURI: "/publish"}
}

func TestServerStopNeverStartedIsNil(t *testing.T) {
	var s longpoll.Server
	assert.NoError(t, s.Stop(time.Second))
	assert.Nil(t, s.Broker())
	assert.Empty(t, s.URL())
}

func TestServerStartStopStartReplaysFromFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "events")
	persist := longpoll.FilePersistorInfo{Use: true, FileName: dir, WriteBufferSize: 4096, WriteFlushPeriodSeconds: 1}
	var s longpoll.Server
	require.NoError(t, s.Start(seedInfo(), persist, nil))
	assert.ErrorIs(t, s.Start(seedInfo(), persist, nil), longpoll.ErrAlreadyStarted)
	for i := range 10 {
		data, _ := json.Marshal(fmt.Sprintf("event-%d", i))
		resp, err := longpoll.Publish(s.URL()+"/publish", 10*time.Second, nil, longpoll.PublishRequest{Category: "category", Data: data}, "", "", nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, `{"success": true}`, resp.Body)
	}
	require.NoError(t, s.Stop(10*time.Second))
	require.NoError(t, s.Start(seedInfo(), persist, nil))
	defer func() { require.NoError(t, s.Stop(10*time.Second)) }()
	resp, err := longpoll.Subscription(s.URL()+"/subscription", nil, longpoll.SubscriptionRequest{Category: "category", TimeoutSeconds: 1, SinceTime: 1}, "", "", nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, resp.Events, 10, "the restart replays from the file")
	assert.Equal(t, `"event-0"`, string(resp.Events[0].Data))
	assert.Equal(t, `"event-9"`, string(resp.Events[9].Data))

	// Subscribe is GET only on the seed server.
	r, err := http.Post(s.URL()+"/subscription?timeout=1&category=c", "", nil)
	require.NoError(t, err)
	r.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, r.StatusCode)
}

func TestServerStopAnswersWaitingPolls(t *testing.T) {
	var s longpoll.Server
	require.NoError(t, s.Start(seedInfo(), longpoll.FilePersistorInfo{}, nil))
	url := s.URL()
	done := make(chan longpoll.SubscriptionResponse)
	go func() {
		r, err := longpoll.Subscription(url+"/subscription", nil, longpoll.SubscriptionRequest{Category: "c", TimeoutSeconds: 3000}, "", "", nil)
		assert.NoError(t, err)
		done <- r
	}()
	require.Eventually(t, func() bool { b := s.Broker(); return b != nil && b.Stats().Waiting == 1 }, 10*time.Second, 5*time.Millisecond)
	start := time.Now()
	require.NoError(t, s.Stop(10*time.Second))
	r := <-done
	assert.True(t, r.Timeout)
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestHooksRunBefore(t *testing.T) {
	info := seedInfo()
	info.HandlerToRunBeforeSubscription = func(w http.ResponseWriter, r *http.Request) bool {
		if u, p, ok := r.BasicAuth(); !ok || u != "user" || p != "pass" {
			w.WriteHeader(http.StatusUnauthorized)
			return false
		}
		return true
	}
	info.HandlerToRunBeforePublish = func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusForbidden)
		return false
	}
	var s longpoll.Server
	require.NoError(t, s.Start(info, longpoll.FilePersistorInfo{}, nil))
	defer func() { require.NoError(t, s.Stop(5*time.Second)) }()
	req := longpoll.SubscriptionRequest{Category: "c", TimeoutSeconds: 1}
	r, err := longpoll.Subscription(s.URL()+"/subscription", nil, req, "", "", nil)
	require.Error(t, err) // an empty 401 body is not an answer
	assert.Equal(t, http.StatusUnauthorized, r.StatusCode)
	r, err = longpoll.Subscription(s.URL()+"/subscription", map[string][]string{"X-Trace": {"1"}}, req, "user", "pass", &http.Transport{})
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, r.StatusCode)
	assert.True(t, r.Timeout)
	assert.NotZero(t, r.Timestamp)
	p, err := longpoll.Publish(s.URL()+"/publish", time.Second, nil, longpoll.PublishRequest{Category: "c", Data: []byte(`1`)}, "", "", nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusForbidden, p.StatusCode)
}

func TestCORSThroughHTTPX(t *testing.T) {
	e := newEnv(t, longpoll.Options{CORS: &httpx.CORSOptions{AllowedOrigins: []string{"http://app.example"}}})
	req, _ := http.NewRequest(http.MethodGet, e.subURL()+"?timeout=1&category=c", nil)
	req.Header.Set("Origin", "http://app.example")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "http://app.example", resp.Header.Get("Access-Control-Allow-Origin"))
	req.Header.Set("Origin", "http://evil.example")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
	_, err = longpoll.NewBroker(longpoll.Options{CORS: &httpx.CORSOptions{AllowedOrigins: []string{"*"}}})
	assert.Error(t, err)
}

func TestWorksOverHTTP2(t *testing.T) {
	b, err := longpoll.NewBroker(longpoll.Options{})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/sub", b.SubscriptionHandler())
	mux.Handle("/pub", b.PublishHandler())
	srv := httptest.NewUnstartedServer(mux)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	defer func() { require.NoError(t, b.Shutdown(t.Context())) }()
	c := &longpoll.Client{SubscribeURL: srv.URL + "/sub", PublishURL: srv.URL + "/pub", HTTPClient: srv.Client(),
		PollTimeout: 5 * time.Second, Since: time.Now().Add(-time.Minute)}
	require.NoError(t, c.Publish(t.Context(), "h2", "over h2"))
	for ev, err := range c.Events(t.Context(), "h2") {
		require.NoError(t, err)
		assert.Equal(t, `"over h2"`, string(ev.Data))
		break
	}
	resp, err := srv.Client().Get(srv.URL + "/sub?timeout=1&category=h2&since_time=1")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 2, resp.ProtoMajor)
}
