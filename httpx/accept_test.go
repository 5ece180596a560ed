package httpx

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func rangesOf(rs []MediaRange) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return out
}

func TestParseAccept(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   []string
		qs     []float64
	}{
		{"", nil, nil},
		{"   ", nil, nil},
		{"application/json", []string{"application/json"}, []float64{1}},
		// Sorted by q, then specificity; header order breaks ties.
		{"text/*;q=0.5, */*;q=0.1, text/html, application/json;q=0.5",
			[]string{"text/html", "application/json", "text/*", "*/*"}, []float64{1, 0.5, 0.5, 0.1}},
		{"*/*, text/*, text/html;level=1, text/html",
			[]string{"text/html;level=1", "text/html", "text/*", "*/*"}, []float64{1, 1, 1, 1}},
		// q=0 means "not acceptable" and is left out.
		{"text/html;q=0, application/json", []string{"application/json"}, []float64{1}},
		{"text/html;q=0.000", nil, nil},
		// Case-insensitive type, subtype and parameter names; Q too.
		{"Text/HTML;Level=1;Q=0.7", []string{"text/html;level=1"}, []float64{0.7}},
		// Quoted values, with commas and escapes inside, and accept-ext after q.
		{`text/plain;format="a,b\"c";q=0.3;ext=1;flag, application/xml`,
			[]string{"application/xml", `text/plain;format="a,b\"c"`}, []float64{1, 0.3}},
		// Malformed entries are skipped, the rest kept.
		{"text, /html, */json, text/html;q=2, text/plain;q=0.5555, application/json;q=.5, image/png;q=1.001, a/b",
			[]string{"a/b"}, []float64{1}},
		{"text/html;q, text/csv;=x, text/xml;a=, application/json", []string{"application/json"}, []float64{1}},
		{`text/html;a="unterminated, application/json`, nil, nil},
		{"text/html garbage, application/json", []string{"application/json"}, []float64{1}},
		// A bare "*" is read as */*, and empty elements are ignored.
		{"*, ,, text/html;q=0.9", []string{"text/html", "*/*"}, nil},
		{"text/html ; q=0.8 ; , application/json ;;", []string{"application/json", "text/html"}, []float64{1, 0.8}},
		{"application/json;q=1.000, text/html;q=0.", []string{"application/json"}, []float64{1}},
	} {
		got := ParseAccept(tc.header)
		if tc.want == nil && tc.header != "*, ,, text/html;q=0.9" {
			assert.Nil(t, got, "%q", tc.header)
			continue
		}
		if tc.header == "*, ,, text/html;q=0.9" {
			// q=0.9 ranks below the q=1 wildcard.
			assert.Equal(t, []string{"*/*", "text/html"}, rangesOf(got), "%q", tc.header)
			continue
		}
		assert.Equal(t, tc.want, rangesOf(got), "%q", tc.header)
		if tc.qs != nil {
			qs := make([]float64, len(got))
			for i, r := range got {
				qs[i] = r.Q
			}
			assert.Equal(t, tc.qs, qs, "%q", tc.header)
		}
	}
}

func TestParseAcceptBounded(t *testing.T) {
	h := strings.Repeat("text/html;a=1;b=2, ", 1000)
	got := ParseAccept(h)
	assert.Len(t, got, maxAcceptRanges)
	many := "text/html" + strings.Repeat(";p=1", 100)
	got = ParseAccept(many)
	require.Len(t, got, 1)
	assert.LessOrEqual(t, len(got[0].Params), maxAcceptParams)
}

func TestMediaRangeMatches(t *testing.T) {
	r := ParseAccept("text/html;charset=UTF-8")[0]
	assert.True(t, r.Matches("text/html; charset=utf-8"))
	assert.False(t, r.Matches("text/html"))
	assert.False(t, r.Matches("not a type"))
	star := ParseAccept("*/*")[0]
	assert.True(t, star.Matches("application/json"))
	textStar := ParseAccept("TEXT/*")[0]
	assert.True(t, textStar.Matches("text/event-stream"))
	assert.False(t, textStar.Matches("application/json"))
}

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct {
		header string
		offers []string
		want   string
		ok     bool
	}{
		{"", []string{"application/json", "text/event-stream"}, "application/json", true},
		{"garbage", []string{"application/json"}, "application/json", true},
		{"", nil, "", false},
		{"text/event-stream", []string{"application/json", "text/event-stream"}, "text/event-stream", true},
		{"application/json, text/event-stream", []string{"text/event-stream", "application/json"}, "text/event-stream", true},
		{"application/json;q=0.5, text/event-stream", []string{"application/json", "text/event-stream"}, "text/event-stream", true},
		// The most specific range sets the weight: html excluded, rest allowed.
		{"*/*, text/html;q=0", []string{"text/html", "text/plain"}, "text/plain", true},
		{"*/*;q=0.1, text/*;q=0", []string{"text/html", "image/png"}, "image/png", true},
		{"text/html;q=0", []string{"text/html"}, "", false},
		{"image/*", []string{"text/html", "application/json"}, "", false},
		{"TEXT/HTML", []string{"text/html"}, "text/html", true},
		{"text/html;level=1;q=0.2, text/html;q=0.9", []string{"text/html;level=1", "text/html"}, "text/html", true},
		{"application/json", []string{"*/*", "bogus", "application/json"}, "application/json", true},
	} {
		got, ok := Negotiate(tc.header, tc.offers...)
		assert.Equal(t, tc.want, got, "%q %v", tc.header, tc.offers)
		assert.Equal(t, tc.ok, ok, "%q %v", tc.header, tc.offers)
	}
}

func FuzzParseAccept(f *testing.F) {
	for _, s := range []string{
		"", "*/*", "text/html;q=0.5, */*;q=0.1", `a/b;x="y,\"z";q=0.001;e`, "*", "text/*;q=0",
		"a/b;q=1.000;;, ,c/d;k=v", "\x00/\xff", `a/b;x="\`,
	} {
		f.Add(s, "application/json")
	}
	f.Fuzz(func(t *testing.T, header, offer string) {
		got := ParseAccept(header)
		assert.LessOrEqual(t, len(got), maxAcceptRanges)
		for _, r := range got {
			assert.Greater(t, r.Q, 0.0)
			assert.LessOrEqual(t, r.Q, 1.0)
			assert.NotEmpty(t, r.Type)
			assert.NotEmpty(t, r.Subtype)
			assert.Equal(t, strings.ToLower(r.Type), r.Type)
			assert.Equal(t, strings.ToLower(r.Subtype), r.Subtype)
			assert.False(t, r.Type == "*" && r.Subtype != "*", "no */subtype")
			assert.LessOrEqual(t, len(r.Params), maxAcceptParams)
			// The formatted range parses back to itself.
			again := ParseAccept(r.String())
			if assert.Len(t, again, 1, "%q", r.String()) {
				assert.Equal(t, r.String(), again[0].String())
			}
		}
		assert.True(t, slices.IsSortedFunc(got, func(a, b MediaRange) int {
			if a.Q != b.Q {
				if a.Q > b.Q {
					return -1
				}
				return 1
			}
			return b.specificity() - a.specificity()
		}))
		res, ok := Negotiate(header, offer, "text/plain")
		if ok {
			assert.Contains(t, []string{offer, "text/plain"}, res)
		} else {
			assert.Empty(t, res)
		}
	})
}
