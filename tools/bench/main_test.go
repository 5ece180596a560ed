package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestShort runs every scenario once at its smallest size, so a scenario that
// stops building or running fails CI. The numbers are not checked against
// targets (that is what RESULTS.md records), only for being measured at all.
func TestShort(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"-short"}, &out, &errOut)
	require.Equal(t, 0, code, "stderr: %s", errOut.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Greater(t, len(lines), 2, "no rows: %s", out.String())
	for _, s := range scenarios() {
		assert.Contains(t, out.String(), "| "+s.Name+" |", "scenario %s printed no row", s.Name)
	}
}

func TestFormatTable(t *testing.T) {
	got := FormatTable([]Row{{Scenario: "x", Metric: "ns/op", Goal: Lower, Ours: 50, Peer: "p", PeerVal: 100}})
	assert.Contains(t, got, "| x | ns/op | 50.00 | p | 100 | 0.50x | lower |")
}
