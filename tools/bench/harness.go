package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// Scenario is one comparison: ours against one or more peers on the same
// workload, in the same process run.
type Scenario struct {
	Name  string // e.g. "codec/json-encode"
	Peers string // the peers it compares against, for -list and the log
	Run   func(ctx context.Context, cfg Config) ([]Row, error)
}

// Config is what every scenario is told about the run.
type Config struct {
	// Short asks for the smallest run that exercises the scenario end to end
	// (CI's smoke test). Scenarios shrink sizes and durations when it is set.
	Short bool
}

// Goal says which direction of a metric is better.
type Goal string

// Goals.
const (
	Lower  Goal = "lower"
	Higher Goal = "higher"
)

// Row is one line of the results table: a metric of ours against one peer.
type Row struct {
	Scenario string
	Metric   string // e.g. "ns/op", "allocs/op", "events/s", "KB/conn"
	Goal     Goal
	Ours     float64
	Peer     string
	PeerVal  float64
}

// Ratio is Ours/PeerVal (0 when the peer measured 0).
func (r Row) Ratio() float64 {
	if r.PeerVal == 0 {
		return 0
	}
	return r.Ours / r.PeerVal
}

// FormatTable renders rows as a Markdown table.
func FormatTable(rows []Row) string {
	var b strings.Builder
	b.WriteString("| scenario | metric | ours | peer | peer value | ratio ours/peer | better |\n")
	b.WriteString("|---|---|---:|---|---:|---:|---|\n")
	for _, r := range rows {
		ratio := "n/a"
		if r.PeerVal != 0 {
			ratio = fmt.Sprintf("%.2fx", r.Ratio())
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n",
			r.Scenario, r.Metric, num(r.Ours), r.Peer, num(r.PeerVal), ratio, r.Goal)
	}
	return b.String()
}

func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

// Measured is the result of one in-process micro-benchmark.
type Measured struct {
	NsPerOp     float64
	AllocsPerOp float64
	BytesPerOp  float64
}

// Measure runs fn as a Go benchmark (testing.Benchmark, with the usual
// auto-scaled b.N) and returns its per-op figures.
func Measure(fn func(b *testing.B)) Measured {
	r := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		fn(b)
	})
	if r.N == 0 {
		return Measured{}
	}
	return Measured{
		NsPerOp:     float64(r.T.Nanoseconds()) / float64(r.N),
		AllocsPerOp: float64(r.MemAllocs) / float64(r.N),
		BytesPerOp:  float64(r.MemBytes) / float64(r.N),
	}
}

// CompareMicro measures ours and each peer with Measure and returns ns/op and
// allocs/op rows for each peer.
func CompareMicro(scenario string, ours func(b *testing.B), peers map[string]func(b *testing.B)) []Row {
	o := Measure(ours)
	var rows []Row
	for _, name := range sortedKeys(peers) {
		p := Measure(peers[name])
		rows = append(rows,
			Row{Scenario: scenario, Metric: "ns/op", Goal: Lower, Ours: o.NsPerOp, Peer: name, PeerVal: p.NsPerOp},
			Row{Scenario: scenario, Metric: "allocs/op", Goal: Lower, Ours: o.AllocsPerOp, Peer: name, PeerVal: p.AllocsPerOp},
		)
	}
	return rows
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}
