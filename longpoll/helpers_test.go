package longpoll_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/longpoll"
)

// env is a broker on an httptest server, with /sub and /pub.
type env struct {
	t   *testing.T
	b   *longpoll.Broker
	srv *httptest.Server
}

func newEnv(t *testing.T, opts longpoll.Options) *env {
	t.Helper()
	b, err := longpoll.NewBroker(opts)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/sub", b.SubscriptionHandler())
	mux.Handle("/pub", b.PublishHandler())
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, b.Shutdown(ctx))
		srv.Close()
	})
	return &env{t: t, b: b, srv: srv}
}

func (e *env) subURL() string { return e.srv.URL + "/sub" }
func (e *env) pubURL() string { return e.srv.URL + "/pub" }

// get polls with the raw query and returns status, headers and body.
func (e *env) get(query string) (int, http.Header, string) {
	e.t.Helper()
	resp, err := http.Get(e.subURL() + "?" + query)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp.StatusCode, resp.Header, string(b)
}

func (e *env) post(method, body string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.pubURL(), strings.NewReader(body))
	require.NoError(e.t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp.StatusCode, string(b)
}

func (e *env) publish(cat string, data any) string {
	e.t.Helper()
	id, err := e.b.Publish(context.Background(), cat, data)
	require.NoError(e.t, err)
	return id
}

type answer struct {
	Events      []longpoll.Event `json:"events"`
	Timeout     string           `json:"timeout"`
	Timestamp   int64            `json:"timestamp"`
	Error       string           `json:"error"`
	HistoryLost bool             `json:"history_lost"`
}

func (e *env) poll(v url.Values) answer {
	e.t.Helper()
	code, _, body := e.get(v.Encode())
	require.Equal(e.t, http.StatusOK, code, body)
	var a answer
	require.NoError(e.t, json.Unmarshal([]byte(body), &a), body)
	return a
}

func q(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}
