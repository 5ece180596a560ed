package longpoll

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/eventstore"
)

func TestIDRoundTripAndOrder(t *testing.T) {
	ids := []eventstore.ID{{Ms: 0, Seq: 0}, {Ms: 1, Seq: 0}, {Ms: 1, Seq: 1}, {Ms: 1, Seq: 1 << 20}, {Ms: 1, Seq: maxSeq}, {Ms: 1_700_000_000_000, Seq: 3}, {Ms: 1<<48 - 1, Seq: 7}}
	prev := ""
	for _, id := range ids {
		s := FormatID("cat", id)
		require.Len(t, s, 36)
		got, ok := ParseID("cat", s)
		require.True(t, ok, s)
		assert.Equal(t, id, got)
		_, ok = ParseID("other", s)
		assert.False(t, ok, "an ID names its category")
		assert.Less(t, prev, s, "string order is event order")
		prev = s
		assert.Equal(t, byte('7'), s[14])
		assert.Contains(t, "89ab", string(s[19]))
		up, ok := ParseID("cat", "{"+strings.ToUpper(s)+"}")
		assert.True(t, ok)
		assert.Equal(t, id, up)
	}
	assert.Empty(t, FormatID("c", eventstore.ID{Ms: 1, Seq: maxSeq + 1}))
	_, ok := ParseID("c", "6ba7b810-9dad-11d1-80b4-00c04fd430c8")
	assert.False(t, ok, "a v1/v4 UUID is not a cursor")
}

func FuzzParseID(f *testing.F) {
	f.Add("cat", FormatID("cat", eventstore.ID{Ms: 123, Seq: 4}))
	f.Add("c", "urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8")
	f.Add("c", "{6ba7b810-9dad-11d1-80b4-00c04fd430c8}")
	f.Fuzz(func(t *testing.T, cat, s string) {
		id, ok := ParseID(cat, s)
		if ok {
			// Every accepted ID re-encodes to the same canonical form.
			u, _ := parseUUID(s)
			require.Equal(t, strings.ToLower(string(formatUUID(nil, u))), FormatID(cat, id))
		}
	})
}

func FuzzParseSubscribe(f *testing.F) {
	f.Add("timeout=1&category=a&since_time=1&last_id=" + FormatID("a", eventstore.ID{Ms: 5}))
	f.Add("timeout=1&category=a&category=b&last_id=")
	f.Add("timeout=-1&category=")
	f.Add("timeout=1&timeout=2&category=a+b&category=%zz&category=&;x=1&&last_id=%41&since_time=")
	f.Add("=&category&category=%2&timeout=%31%32")
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		// parseRawQuery reads what url.ParseQuery would give, without the
		// map (it keeps the pairs it can parse even when it reports an
		// error).
		requireSameQuery(t, queryOf(v), parseRawQuery(raw), raw)
		if err != nil {
			return
		}
		var q subscribeQuery
		rq := queryOf(v)
		if bad := parseSubscribe(&rq, 110, 4, &q); bad != "" {
			return
		}
		require.True(t, q.Timeout >= 1 && q.Timeout <= 110)
		require.NotEmpty(t, q.Categories)
		require.LessOrEqual(t, len(q.Categories), 4)
		for _, c := range q.Categories {
			require.True(t, len(c) >= 1 && len(c) <= MaxCategoryLen)
		}
		if q.HasLastID {
			require.True(t, q.HasSince)
		}
		for _, c := range q.Categories {
			_ = cursorFor(&q, categoryHash(c), 0)
		}
	})
}

// requireSameQuery compares two rawQuery values, nil and empty slices
// alike.
func requireSameQuery(t testing.TB, want, got rawQuery, raw string) {
	t.Helper()
	require.Equal(t, want.timeout, got.timeout, "timeout of %q", raw)
	require.Equal(t, want.since, got.since, "since_time of %q", raw)
	require.Equal(t, want.cats.len(), got.cats.len(), "categories of %q", raw)
	require.Equal(t, want.ids.len(), got.ids.len(), "last_ids of %q", raw)
	for i := range want.cats.len() {
		require.Equal(t, want.cats.at(i), got.cats.at(i), "category %d of %q", i, raw)
	}
	for i := range want.ids.len() {
		require.Equal(t, want.ids.at(i), got.ids.at(i), "last_id %d of %q", i, raw)
	}
}

func TestParseRawQueryMatchesParseQuery(t *testing.T) {
	for _, raw := range []string{
		"",
		"timeout=5&category=c",
		"timeout=1&timeout=2&category=a+b&category=%zz&category=&;x=1&&last_id=%41&since_time=",
		"=&category&category=%2&timeout=%31%32",
		"since_time=1;2&since_time=3&ti%6Deout=7",
		"category=%E2%9C%93&category=a%2Bb&last_id=&last_id=x",
	} {
		v, _ := url.ParseQuery(raw)
		requireSameQuery(t, queryOf(v), parseRawQuery(raw), raw)
	}
	q := parseRawQuery("ti%6Deout=7&category=a+b&since_time=1;2&since_time=3")
	assert.Equal(t, rawQuery{timeout: "7", since: "3", cats: listOf([]string{"a b"})}, q)
}
