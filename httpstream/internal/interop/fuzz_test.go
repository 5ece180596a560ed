package interop

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	mspdy "github.com/moby/spdystream/spdy"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/httpstream/internal/spdy"
)

// validName mirrors what both framers accept and round-trip identically:
// a lowercase-able token that is not a connection-specific header.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return false
		}
	}
	switch strings.ToLower(s) {
	case "connection", "host", "keep-alive", "proxy-connection", "transfer-encoding":
		return false
	}
	return true
}

func fuzzHeaders(k1, v1, k2, v2 string) (http.Header, bool) {
	if !validName(k1) || !validName(k2) || strings.Contains(v1+v2, "\x00") {
		return nil, false
	}
	h := http.Header{}
	h.Add(k1, v1)
	h.Add(k2, v2)
	return h, true
}

// FuzzDifferential encodes the same frames with spdystream's framer and
// ours, and checks that each side decodes the other's bytes to the same
// frames. The header compression context spans the frames of a sequence.
func FuzzDifferential(f *testing.F) {
	f.Add(uint32(1), "streamType", "stdout", "X-Multi", "a", uint32(7), uint32(65536), []byte("hello"), false)
	f.Add(uint32(3), "a", "", "b", "x\x01y", uint32(0), uint32(1), []byte{}, true)
	f.Fuzz(func(t *testing.T, id uint32, k1, v1, k2, v2 string, ping, delta uint32, data []byte, compress bool) {
		h, ok := fuzzHeaders(k1, v1, k2, v2)
		if !ok {
			return
		}
		id = id&0x7fffffff | 1
		delta = delta&0x7fffffff | 1
		if len(data) > 1<<16 {
			data = data[:1<<16]
		}

		// spdystream writes, we read.
		var theirs bytes.Buffer
		mf, err := mspdy.NewFramer(&theirs, &theirs)
		require.NoError(t, err)
		frames := []mspdy.Frame{
			&mspdy.SynStreamFrame{StreamId: mspdy.StreamId(id), Priority: 3, Headers: h},
			&mspdy.SynReplyFrame{StreamId: mspdy.StreamId(id), Headers: h},
			&mspdy.HeadersFrame{StreamId: mspdy.StreamId(id), Headers: h},
			&mspdy.RstStreamFrame{StreamId: mspdy.StreamId(id), Status: mspdy.Cancel},
			&mspdy.SettingsFrame{FlagIdValues: []mspdy.SettingsFlagIdValue{{Id: mspdy.SettingsInitialWindowSize, Value: delta}}},
			&mspdy.PingFrame{Id: ping},
			&mspdy.GoAwayFrame{LastGoodStreamId: mspdy.StreamId(id), Status: mspdy.GoAwayOK},
			&mspdy.WindowUpdateFrame{StreamId: mspdy.StreamId(id), DeltaWindowSize: delta},
			&mspdy.DataFrame{StreamId: mspdy.StreamId(id), Flags: mspdy.DataFlagFin, Data: data},
		}
		for _, fr := range frames {
			if err := mf.WriteFrame(fr); err != nil {
				return // spdystream refuses it; nothing to compare
			}
		}
		r := spdy.NewReader(bufio.NewReader(bytes.NewReader(theirs.Bytes())), spdy.Limits{})
		for i := range 3 {
			fr, err := r.ReadFrame()
			require.NoError(t, err, "header frame %d", i)
			require.Equal(t, id, fr.StreamID)
			require.Equal(t, h, fr.Headers)
		}
		fr, err := r.ReadFrame()
		require.NoError(t, err)
		require.Equal(t, spdy.TypeRstStream, fr.Type)
		require.Equal(t, spdy.StatusCancel, fr.Status)
		fr, err = r.ReadFrame()
		require.NoError(t, err)
		require.Equal(t, []spdy.Setting{{ID: spdy.SettingInitialWindowSize, Value: delta}}, fr.Settings)
		fr, err = r.ReadFrame()
		require.NoError(t, err)
		require.Equal(t, ping, fr.PingID)
		fr, err = r.ReadFrame()
		require.NoError(t, err)
		require.Equal(t, id, fr.LastGoodID)
		fr, err = r.ReadFrame()
		require.NoError(t, err)
		require.Equal(t, delta, fr.Delta)
		fr, err = r.ReadFrame()
		require.NoError(t, err)
		require.Equal(t, spdy.TypeData, fr.Type)
		require.True(t, fr.Fin())
		got := make([]byte, fr.Length)
		require.NoError(t, r.ReadData(got))
		require.Equal(t, data, got)
		_, err = r.ReadFrame()
		require.ErrorIs(t, err, io.EOF)

		// We write, spdystream reads.
		w := spdy.NewWriter(spdy.Limits{}, compress)
		var b []byte
		b, err = w.AppendSynStream(b, id, 0, 3, 0, h)
		require.NoError(t, err)
		b, err = w.AppendSynReply(b, id, 0, h)
		require.NoError(t, err)
		b, err = w.AppendHeaders(b, id, 0, h)
		require.NoError(t, err)
		b = spdy.AppendRstStream(b, id, spdy.StatusCancel)
		b = spdy.AppendSettings(b, 0, spdy.Setting{ID: spdy.SettingInitialWindowSize, Value: delta})
		b = spdy.AppendPing(b, ping)
		b = spdy.AppendGoAway(b, id, spdy.GoAwayOK)
		b = spdy.AppendWindowUpdate(b, id, delta)
		b = spdy.AppendDataHeader(b, id, spdy.FlagFin, len(data))
		b = append(b, data...)
		mr, err := mspdy.NewFramer(io.Discard, bytes.NewReader(b))
		require.NoError(t, err)
		var frs []mspdy.Frame
		for {
			fr, err := mr.ReadFrame()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
			frs = append(frs, fr)
		}
		require.Len(t, frs, len(frames))
		require.Equal(t, h, frs[0].(*mspdy.SynStreamFrame).Headers)
		require.Equal(t, uint8(3), frs[0].(*mspdy.SynStreamFrame).Priority)
		require.Equal(t, h, frs[1].(*mspdy.SynReplyFrame).Headers)
		require.Equal(t, h, frs[2].(*mspdy.HeadersFrame).Headers)
		require.Equal(t, mspdy.Cancel, frs[3].(*mspdy.RstStreamFrame).Status)
		require.Equal(t, delta, frs[4].(*mspdy.SettingsFrame).FlagIdValues[0].Value)
		require.Equal(t, ping, frs[5].(*mspdy.PingFrame).Id)
		require.Equal(t, mspdy.StreamId(id), frs[6].(*mspdy.GoAwayFrame).LastGoodStreamId)
		require.Equal(t, delta, frs[7].(*mspdy.WindowUpdateFrame).DeltaWindowSize)
		df := frs[8].(*mspdy.DataFrame)
		require.Equal(t, mspdy.DataFlagFin, df.Flags)
		require.Equal(t, len(data), len(df.Data))
		if len(data) > 0 {
			require.Equal(t, data, df.Data)
		}
	})
}
