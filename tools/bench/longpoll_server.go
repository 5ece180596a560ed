package main

// The long-poll benchmark's server process. The bench binary re-executes
// itself with STREAMKIT_BENCH_LP_SERVER=<impl> (streamkit or golongpoll);
// init then serves that implementation on 127.0.0.1:0 (/events, /publish,
// /stats), prints the address on stdout, and exits when stdin closes. Both
// are configured as their docs teach, with the same limits: timeouts up to
// 120 s and 250 events per category.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jcuga/golongpoll"

	"github.com/streamkit-dev/streamkit/httpx"
	"github.com/streamkit-dev/streamkit/longpoll"
)

const lpServerEnv = "STREAMKIT_BENCH_LP_SERVER"

func init() {
	if impl := os.Getenv(lpServerEnv); impl != "" {
		os.Exit(lpServe(impl))
	}
}

// lpStats is what /stats reports.
type lpStats struct {
	RSS        uint64 // bytes
	Heap       uint64
	Stack      uint64
	Goroutines int
	Active     int64 // connections with a request in progress (the /stats one excluded)
	CPUMicros  int64 // user+system CPU time of the process
}

func lpServe(impl string) int {
	var sub, pub http.Handler
	var shutdown func()
	var waiting func() int64 // polls waiting now; nil: requests in progress
	parked := false
	switch impl {
	case "streamkit", "streamkit-nethttp":
		// streamkit parks waiting polls on bare connections (the default
		// when served through an httpx.HandbackListener, as the seed
		// Server does); streamkit-nethttp keeps them on net/http's
		// goroutine.
		parked = impl == "streamkit"
		b, err := longpoll.NewBroker(longpoll.Options{MaxTimeoutSeconds: 120, BufferSize: 250, DisableConnParking: !parked})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		sub, pub = b.SubscriptionHandler(), b.PublishHandler()
		shutdown = func() { _ = b.Shutdown(context.Background()) }
		waiting = func() int64 { return int64(b.Stats().Waiting) }
	case "golongpoll":
		m, err := golongpoll.StartLongpoll(golongpoll.Options{MaxLongpollTimeoutSeconds: 120, MaxEventBufferSize: 250})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		sub, pub = http.HandlerFunc(m.SubscriptionHandler), http.HandlerFunc(m.PublishHandler)
		shutdown = m.Shutdown
	default:
		fmt.Fprintln(os.Stderr, "unknown impl", impl)
		return 2
	}
	var active atomic.Int64
	mux := http.NewServeMux()
	mux.Handle("/events", sub)
	mux.Handle("/publish", pub)
	mux.HandleFunc("/stats", func(w http.ResponseWriter, _ *http.Request) {
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		cpu := int64(ru.Utime.Sec)*1e6 + int64(ru.Utime.Usec) + int64(ru.Stime.Sec)*1e6 + int64(ru.Stime.Usec)
		act := active.Load() - 1
		if waiting != nil {
			act = waiting() // parked polls are in no handler
		}
		_ = json.NewEncoder(w).Encode(lpStats{RSS: lpRSS(), Heap: ms.HeapInuse, Stack: ms.StackInuse, Goroutines: runtime.NumGoroutine(),
			Active: act, CPUMicros: cpu})
	})
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		active.Add(1)
		defer active.Add(-1)
		mux.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := &http.Server{Handler: counted, ReadHeaderTimeout: 30 * time.Second}
	var l net.Listener = ln
	if parked {
		hl := httpx.NewHandbackListener(ln, httpx.HandbackOptions{})
		srv.ConnContext = hl.ConnContext
		l = hl
	}
	go func() { _ = srv.Serve(l) }()
	fmt.Println(ln.Addr().String())
	// STREAMKIT_BENCH_LP_CPUPROFILE=prefix writes prefix.<impl> (for looking
	// into a result, not part of it).
	if prefix := os.Getenv("STREAMKIT_BENCH_LP_CPUPROFILE"); prefix != "" {
		if f, err := os.Create(prefix + "." + impl); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				defer func() { pprof.StopCPUProfile(); _ = f.Close() }()
			}
		}
	}
	// STREAMKIT_BENCH_LP_ALLOCPROFILE=prefix records every allocation and
	// writes prefix.<impl> at exit (slows the server: not for results).
	if prefix := os.Getenv("STREAMKIT_BENCH_LP_ALLOCPROFILE"); prefix != "" {
		runtime.MemProfileRate = 1
		defer func() {
			if f, err := os.Create(prefix + "." + impl); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				_ = f.Close()
			}
		}()
	}
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes stdin
	shutdown()
	_ = srv.Close()
	return 0
}

func lpRSS() uint64 {
	f, err := os.Open("/proc/self/statm")
	if err != nil {
		return 0
	}
	defer f.Close()
	var size, res uint64
	_, _ = fmt.Fscan(bufio.NewReader(f), &size, &res)
	return res * uint64(os.Getpagesize())
}
