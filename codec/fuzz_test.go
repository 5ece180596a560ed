package codec_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/codec"
)

var jsonSeeds = []string{
	`{"a":1,"b":[true,false,null,"x"],"c":{"d":-1.5e-7}}`,
	`12345678901234567890`, `"\u00e9\ud83d\ude00\n"`, `null`, ` [] `, `{}`,
	`{"a":`, `1 2`, "\"\xff\"", `-0`, `1e400`, `{"id":1,"tags":["a"],"extra":{"k":[1]}}`, `{"tags":[],"attrs":{},"ptr":0.5}`,
}

// FuzzJSONCodecDecode: Decode never panics, and whatever it accepts encodes
// and decodes back to the same value, with and without UseNumber.
func FuzzJSONCodecDecode(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, useNumber bool) {
		c := codec.JSONCodec{UseNumber: useNumber}
		_, err := c.Decode(data, codec.Binary)
		require.ErrorIs(t, err, codec.ErrMessageType)

		v, err := c.Decode(data, codec.Text)
		if err != nil {
			assert.Nil(t, v)
			return
		}
		b, mt, err := c.Encode(v)
		require.NoError(t, err, "a decoded value must encode")
		require.Equal(t, codec.Text, mt)
		again, err := c.Decode(b, codec.Text)
		require.NoError(t, err, "encoded %q", b)
		require.Equal(t, v, again)

		// Options only change how numbers come out, never what is valid.
		_, errOther := codec.JSONCodec{UseNumber: !useNumber}.Decode(data, codec.Text)
		if useNumber && errOther != nil {
			// Without UseNumber a number may overflow float64; nothing else.
			assert.Contains(t, errOther.Error(), "number")
		} else {
			assert.NoError(t, errOther)
		}
	})
}

// fuzzEvent has no omitempty, so a decoded value re-encodes every field and
// an empty slice stays empty (omitempty turns it into nil on the way back).
type fuzzEvent struct {
	ID    int64             `json:"id"`
	Type  string            `json:"type"`
	Tags  []string          `json:"tags"`
	Attrs map[string]string `json:"attrs"`
	Extra any               `json:"extra"`
	Ptr   *float64          `json:"ptr"`
}

// FuzzTypedJSONCodecDecode: Decode never panics, and whatever it accepts
// round-trips.
func FuzzTypedJSONCodecDecode(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, strict bool) {
		c := codec.TypedJSONCodec[fuzzEvent, fuzzEvent]{DisallowUnknownFields: strict, UseNumber: strict}
		v, err := c.Decode(data, codec.Text)

		// A pointer type decodes the same values (and null to nil).
		pc := codec.TypedJSONCodec[*fuzzEvent, *fuzzEvent]{DisallowUnknownFields: strict, UseNumber: strict}
		p, perr := pc.Decode(data, codec.Text)
		if err != nil {
			assert.Zero(t, v)
			require.Error(t, perr, "the value type rejected it: %v", err)
			assert.Nil(t, p)
			return
		}
		require.NoError(t, perr)
		if p == nil {
			assert.Equal(t, "null", strings.Trim(string(data), " \t\r\n"))
			assert.Zero(t, v)
		} else {
			assert.Equal(t, v, *p)
		}
		b, _, err := c.Encode(v)
		require.NoError(t, err)
		again, err := c.Decode(b, codec.Text)
		require.NoError(t, err, "encoded %q", b)
		require.Equal(t, v, again)
	})
}
