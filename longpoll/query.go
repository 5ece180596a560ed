package longpoll

import (
	"net/url"
	"strconv"
	"strings"
)

// MaxCategoryLen is the longest category name, in bytes (as golongpoll).
const MaxCategoryLen = 1024

// The API error texts of golongpoll's subscription handler, byte for byte:
// its clients and users' tests match them.
const (
	errTextCategory    = "Invalid subscription category, must be 1-1024 characters long."
	errTextSinceTime   = "Invalid 'since_time' arg."
	errTextLastIDNoTS  = "Must provide 'since_time' arg when providing 'last_id'."
	errTextLastIDUUID  = "Param 'last_id' was not a valid UUID."
	errTextTooManyCats = "Too many categories."
)

func errTextTimeout(max int) string {
	return "Invalid or missing 'timeout' arg.  Must be 1-" + strconv.Itoa(max) + "."
}

// subscribeQuery is a validated subscription request.
type subscribeQuery struct {
	Timeout    int      // seconds, 1..max
	Categories []string // one or more, distinct
	HasSince   bool
	Since      int64 // epoch ms; may be zero or negative, as golongpoll allows
	LastIDs    []wireID
	HasLastID  bool // a non-empty last_id was given (even one that is not ours)
}

// rawQuery is the part of a subscription's query string that
// parseSubscribe reads: the first timeout and since_time (empty if absent,
// as url.Values.Get) and every category and last_id, in order.
type rawQuery struct {
	timeout, since string
	cats, ids      []string
}

func queryOf(v url.Values) rawQuery {
	return rawQuery{timeout: v.Get("timeout"), since: v.Get("since_time"), cats: v["category"], ids: v["last_id"]}
}

// parseRawQuery is queryOf(url.ParseQuery(query)) without the map: the same
// splitting on '&', the same pairs skipped (empty, with ';', with an escape
// QueryUnescape rejects), the same unescaping, for the four keys read.
func parseRawQuery(query string) rawQuery {
	var q rawQuery
	var hasTimeout, hasSince bool
	for query != "" {
		var pair string
		pair, query, _ = strings.Cut(query, "&")
		if pair == "" || strings.IndexByte(pair, ';') >= 0 {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, ok := queryUnescape(k)
		if !ok {
			continue
		}
		switch k {
		case "timeout", "since_time", "category", "last_id":
		default:
			continue
		}
		if v, ok = queryUnescape(v); !ok {
			continue
		}
		switch k {
		case "timeout":
			if !hasTimeout {
				q.timeout, hasTimeout = v, true
			}
		case "since_time":
			if !hasSince {
				q.since, hasSince = v, true
			}
		case "category":
			q.cats = append(q.cats, v)
		case "last_id":
			q.ids = append(q.ids, v)
		}
	}
	return q
}

// queryUnescape is url.QueryUnescape with no work (and no allocation) for
// the common text that has nothing to unescape.
func queryUnescape(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, true
	}
	u, err := url.QueryUnescape(s)
	return u, err == nil
}

// parseSubscribe validates q in golongpoll's order (timeout, category,
// since_time, last_id) and returns golongpoll's error text on failure.
//
// Extensions: "category" may repeat (at most maxCats distinct values), and
// so may "last_id" (one per category; each ID names its category).
func parseSubscribe(q rawQuery, maxTimeout, maxCats int) (subscribeQuery, string) {
	var s subscribeQuery
	t, err := strconv.Atoi(q.timeout)
	if err != nil || t < 1 || t > maxTimeout {
		return s, errTextTimeout(maxTimeout)
	}
	s.Timeout = t
	cats := q.cats
	if len(cats) == 0 {
		return s, errTextCategory
	}
	for _, c := range cats {
		if len(c) == 0 || len(c) > MaxCategoryLen {
			return s, errTextCategory
		}
	}
	if len(cats) > 1 {
		seen := make(map[string]bool, len(cats))
		for _, c := range cats {
			if !seen[c] {
				seen[c] = true
				s.Categories = append(s.Categories, c)
			}
		}
		if len(s.Categories) > maxCats {
			return s, errTextTooManyCats
		}
	} else {
		s.Categories = cats[:1]
	}
	if st := q.since; st != "" {
		v, err := strconv.ParseInt(st, 10, 64)
		if err != nil {
			return s, errTextSinceTime
		}
		s.HasSince, s.Since = true, v
	}
	ids := q.ids
	if len(ids) > maxCats {
		return s, errTextTooManyCats
	}
	for _, id := range ids {
		if id == "" { // the JS client always sends last_id=
			continue
		}
		if !s.HasSince {
			return s, errTextLastIDNoTS
		}
		u, err := parseUUID(id)
		if err != nil {
			return s, errTextLastIDUUID
		}
		s.HasLastID = true
		if w, ok := decodeID(u); ok {
			s.LastIDs = append(s.LastIDs, w)
		}
	}
	return s, ""
}
