package spdy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzReadFrame feeds arbitrary bytes to the reader: it must never panic,
// never allocate past its limits, and stop with an error or EOF.
func FuzzReadFrame(f *testing.F) {
	w := NewWriter(Limits{}, true)
	syn, _ := w.AppendSynStream(nil, 1, 0, 0, 0, http.Header{"Streamtype": {"data"}, "X": {"a", "b"}})
	rep, _ := w.AppendSynReply(nil, 1, 0, nil)
	f.Add(append(syn, rep...))
	f.Add(AppendSettings(nil, 0, Setting{ID: SettingInitialWindowSize, Value: 65536}))
	f.Add(AppendWindowUpdate(AppendPing(nil, 1), 1, 10))
	f.Add(append(AppendDataHeader(nil, 1, FlagFin, 3), "abc"...))
	f.Add(AppendGoAway(AppendRstStream(nil, 1, 5), 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxControlFrame: 4096, MaxHeaderBlock: 4096, MaxHeaders: 16}
		r := NewReader(bufio.NewReader(bytes.NewReader(data)), lim)
		// Every frame consumes at least 8 bytes.
		for range len(data)/8 + 1 {
			fr, err := r.ReadFrame()
			var se *StreamError
			if errors.As(err, &se) {
				continue
			}
			if err != nil {
				return
			}
			if fr.Type == TypeData {
				if r.DiscardData(int(fr.Length)) != nil {
					return
				}
				continue
			}
			n := 0
			for k, vs := range fr.Headers {
				n += len(k)
				for _, v := range vs {
					n += len(v)
				}
			}
			require.LessOrEqual(t, n, lim.MaxHeaderBlock)
			require.LessOrEqual(t, len(fr.Headers), lim.MaxHeaders)
		}
		t.Fatal("reader did not stop")
	})
}

// FuzzHeaderRoundTrip checks that what the writer encodes, the reader decodes.
func FuzzHeaderRoundTrip(f *testing.F) {
	f.Add("streamType", "stdout", "port", "80", false)
	f.Add("a", "", "B", "x", true)
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string, compress bool) {
		h := http.Header{}
		h.Add(k1, v1)
		h.Add(k2, v2)
		var buf bytes.Buffer
		w := NewWriter(Limits{}, compress)
		b, err := w.AppendSynStream(nil, 1, 0, 0, 0, h)
		if err != nil {
			return
		}
		buf.Write(b)
		r := NewReader(bufio.NewReader(&buf), Limits{})
		fr, err := r.ReadFrame()
		require.NoError(t, err)
		for k, vs := range h {
			require.Equal(t, vs, fr.Headers[http.CanonicalHeaderKey(k)], "key %q", k)
		}
		_, err = r.ReadFrame()
		require.ErrorIs(t, err, io.EOF)
	})
}
