package eventstore_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamkit-dev/streamkit/eventstore"
	"github.com/streamkit-dev/streamkit/eventstore/storetest"
)

func TestFileConformance(t *testing.T) {
	for _, p := range []eventstore.SyncPolicy{eventstore.SyncAlways, eventstore.SyncInterval, eventstore.SyncNever} {
		t.Run(p.String(), func(t *testing.T) {
			storetest.Run(t, storetest.Harness{
				New: func(t *testing.T, opts eventstore.Options) eventstore.Store {
					// Small segments so that the suite also crosses rolls.
					f, err := eventstore.OpenFile(t.TempDir(), eventstore.FileOptions{
						Options: opts, Sync: p, SegmentBytes: 4096, SyncEvery: 5 * time.Millisecond,
					})
					require.NoError(t, err)
					t.Cleanup(func() { _ = f.Close() })
					return f
				},
				Clock: true,
			})
		})
	}
}

func openFile(t *testing.T, dir string, fo eventstore.FileOptions) *eventstore.File {
	t.Helper()
	f, err := eventstore.OpenFile(dir, fo)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	return f
}

func readAll(t *testing.T, s eventstore.Store, stream string) []eventstore.Event {
	t.Helper()
	evs, err := s.ReadAfter(context.Background(), stream, eventstore.ID{}, 1<<30)
	require.NoError(t, err)
	return evs
}

func segments(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	require.NoError(t, err)
	sort.Strings(names)
	return names
}

func TestFileReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	f := openFile(t, dir, eventstore.FileOptions{SegmentBytes: 512})
	var want []eventstore.Event
	for i := range 40 {
		stream := []string{"a", "b"}[i%2]
		ev, err := f.Append(ctx, stream, "t", []byte(fmt.Sprintf("event %d", i)))
		require.NoError(t, err)
		want = append(want, ev)
	}
	_, err := f.Trim(ctx, "a", want[10].ID) // drops a's events 0..8
	require.NoError(t, err)
	c, err := f.Append(ctx, "c", "", []byte("gone"))
	require.NoError(t, err)
	require.NoError(t, f.Delete(ctx, "c"))
	beforeA, beforeB := readAll(t, f, "a"), readAll(t, f, "b")
	require.NoError(t, f.Close())
	require.Greater(t, len(segments(t, dir)), 1, "the log rolled")

	// Reopen with a clock far in the past: IDs must still increase.
	past := time.Now().Add(-time.Hour)
	g := openFile(t, dir, eventstore.FileOptions{SegmentBytes: 512,
		Options: eventstore.Options{Clock: func() time.Time { return past }, Limits: eventstore.Limits{MaxAge: 48 * time.Hour}}})
	rec := g.Recovery()
	assert.Zero(t, rec.TruncatedBytes)
	assert.Equal(t, c.ID, rec.Last)
	assert.Equal(t, beforeA, readAll(t, g, "a"))
	assert.Equal(t, beforeB, readAll(t, g, "b"))
	assert.Empty(t, readAll(t, g, "c"), "a delete survives a restart")
	assert.Len(t, beforeA, 15)
	_, err = g.ReadAfter(ctx, "a", want[2].ID, 10)
	require.ErrorIs(t, err, eventstore.ErrGap, "a trim survives a restart")
	next, err := g.Append(ctx, "a", "", []byte("after restart"))
	require.NoError(t, err)
	assert.True(t, c.ID.Less(next.ID), "ID %s after restart is not after %s", next.ID, c.ID)
	st := g.Stats()
	assert.Equal(t, uint64(1), st.Appended, "counters start at open")
	assert.Equal(t, int64(36), st.Events)
}

// TestFileTornTail damages the end of the log by hand in the ways a crash
// can, and checks that reopening cuts the damage and serves only whole events.
func TestFileTornTail(t *testing.T) {
	ctx := context.Background()
	damages := map[string]func(t *testing.T, path string){
		"truncated": func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			require.NoError(t, err)
			require.NoError(t, os.Truncate(path, fi.Size()-3))
		},
		"flipped byte": func(t *testing.T, path string) {
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			b[len(b)-2] ^= 0xff
			require.NoError(t, os.WriteFile(path, b, 0o644))
		},
		"garbage appended": func(t *testing.T, path string) {
			fh, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			require.NoError(t, err)
			_, err = fh.Write([]byte{0x20, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7})
			require.NoError(t, err)
			require.NoError(t, fh.Close())
		},
		"zeros appended": func(t *testing.T, path string) {
			fh, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			require.NoError(t, err)
			_, err = fh.Write(make([]byte, 4096))
			require.NoError(t, err)
			require.NoError(t, fh.Close())
		},
	}
	for name, damage := range damages {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			f := openFile(t, dir, eventstore.FileOptions{})
			var want []eventstore.Event
			for i := range 10 {
				ev, err := f.Append(ctx, "s", "", []byte(fmt.Sprintf("payload-%02d", i)))
				require.NoError(t, err)
				want = append(want, ev)
			}
			require.NoError(t, f.Close())
			segs := segments(t, dir)
			require.Len(t, segs, 1)
			damage(t, segs[0])

			g := openFile(t, dir, eventstore.FileOptions{})
			got := readAll(t, g, "s")
			lost := len(want) - len(got)
			assert.LessOrEqual(t, lost, 1, "only the damaged record may be lost")
			assert.Equal(t, want[:len(got)], got, "only whole, intact events are served")
			assert.Positive(t, g.Recovery().TruncatedBytes)
			// The cut log takes new appends, and they survive another reopen.
			ev, err := g.Append(ctx, "s", "", []byte("after"))
			require.NoError(t, err)
			require.NoError(t, g.Close())
			h := openFile(t, dir, eventstore.FileOptions{})
			again := readAll(t, h, "s")
			assert.Equal(t, append(got, ev), again)
			assert.Zero(t, h.Recovery().TruncatedBytes)
		})
	}
}

// TestFileCorruptSealedSegment damages a record in the middle of an older
// segment: the rest of that segment is cut, later segments are still read.
func TestFileCorruptSealedSegment(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f := openFile(t, dir, eventstore.FileOptions{SegmentBytes: 300})
	var want []eventstore.Event
	for i := range 30 {
		ev, err := f.Append(ctx, "s", "", []byte(fmt.Sprintf("payload-%02d", i)))
		require.NoError(t, err)
		want = append(want, ev)
	}
	require.NoError(t, f.Close())
	segs := segments(t, dir)
	require.Greater(t, len(segs), 3)
	b, err := os.ReadFile(segs[1])
	require.NoError(t, err)
	b[len(b)/2] ^= 0x55
	require.NoError(t, os.WriteFile(segs[1], b, 0o644))

	g := openFile(t, dir, eventstore.FileOptions{SegmentBytes: 300})
	got := readAll(t, g, "s")
	assert.Less(t, len(got), len(want))
	assert.Equal(t, want[len(want)-1].ID, got[len(got)-1].ID, "later segments are still served")
	byID := map[eventstore.ID]eventstore.Event{}
	for _, ev := range want {
		byID[ev.ID] = ev
	}
	for _, ev := range got {
		assert.Equal(t, byID[ev.ID], ev, "served event differs from the one appended")
	}
}

func TestFileRetention(t *testing.T) {
	ctx := context.Background()
	t.Run("size", func(t *testing.T) {
		dir := t.TempDir()
		var evicted []eventstore.Eviction
		f := openFile(t, dir, eventstore.FileOptions{SegmentBytes: 1024, MaxLogBytes: 4096,
			Options: eventstore.Options{OnEvict: func(e eventstore.Eviction) { evicted = append(evicted, e) }}})
		var last eventstore.Event
		for i := range 200 {
			var err error
			last, err = f.Append(ctx, "s", "", []byte(fmt.Sprintf("payload-%03d", i)))
			require.NoError(t, err)
		}
		var total int64
		for _, p := range segments(t, dir) {
			fi, err := os.Stat(p)
			require.NoError(t, err)
			total += fi.Size()
		}
		assert.LessOrEqual(t, total, int64(4096+1024), "log exceeds MaxLogBytes by more than a segment")
		require.NotEmpty(t, evicted)
		for _, e := range evicted {
			assert.Equal(t, eventstore.EvictBytes, e.Reason)
		}
		held := readAll(t, f, "s")
		require.NotEmpty(t, held)
		assert.Equal(t, last.ID, held[len(held)-1].ID)
		assert.Less(t, len(held), 200)
		// What is held in memory is what a reopen recovers.
		require.NoError(t, f.Close())
		g := openFile(t, dir, eventstore.FileOptions{SegmentBytes: 1024, MaxLogBytes: 4096})
		assert.Equal(t, held, readAll(t, g, "s"))
	})
	t.Run("evicted", func(t *testing.T) {
		// Segments whose events all left the store (count bound) are removed.
		dir := t.TempDir()
		f := openFile(t, dir, eventstore.FileOptions{SegmentBytes: 512,
			Options: eventstore.Options{Limits: eventstore.Limits{MaxEventsPerStream: 5}}})
		for i := range 300 {
			_, err := f.Append(ctx, "s", "", []byte(fmt.Sprintf("payload-%03d", i)))
			require.NoError(t, err)
		}
		assert.LessOrEqual(t, len(segments(t, dir)), 3)
		held := readAll(t, f, "s")
		require.Len(t, held, 5)
		require.NoError(t, f.Close())
		g := openFile(t, dir, eventstore.FileOptions{SegmentBytes: 512,
			Options: eventstore.Options{Limits: eventstore.Limits{MaxEventsPerStream: 5}}})
		assert.Equal(t, held, readAll(t, g, "s"))
	})
	t.Run("age", func(t *testing.T) {
		dir := t.TempDir()
		now := time.Now()
		clock := func() time.Time { return now }
		opts := eventstore.FileOptions{SegmentBytes: 512,
			Options: eventstore.Options{Clock: clock, Limits: eventstore.Limits{MaxAge: time.Minute}}}
		f := openFile(t, dir, opts)
		for i := range 50 {
			_, err := f.Append(ctx, "old", "", []byte(fmt.Sprintf("payload-%03d", i)))
			require.NoError(t, err)
		}
		before := len(segments(t, dir))
		require.Greater(t, before, 2)
		now = now.Add(2 * time.Minute)
		for i := range 30 {
			_, err := f.Append(ctx, "new", "", []byte(fmt.Sprintf("payload-%03d", i)))
			require.NoError(t, err)
		}
		assert.Empty(t, readAll(t, f, "old"))
		segs := segments(t, dir)
		assert.Less(t, len(segs), before+2, "aged segments were not removed: %v", segs)
		require.NoError(t, f.Close())
		g := openFile(t, dir, opts)
		assert.Empty(t, readAll(t, g, "old"))
		assert.Len(t, readAll(t, g, "new"), 30)
	})
}

const crashChildEnv = "EVENTSTORE_CRASH_CHILD_DIR"

// crashChild appends in a loop, one goroutine per stream (so that appends
// are group-committed), printing each acknowledged ID, until killed.
func crashChild(dir string) {
	f, err := eventstore.OpenFile(dir, eventstore.FileOptions{Sync: eventstore.SyncAlways, SegmentBytes: 16 << 10})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	var mu sync.Mutex
	for _, stream := range []string{"x", "y", "z"} {
		go func() {
			for i := 0; ; i++ {
				data := strings.Repeat(fmt.Sprintf("%s:%d;", stream, i), 1+i%40)
				ev, err := f.Append(context.Background(), stream, "crash", []byte(data))
				if err != nil {
					fmt.Fprintln(os.Stderr, "child:", err)
					os.Exit(4)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "%s %s %d\n", stream, ev.ID, i) // printed only once acknowledged
				mu.Unlock()
			}
		}()
	}
	select {}
}

// TestFileCrash kills a child process with SIGKILL in the middle of appends
// (SyncAlways) and checks that every append it acknowledged is there after
// reopening, in order, and that nothing else is served.
func TestFileCrash(t *testing.T) {
	for round := range 3 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			dir := t.TempDir()
			// Each life of the child reopens what the previous one left.
			recovered := map[string][]eventstore.ID{}
			for life := range 1 + round {
				acked := runCrashChild(t, dir, 150+round*100-life*50)
				recovered = checkCrash(t, dir, recovered, acked)
			}
		})
	}
}

// checkCrash reopens dir and checks each stream holds what the previous life
// recovered, then every append this life acknowledged, in order, and at most
// one more (written but not yet acknowledged when the child was killed).
func checkCrash(t *testing.T, dir string, before map[string][]eventstore.ID, acked []ackedEvent) map[string][]eventstore.ID {
	t.Helper()
	g, err := eventstore.OpenFile(dir, eventstore.FileOptions{})
	require.NoError(t, err)
	defer func() { require.NoError(t, g.Close()) }()
	t.Logf("recovery: %+v", g.Recovery())
	after := map[string][]eventstore.ID{}
	for _, stream := range []string{"x", "y", "z"} {
		got := readAll(t, g, stream)
		want := append([]eventstore.ID(nil), before[stream]...)
		for _, a := range acked {
			if a.stream == stream {
				want = append(want, a.id)
			}
		}
		require.GreaterOrEqual(t, len(got), len(want), "stream %s lost acknowledged appends", stream)
		require.LessOrEqual(t, len(got), len(want)+1, "stream %s", stream)
		for i, id := range want {
			require.Equal(t, id, got[i].ID, "stream %s event %d", stream, i)
		}
		for i, ev := range got {
			n := -1
			_, err := fmt.Sscanf(string(ev.Data), stream+":%d;", &n)
			require.NoError(t, err, "corrupt payload served: %q", ev.Data)
			assert.Equal(t, strings.Repeat(fmt.Sprintf("%s:%d;", stream, n), 1+n%40), string(ev.Data))
			if i > 0 {
				assert.True(t, got[i-1].ID.Less(ev.ID))
			}
			after[stream] = append(after[stream], ev.ID)
		}
	}
	return after
}

type ackedEvent struct {
	stream string
	id     eventstore.ID
}

func runCrashChild(t *testing.T, dir string, killAfter int) []ackedEvent {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var acked []ackedEvent
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		var a ackedEvent
		var idStr string
		var n int
		_, err := fmt.Sscanf(sc.Text(), "%s %s %d", &a.stream, &idStr, &n)
		require.NoError(t, err, "child line %q", sc.Text())
		a.id, err = eventstore.ParseID(idStr)
		require.NoError(t, err)
		acked = append(acked, a)
		if len(acked) == killAfter && !killed {
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			killed = true
		}
	}
	err = cmd.Wait()
	require.True(t, killed, "child ended on its own: %v", err)
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, "signal: killed", ee.Error())
	require.GreaterOrEqual(t, len(acked), killAfter)
	return acked
}

func TestFileTornSegmentHeader(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f := openFile(t, dir, eventstore.FileOptions{})
	ev, err := f.Append(ctx, "s", "", []byte("kept"))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	// A crash right after creating the next segment, before its header.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "0000000000000001.seg"), []byte("SKEV"), 0o644))
	g := openFile(t, dir, eventstore.FileOptions{})
	assert.Equal(t, []eventstore.Event{ev}, readAll(t, g, "s"))
	assert.Equal(t, int64(4), g.Recovery().TruncatedBytes)
	next, err := g.Append(ctx, "s", "", []byte("next"))
	require.NoError(t, err)
	assert.True(t, ev.ID.Less(next.ID))
	require.NoError(t, g.Close())

	// An older segment with a damaged header is set aside, not served.
	segs := segments(t, dir)
	require.NotEmpty(t, segs)
	b, err := os.ReadFile(segs[0])
	require.NoError(t, err)
	b[0] = 'X'
	require.NoError(t, os.WriteFile(segs[0], b, 0o644))
	h := openFile(t, dir, eventstore.FileOptions{SegmentBytes: 64})
	assert.Equal(t, 1, h.Recovery().CorruptFiles)
	for _, e := range readAll(t, h, "s") {
		assert.Contains(t, []string{"kept", "next"}, string(e.Data))
	}
	_, err = os.Stat(segs[0] + ".corrupt")
	require.NoError(t, err)
}

func TestFileOpenErrors(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(notDir, []byte("x"), 0o644))
	_, err := eventstore.OpenFile(notDir, eventstore.FileOptions{})
	require.ErrorIs(t, err, eventstore.ErrUnavailable)
	assert.True(t, strings.HasPrefix(err.Error(), "eventstore: "), err.Error())
	_, err = eventstore.OpenFile(t.TempDir(), eventstore.FileOptions{Sync: 9})
	require.Error(t, err)
}

func TestFileSyncPolicyString(t *testing.T) {
	assert.Equal(t, "always", eventstore.SyncAlways.String())
	assert.Equal(t, "interval", eventstore.SyncInterval.String())
	assert.Equal(t, "never", eventstore.SyncNever.String())
	assert.Equal(t, "SyncPolicy(9)", eventstore.SyncPolicy(9).String())
}

// TestFileIntervalKeepsAppending checks that the background syncer runs
// alongside appends and rolls (run under -race) and stops on Close.
func TestFileIntervalKeepsAppending(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f := openFile(t, dir, eventstore.FileOptions{Sync: eventstore.SyncInterval, SyncEvery: time.Millisecond, SegmentBytes: 2048})
	deadline := time.Now().Add(50 * time.Millisecond)
	n := 0
	for time.Now().Before(deadline) || n < 200 {
		_, err := f.Append(ctx, "s", "", []byte(fmt.Sprintf("payload-%05d", n)))
		require.NoError(t, err)
		n++
	}
	require.NoError(t, f.Close())
	g := openFile(t, dir, eventstore.FileOptions{})
	assert.Len(t, readAll(t, g, "s"), n)
}

func TestFileDirLock(t *testing.T) {
	dir := t.TempDir()
	f := openFile(t, dir, eventstore.FileOptions{})
	_, err := eventstore.OpenFile(dir, eventstore.FileOptions{})
	require.ErrorIs(t, err, eventstore.ErrUnavailable)
	assert.Contains(t, err.Error(), "in use")
	require.NoError(t, f.Close())
	g, err := eventstore.OpenFile(dir, eventstore.FileOptions{})
	require.NoError(t, err, "Close releases the lock")
	require.NoError(t, g.Close())
}

// TestFileReplayMatchesIndex runs a random mix of appends, trims and deletes
// over many streams under tight bounds, then reopens the log: the replayed
// index must hold exactly what the store held (with one segment), or at least
// all of it and only events that were appended (with segments removed by
// retention).
func TestFileReplayMatchesIndex(t *testing.T) {
	for _, segBytes := range []int64{1 << 30, 2048} {
		t.Run(fmt.Sprint(segBytes), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			now := time.Now()
			opts := eventstore.FileOptions{Sync: eventstore.SyncNever, SegmentBytes: segBytes,
				Options: eventstore.Options{
					Clock:  func() time.Time { return now },
					Limits: eventstore.Limits{MaxStreams: 6, MaxEventsPerStream: 9, MaxBytes: 1500},
				}}
			f := openFile(t, dir, opts)
			rng := rand.New(rand.NewPCG(1, uint64(segBytes)))
			appended := map[eventstore.ID]eventstore.Event{}
			names := make([]string, 10)
			for i := range names {
				names[i] = fmt.Sprintf("stream-%d", i)
			}
			for range 3000 {
				name := names[rng.IntN(len(names))]
				switch op := rng.IntN(100); {
				case op < 90:
					ev, err := f.Append(ctx, name, "t", bytes.Repeat([]byte{'a' + byte(rng.IntN(26))}, rng.IntN(60)))
					require.NoError(t, err)
					appended[ev.ID] = ev
				case op < 96:
					evs := readAll(t, f, name)
					if len(evs) > 0 {
						_, err := f.Trim(ctx, name, evs[rng.IntN(len(evs))].ID)
						require.NoError(t, err)
					}
				default:
					require.NoError(t, f.Delete(ctx, name))
				}
				if rng.IntN(10) == 0 {
					now = now.Add(time.Millisecond)
				}
			}
			before := map[string][]eventstore.Event{}
			for _, n := range names {
				before[n] = readAll(t, f, n)
			}
			require.NoError(t, f.Close())
			g := openFile(t, dir, opts)
			for _, n := range names {
				got := readAll(t, g, n)
				if segBytes == 1<<30 {
					assert.Equal(t, before[n], got, "stream %s", n)
					continue
				}
				for _, ev := range got {
					assert.Equal(t, appended[ev.ID], ev, "stream %s serves an event never appended", n)
				}
				have := map[eventstore.ID]bool{}
				for _, ev := range got {
					have[ev.ID] = true
				}
				for _, ev := range before[n] {
					assert.True(t, have[ev.ID], "stream %s lost %s on reopen", n, ev.ID)
				}
			}
		})
	}
}
