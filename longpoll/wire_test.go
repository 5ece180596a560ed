package longpoll_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/longpoll"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestSubscribeValidationMatchesGolongpoll(t *testing.T) {
	e := newEnv(t, longpoll.Options{MaxTimeoutSeconds: 30})
	long := strings.Repeat("x", 1025)
	cases := []struct{ query, want string }{
		{"", `{"error": "Invalid or missing 'timeout' arg.  Must be 1-30."}`},
		{"timeout=0&category=a", `{"error": "Invalid or missing 'timeout' arg.  Must be 1-30."}`},
		{"timeout=31&category=a", `{"error": "Invalid or missing 'timeout' arg.  Must be 1-30."}`},
		{"timeout=x", `{"error": "Invalid or missing 'timeout' arg.  Must be 1-30."}`},
		// timeout is checked before category, category before since_time.
		{"timeout=1&since_time=zz", `{"error": "Invalid subscription category, must be 1-1024 characters long."}`},
		{"timeout=1&category=" + long, `{"error": "Invalid subscription category, must be 1-1024 characters long."}`},
		{"timeout=1&category=a&since_time=zz&last_id=nope", `{"error": "Invalid 'since_time' arg."}`},
		{"timeout=1&category=a&last_id=nope", `{"error": "Must provide 'since_time' arg when providing 'last_id'."}`},
		{"timeout=1&category=a&since_time=1&last_id=nope", `{"error": "Param 'last_id' was not a valid UUID."}`},
	}
	for _, c := range cases {
		code, h, body := e.get(c.query)
		assert.Equal(t, http.StatusOK, code, c.query) // golongpoll answers API errors with 200
		assert.Equal(t, c.want, body, c.query)
		assert.Equal(t, "application/json", h.Get("Content-Type"))
		assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
		assert.Equal(t, "no-cache, no-store, must-revalidate", h.Get("Cache-Control"))
		assert.Equal(t, "no-cache", h.Get("Pragma"))
		assert.Equal(t, "0", h.Get("Expires"))
	}
	// An empty last_id counts as absent (the JS client always sends it), and
	// golongpoll's other UUID forms are accepted.
	a := e.poll(q("timeout", "1", "category", "a", "last_id", ""))
	assert.Equal(t, "no events before timeout", a.Timeout)
	for _, id := range []string{"{6ba7b810-9dad-11d1-80b4-00c04fd430c8}", "urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8", "6ba7b8109dad11d180b400c04fd430c8"} {
		a := e.poll(q("timeout", "1", "category", "a", "since_time", "1", "last_id", id))
		assert.Empty(t, a.Error, id)
	}
}

func TestPublishMatchesGolongpoll(t *testing.T) {
	e := newEnv(t, longpoll.Options{})
	code, body := e.post(http.MethodGet, "")
	assert.Equal(t, http.StatusMethodNotAllowed, code)
	assert.Equal(t, `{"error": "Invalid HTTP Method. Only POST allowed."}`, body)
	code, body = e.post(http.MethodPost, "{nope")
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Equal(t, `{"error": "Invalid POST body json."}`, body)
	code, body = e.post(http.MethodPost, `{"category":"","data":1}`)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Equal(t, `{"error": "Invalid or missing 'category' arg, must be 1-1024 characters long."}`, body)
	for _, b := range []string{`{"category":"a"}`, `{"category":"a","data":null}`} {
		code, body = e.post(http.MethodPost, b)
		assert.Equal(t, http.StatusBadRequest, code)
		assert.Equal(t, `{"error": "Invalid or missing 'data' arg, must be non-nil."}`, body)
	}
	// No Content-Type needed; the success body is exact.
	code, body = e.post(http.MethodPost, `{"category":"a","data":{"k":[1,2]}}`)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, `{"success": true}`, body)

	a := e.poll(q("timeout", "1", "category", "a", "since_time", "1"))
	require.Len(t, a.Events, 1)
	assert.JSONEq(t, `{"k":[1,2]}`, string(a.Events[0].Data))
}

func TestAnswerShapes(t *testing.T) {
	e := newEnv(t, longpoll.Options{})
	before := time.Now().UnixMilli()
	e.publish("c", map[string]int{"n": 1})
	e.publish("c", "two")
	code, h, body := e.get("timeout=1&category=c&since_time=1")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "application/json", h.Get("Content-Type"))
	// Field order is golongpoll's: timestamp, category, data, id.
	require.Regexp(t, `^\{"events":\[\{"timestamp":\d+,"category":"c","data":\{"n":1\},"id":"[-0-9a-f]{36}"\},\{"timestamp":\d+,"category":"c","data":"two","id":"[-0-9a-f]{36}"\}\]\}$`, body)
	var a answer
	require.NoError(t, json.Unmarshal([]byte(body), &a))
	for _, ev := range a.Events {
		assert.Regexp(t, uuidRE, ev.ID)
		assert.GreaterOrEqual(t, ev.Timestamp, before)
	}
	assert.Less(t, a.Events[0].ID, a.Events[1].ID, "IDs are ordered")

	// Resuming after the last event waits and times out with golongpoll's body.
	last := a.Events[1]
	code, _, body = e.get("timeout=1&category=c&since_time=" + strconv.FormatInt(last.Timestamp, 10) + "&last_id=" + last.ID)
	require.Equal(t, http.StatusOK, code)
	assert.Regexp(t, `^\{"timeout":"no events before timeout","timestamp":\d+\}$`, body)
}
