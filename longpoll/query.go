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

// subscribeQuery is a validated subscription request. It lives in its
// poll and is filled in place (parseSubscribe): the one category and one
// last_id of a common poll are held inline, not allocated.
type subscribeQuery struct {
	Timeout    int      // seconds, 1..max
	Categories []string // one or more, distinct
	HasSince   bool
	Since      int64 // epoch ms; may be zero or negative, as golongpoll allows
	LastIDs    []wireID
	HasLastID  bool // a non-empty last_id was given (even one that is not ours)

	cat1 [1]string
	id1  [1]wireID
}

// rawQuery is the part of a subscription's query string that
// parseSubscribe reads: the first timeout and since_time (empty if absent,
// as url.Values.Get) and every category and last_id, in order.
type rawQuery struct {
	timeout, since string
	cats, ids      strList
}

// strList is a list of strings that holds its first element inline, so
// that the common list of one costs no allocation.
type strList struct {
	first string
	rest  []string
	some  bool // first is set (it may be "")
}

func listOf(ss []string) strList {
	var l strList
	for _, s := range ss {
		l.add(s)
	}
	return l
}

func (l *strList) add(s string) {
	if !l.some {
		l.first, l.some = s, true
	} else {
		l.rest = append(l.rest, s)
	}
}

func (l *strList) len() int {
	if !l.some {
		return 0
	}
	return 1 + len(l.rest)
}

func (l *strList) at(i int) string {
	if i == 0 {
		return l.first
	}
	return l.rest[i-1]
}

func queryOf(v url.Values) rawQuery {
	return rawQuery{timeout: v.Get("timeout"), since: v.Get("since_time"), cats: listOf(v["category"]), ids: listOf(v["last_id"])}
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
			q.cats.add(v)
		case "last_id":
			q.ids.add(v)
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
// since_time, last_id) into s and returns golongpoll's error text on
// failure.
//
// Extensions: "category" may repeat (at most maxCats distinct values), and
// so may "last_id" (one per category; each ID names its category).
func parseSubscribe(q *rawQuery, maxTimeout, maxCats int, s *subscribeQuery) string {
	*s = subscribeQuery{}
	t, err := strconv.Atoi(q.timeout)
	if err != nil || t < 1 || t > maxTimeout {
		return errTextTimeout(maxTimeout)
	}
	s.Timeout = t
	cats := &q.cats
	if cats.len() == 0 {
		return errTextCategory
	}
	for i := range cats.len() {
		if c := cats.at(i); len(c) == 0 || len(c) > MaxCategoryLen {
			return errTextCategory
		}
	}
	s.Categories = append(s.cat1[:0], cats.first)
	if cats.len() > 1 {
		seen := make(map[string]bool, cats.len())
		seen[cats.first] = true
		for _, c := range cats.rest {
			if !seen[c] {
				seen[c] = true
				s.Categories = append(s.Categories, c)
			}
		}
		if len(s.Categories) > maxCats {
			return errTextTooManyCats
		}
	}
	if st := q.since; st != "" {
		v, err := strconv.ParseInt(st, 10, 64)
		if err != nil {
			return errTextSinceTime
		}
		s.HasSince, s.Since = true, v
	}
	ids := &q.ids
	if ids.len() > maxCats {
		return errTextTooManyCats
	}
	s.LastIDs = s.id1[:0]
	for i := range ids.len() {
		id := ids.at(i)
		if id == "" { // the JS client always sends last_id=
			continue
		}
		if !s.HasSince {
			return errTextLastIDNoTS
		}
		u, err := parseUUID(id)
		if err != nil {
			return errTextLastIDUUID
		}
		s.HasLastID = true
		if w, ok := decodeID(u); ok {
			s.LastIDs = append(s.LastIDs, w)
		}
	}
	return ""
}
