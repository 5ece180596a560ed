package longpoll

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The hand-written reading of the common publish body agrees with
// encoding/json wherever it answers.
func FuzzPublishBody(f *testing.F) {
	f.Add([]byte(`{"category":"news","data":{"n":1}}`))
	f.Add([]byte(" {\n\"category\" : \"a b\" ,\t\"data\" : [1, \"x\"] }\r\n"))
	f.Add([]byte(`{"category":"caf\u00e9","data":"x"}`))
	f.Add([]byte(`{"category":"x","data":1} {"trailing":true}`))
	f.Add([]byte(`{"category":"x","data":null}`))
	f.Add([]byte(`{"category":"\xff","data":1}`))
	f.Add([]byte(`{"data":1,"category":"x"}`))
	f.Add([]byte(`{"category":"x","data":{"a":}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		fast, ok := fastPublishBody(raw)
		if !ok {
			return
		}
		var slow publishBody
		require.NoError(t, json.NewDecoder(bytes.NewReader(raw)).Decode(&slow), "fast path took %q", raw)
		require.Equal(t, slow.Category, fast.Category, "category of %q", raw)
		require.Equal(t, string(slow.Data), string(fast.Data), "data of %q", raw)
	})
}

func TestFastPublishBodyTakesTheCommonShape(t *testing.T) {
	for _, raw := range []string{
		`{"category":"news","data":{"n":1}}`,
		" {\n\"category\" : \"a b\" ,\t\"data\" : [1, \"x\"] }\r\n",
		`{"category":"ü","data":"}"}`,
		`{"category":"x","data":null}`, // decoded; the handler then rejects null
	} {
		body, ok := fastPublishBody([]byte(raw))
		require.True(t, ok, raw)
		var slow publishBody
		require.NoError(t, json.Unmarshal([]byte(raw), &slow))
		assert.Equal(t, slow.Category, body.Category)
		assert.Equal(t, string(slow.Data), string(body.Data))
	}
	for _, raw := range []string{
		`{"category":"x","data":1} {"trailing":true}`, // encoding/json decides (accepts the first value)
		`{"Category":"x","data":1}`,                   // case-insensitive match: encoding/json
		`{"category":"a\"b","data":1}`,
		`{"category":"\xff","data":1}`,
		`{"data":1,"category":"x"}`,
		`{"category":"x","data":{"a":}}`,
		`{"category":"x","data":1,"data":2}`,
		`{"category":"x"}`,
		``,
	} {
		_, ok := fastPublishBody([]byte(raw))
		assert.False(t, ok, raw)
	}
	// The point of the fast path: one allocation, the category string.
	common := []byte(`{"category":"news","data":{"n":1}}`)
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { _, _ = fastPublishBody(common) }))

	body, err := decodePublishBody([]byte(`{"Category":"x","data":1} trailing`))
	require.NoError(t, err)
	assert.Equal(t, "x", body.Category)
}
