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
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, bad := parseSubscribe(v, 110, 4)
		if bad != "" {
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
