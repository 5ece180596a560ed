package longpoll

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/streamkit-dev/streamkit/httpx"
)

// Event is one event as a client receives it.
type Event struct {
	Timestamp int64           `json:"timestamp"` // epoch milliseconds
	Category  string          `json:"category"`
	Data      json.RawMessage `json:"data"` // any JSON
	ID        string          `json:"id"`   // UUID-shaped, ordered within a category
}

// SubscriptionRequest is the seed's poll request. SinceTime 0 means "only
// new events"; pass 1 for everything held.
type SubscriptionRequest struct {
	Category       string
	TimeoutSeconds int
	SinceTime      int64  // epoch ms; sent only if non-zero
	LastID         string // sent only if non-empty
}

// SubscriptionResponse is one poll's answer. Unlike the seed, a timeout and
// an API error are visible: Timeout and Timestamp, or Error.
type SubscriptionResponse struct {
	Header     http.Header
	StatusCode int
	Events     []Event
	// Timeout is true for "no events before timeout"; Timestamp is then
	// the server's time to pass as the next SinceTime.
	Timeout   bool
	Timestamp int64
	// Error is the server's error text, if it answered one.
	Error string
	// HistoryLost is true when events after the request's cursor were
	// evicted before they could be sent (streamkit servers only).
	HistoryLost bool
}

// wireAnswer decodes every answer shape.
type wireAnswer struct {
	Events      []Event `json:"events"`
	Timeout     string  `json:"timeout"`
	Timestamp   int64   `json:"timestamp"`
	Error       string  `json:"error"`
	HistoryLost bool    `json:"history_lost"`
}

// maxAnswerBytes bounds a poll answer a client reads.
const maxAnswerBytes = 64 << 20

func clientFor(transport *http.Transport) *http.Client {
	if transport == nil {
		return &http.Client{}
	}
	return &http.Client{Transport: transport}
}

// Subscription sends one poll (the seed's function): GET url with category,
// timeout, since_time and last_id. The request is bounded by the poll
// timeout plus 15 seconds.
func Subscription(url string, header map[string][]string, request SubscriptionRequest, username, password string, transport *http.Transport) (SubscriptionResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(request.TimeoutSeconds)*time.Second+15*time.Second)
	defer cancel()
	q := pollQuery{categories: []string{request.Category}, timeout: request.TimeoutSeconds}
	if request.SinceTime != 0 {
		q.hasSince, q.since = true, request.SinceTime
	}
	if request.LastID != "" {
		q.lastIDs = []string{request.LastID}
	}
	return doPoll(ctx, clientFor(transport), url, http.Header(header), username, password, q)
}

type pollQuery struct {
	categories []string
	timeout    int
	hasSince   bool
	since      int64
	lastIDs    []string
}

func (q pollQuery) encode() string {
	v := url.Values{}
	v["category"] = q.categories
	v.Set("timeout", strconv.Itoa(q.timeout))
	if q.hasSince {
		v.Set("since_time", strconv.FormatInt(q.since, 10))
	}
	if len(q.lastIDs) > 0 {
		v["last_id"] = q.lastIDs
	}
	return v.Encode()
}

func doPoll(ctx context.Context, hc *http.Client, rawURL string, header http.Header, user, pass string, q pollQuery) (SubscriptionResponse, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return SubscriptionResponse{}, err
	}
	if u.RawQuery != "" {
		u.RawQuery += "&" + q.encode()
	} else {
		u.RawQuery = q.encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return SubscriptionResponse{}, err
	}
	for k, vs := range header {
		req.Header[k] = append([]string(nil), vs...)
	}
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return SubscriptionResponse{}, err
	}
	defer resp.Body.Close()
	out := SubscriptionResponse{Header: resp.Header, StatusCode: resp.StatusCode}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return out, err
	}
	var a wireAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		if resp.StatusCode != http.StatusOK {
			return out, &httpx.HTTPStatusError{StatusCode: resp.StatusCode, Status: resp.Status, Header: resp.Header, Body: body[:min(len(body), httpx.MaxErrorBody)]}
		}
		return out, fmt.Errorf("longpoll: undecodable answer: %w", err)
	}
	out.Events, out.Error, out.HistoryLost = a.Events, a.Error, a.HistoryLost
	if a.Timeout != "" {
		out.Timeout, out.Timestamp = true, a.Timestamp
	}
	return out, nil
}

// PublishRequest is the seed's publish body; Data is any JSON value.
type PublishRequest struct {
	Category string          `json:"category"`
	Data     json.RawMessage `json:"data"`
}

// PublishResponse is the publish answer.
type PublishResponse struct {
	Header     http.Header
	StatusCode int
	Body       string
	// Error is the server's error text, if it answered one.
	Error string
}

// Publish posts one event (the seed's function). timeout bounds the whole
// request; 0 means none.
func Publish(url string, timeout time.Duration, header map[string][]string, request PublishRequest, username, password string, transport *http.Transport) (PublishResponse, error) {
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return doPublish(ctx, clientFor(transport), url, http.Header(header), username, password, request)
}

func doPublish(ctx context.Context, hc *http.Client, url string, header http.Header, user, pass string, request PublishRequest) (PublishResponse, error) {
	body, err := json.Marshal(request)
	if err != nil {
		return PublishResponse{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return PublishResponse{}, err
	}
	for k, vs := range header {
		req.Header[k] = append([]string(nil), vs...)
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return PublishResponse{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, httpx.MaxErrorBody))
	out := PublishResponse{Header: resp.Header, StatusCode: resp.StatusCode, Body: string(b)}
	if err != nil {
		return out, err
	}
	var a struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &a) == nil {
		out.Error = a.Error
	}
	return out, nil
}
