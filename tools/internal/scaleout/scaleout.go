// Package scaleout runs the demo server as several real processes over one
// redis-server, behind a small round-robin reverse proxy: the setup of the
// scale-out test and benchmark (see the top-level README, "Running more than
// one process").
//
// The demo processes are the calling binary itself, started again with an
// environment variable that RunIfChild recognises: call RunIfChild first in
// TestMain (or main), so that no separate build is needed.
package scaleout

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/streamkit-dev/streamkit/tools/internal/demo"
)

// childEnv carries a child's demo arguments, space separated.
const childEnv = "STREAMKIT_SCALEOUT_DEMO"

// RunIfChild runs the demo command and exits when this process was started
// by StartDemo; otherwise it returns at once.
func RunIfChild() {
	args := os.Getenv(childEnv)
	if args == "" {
		return
	}
	os.Exit(demo.Main(strings.Fields(args), os.Stdout, os.Stderr))
}

// Demo is one demo server process.
type Demo struct {
	URL    string // http://127.0.0.1:port
	cmd    *exec.Cmd
	exited chan struct{}
	stderr *bytes.Buffer
}

// StartDemo starts the running binary as a demo process with args (plus
// -addr 127.0.0.1:0) and waits until it listens.
func StartDemo(args ...string) (*Demo, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"="+strings.Join(append([]string{"-addr", "127.0.0.1:0"}, args...), " "))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	d := &Demo{cmd: cmd, exited: make(chan struct{}), stderr: &bytes.Buffer{}}
	cmd.Stderr = &lockedWriter{w: d.stderr}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if _, rest, ok := strings.Cut(line, "streamkit demo on "); ok {
				u, _, _ := strings.Cut(rest, " ")
				select {
				case urls <- strings.TrimSuffix(u, "/"):
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	go func() { _ = cmd.Wait(); close(d.exited) }()
	select {
	case d.URL = <-urls:
		return d, nil
	case <-d.exited:
		return nil, fmt.Errorf("scaleout: demo exited before listening: %s", d.stderr.String())
	case <-time.After(30 * time.Second):
		d.Kill()
		return nil, errors.New("scaleout: demo did not listen within 30s")
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// Kill ends the process with SIGKILL, as a crash would, and waits for it.
func (d *Demo) Kill() {
	_ = d.cmd.Process.Kill()
	<-d.exited
}

// Stop ends the process with SIGTERM (a graceful shutdown) and waits for it,
// killing it after 15s.
func (d *Demo) Stop() {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(15 * time.Second):
		d.Kill()
	}
}

// Proxy is a round-robin reverse proxy over backends (a load balancer): each
// request, WebSocket upgrades included, goes to the next backend; a backend
// that refuses the connection is skipped for that request.
type Proxy struct {
	backends []*url.URL
	next     atomic.Uint64
	tr       *http.Transport
	// Hits counts the requests each backend took.
	Hits []atomic.Int64
}

// NewProxy returns a proxy over the backends' base URLs.
func NewProxy(backends ...string) (*Proxy, error) {
	p := &Proxy{Hits: make([]atomic.Int64, len(backends))}
	for _, b := range backends {
		u, err := url.Parse(b)
		if err != nil {
			return nil, err
		}
		p.backends = append(p.backends, u)
	}
	p.tr = &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     30 * time.Second,
	}
	return p, nil
}

// Close drops the proxy's idle connections to the backends.
func (p *Proxy) Close() { p.tr.CloseIdleConnections() }

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body []byte
	if r.Body != nil && r.Method != http.MethodGet {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "proxy: read body", http.StatusBadRequest)
			return
		}
		body = b
	}
	n := len(p.backends)
	start := p.next.Add(1)
	for i := range n {
		idx := int((start + uint64(i)) % uint64(n))
		target := p.backends[idx]
		var dialErr error
		rp := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.Out.Host = pr.In.Host
				if body != nil {
					pr.Out.Body = io.NopCloser(bytes.NewReader(body))
					pr.Out.ContentLength = int64(len(body))
				}
			},
			Transport:     p.tr,
			FlushInterval: -1,
			ErrorLog:      log.New(io.Discard, "", 0), // backends that die mid-response are the point
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				var op *net.OpError
				if errors.As(err, &op) && op.Op == "dial" {
					dialErr = err
					return
				}
				if r.Context().Err() == nil {
					w.WriteHeader(http.StatusBadGateway)
				}
			},
		}
		rp.ServeHTTP(w, r)
		if dialErr == nil {
			p.Hits[idx].Add(1)
			return
		}
	}
	http.Error(w, "proxy: no backend", http.StatusBadGateway)
}

// WaitHealthy polls url+"/healthz" until it answers 200 or ctx ends.
func WaitHealthy(ctx context.Context, url string) error {
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
