package cli

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzHeaderFlag: -H either adds a header that cannot inject another line,
// or refuses the value.
func FuzzHeaderFlag(f *testing.F) {
	for _, s := range []string{"Origin: https://a.example", "X: ", "no colon", "A: b\r\nC: d", ": v"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h := headers{}
		if err := h.Set(s); err != nil {
			require.Empty(t, h)
			return
		}
		for k, vs := range http.Header(h) {
			require.NotEmpty(t, k)
			require.False(t, strings.ContainsAny(k, " \t\r\n:"))
			for _, v := range vs {
				require.False(t, strings.ContainsAny(v, "\r\n"))
			}
		}
	})
}
