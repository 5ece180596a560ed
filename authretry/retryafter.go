package authretry

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// parseRetryAfter parses a Retry-After value (RFC 9110 §10.2.3): either
// delta-seconds or an HTTP-date (all three date forms http.ParseTime
// accepts). A date in the past means "now" (0). Negative or malformed
// values are rejected (ok false) rather than guessed at.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			// All digits but too large: treat as "very long", which
			// every cap refuses.
			if isDigits(v) {
				return time.Duration(1<<63 - 1), true
			}
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	return d, true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
