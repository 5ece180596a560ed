// Package redistest starts real redis-server processes on loopback for tests,
// as net/http/httptest starts HTTP servers.
//
//	srv := redistest.New(t)             // stopped by t.Cleanup
//	client := srv.Client(t)             // a go-redis client, closed by t.Cleanup
//
// Each server has its own temporary data directory and a free loopback port.
// With [Config.AOF] it writes an append-only file with appendfsync always, so
// [Server.Kill] followed by [Server.Restart] loses nothing that Redis
// acknowledged. redis-server must be on PATH: a test that cannot find it
// fails (never skips) with a message naming scripts/need, which installs it
// (Debian package redis-server).
//
// [Start] is the same without a testing.TB, for benchmarks and tools.
package redistest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Config configures a server. The zero value is an in-memory server with no
// persistence.
type Config struct {
	// AOF turns on the append-only file with appendfsync always.
	AOF bool
	// Dir is the data directory. Empty means a new temporary directory
	// (t.TempDir for New; removed by Stop for Start).
	Dir string
	// Args are extra redis-server arguments, e.g. "--maxmemory", "64mb".
	Args []string
	// StartTimeout bounds how long a start waits for the server to answer
	// PING. Default 10s.
	StartTimeout time.Duration
}

// Server is a redis-server process on 127.0.0.1.
type Server struct {
	cfg     Config
	port    int
	tempDir bool // Dir was made by Start and is removed by Stop

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
	log    *os.File
}

// ErrNotInstalled is returned by Start when redis-server is not on PATH.
var ErrNotInstalled = errors.New("redistest: redis-server is not on PATH: run scripts/need redis (it installs the Debian package redis-server)")

// New starts a server for a test and stops it with t.Cleanup. It fails the
// test when redis-server is missing or does not start.
func New(t testing.TB, cfg ...Config) *Server {
	t.Helper()
	var c Config
	if len(cfg) > 0 {
		c = cfg[0]
	}
	if c.Dir == "" {
		c.Dir = t.TempDir()
	}
	s, err := Start(c)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("redistest: stop: %v", err)
		}
	})
	return s
}

// Start starts a server. The caller must call Stop.
func Start(cfg Config) (*Server, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, ErrNotInstalled
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 10 * time.Second
	}
	s := &Server{cfg: cfg}
	if s.cfg.Dir == "" {
		d, err := os.MkdirTemp("", "redistest-")
		if err != nil {
			return nil, fmt.Errorf("redistest: %w", err)
		}
		s.cfg.Dir, s.tempDir = d, true
	}
	// Redis cannot listen on port 0: take a free port from the kernel,
	// release it and start on it, and try again with another when someone
	// else took it in between.
	var err error
	for range 5 {
		if s.port, err = freePort(); err != nil {
			break
		}
		if err = s.start(); err == nil {
			return s, nil
		}
	}
	s.cleanDir()
	return nil, err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("redistest: no free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs redis-server on s.port and waits until it answers PING.
func (s *Server) start() error {
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.cfg.Dir,
		"--save", "",
		"--daemonize", "no",
		"--databases", "16",
	}
	if s.cfg.AOF {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	args = append(args, s.cfg.Args...)
	logf, err := os.OpenFile(filepath.Join(s.cfg.Dir, "redis.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("redistest: %w", err)
	}
	cmd := exec.Command("redis-server", args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("redistest: start redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited, s.log = cmd, exited, logf
	s.mu.Unlock()

	deadline := time.Now().Add(s.cfg.StartTimeout)
	for {
		select {
		case <-exited:
			s.mu.Lock()
			s.cmd, s.exited, s.log = nil, nil, nil
			s.mu.Unlock()
			logf.Close()
			return fmt.Errorf("redistest: redis-server exited on start (port %d): %s", s.port, s.logTail())
		default:
		}
		err := ping(s.Addr(), cmd.Process.Pid)
		if err == nil {
			return nil
		}
		if errors.Is(err, errOtherServer) {
			_ = s.signal(syscall.SIGKILL, 10*time.Second)
			return fmt.Errorf("redistest: port %d taken by another process: %w", s.port, err)
		}
		if time.Now().After(deadline) {
			_ = s.Stop()
			return fmt.Errorf("redistest: redis-server did not answer PING within %v: %s", s.cfg.StartTimeout, s.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ping sends PING in RESP and expects +PONG (without a client library, so a
// server that is still loading its AOF does not count as up), then checks
// with INFO that the server answering is process pid, not another one that
// took the port first.
func ping(addr string, pid int) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("PING\r\nINFO server\r\n")); err != nil {
		return err
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("redistest: PING answered %q", strings.TrimSpace(line))
	}
	line, err = r.ReadString('\n')
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "$")))
	if err != nil || !strings.HasPrefix(line, "$") || n < 0 || n > 1<<20 {
		return fmt.Errorf("redistest: INFO answered %q", strings.TrimSpace(line))
	}
	info := make([]byte, n)
	if _, err := io.ReadFull(r, info); err != nil {
		return err
	}
	if !bytes.Contains(info, []byte("\nprocess_id:"+strconv.Itoa(pid)+"\r")) {
		return errOtherServer
	}
	return nil
}

var errOtherServer = errors.New("redistest: another server answers on the port")

func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.cfg.Dir, "redis.log"))
	b = bytes.TrimSpace(b)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// Addr returns "127.0.0.1:<port>".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Port returns the server's port; it stays the same across Restart.
func (s *Server) Port() int { return s.port }

// Dir returns the data directory.
func (s *Server) Dir() string { return s.cfg.Dir }

// Options returns go-redis options for the server.
func (s *Server) Options() *redis.Options {
	return &redis.Options{Addr: s.Addr()}
}

// Client returns a go-redis client for the server, closed by t.Cleanup.
func (s *Server) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(s.Options())
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// FlushAll empties the server.
func (s *Server) FlushAll(ctx context.Context) error {
	c := redis.NewClient(s.Options())
	defer c.Close()
	return c.FlushAll(ctx).Err()
}

// Stop shuts the server down (SIGTERM, then SIGKILL after 10s) and waits
// for it to exit. Stop is idempotent; with a temporary Dir from Start it
// also removes the directory.
func (s *Server) Stop() error {
	err := s.signal(syscall.SIGTERM, 10*time.Second)
	s.cleanDir()
	return err
}

// Kill ends the server with SIGKILL, as a crash would, and waits for it.
// Restart brings it back.
func (s *Server) Kill() error {
	return s.signal(syscall.SIGKILL, 10*time.Second)
}

func (s *Server) signal(sig syscall.Signal, wait time.Duration) error {
	s.mu.Lock()
	cmd, exited, logf := s.cmd, s.exited, s.log
	s.cmd, s.exited, s.log = nil, nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	defer logf.Close()
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
		return nil
	case <-time.After(wait):
	}
	_ = cmd.Process.Kill()
	<-exited
	return fmt.Errorf("redistest: redis-server did not exit on %v within %v; killed", sig, wait)
}

// Restart stops a running server (SIGTERM) and starts it again on the same
// port with the same data directory. After Kill it just starts it.
func (s *Server) Restart() error {
	if err := s.signal(syscall.SIGTERM, 10*time.Second); err != nil {
		return err
	}
	return s.start()
}

func (s *Server) cleanDir() {
	if s.tempDir {
		_ = os.RemoveAll(s.cfg.Dir)
		s.tempDir = false
	}
}

// FlushScripts empties the server's script cache (SCRIPT FLUSH), as a
// restart without persistence would.
func (s *Server) FlushScripts(ctx context.Context) error {
	c := redis.NewClient(s.Options())
	defer c.Close()
	return c.ScriptFlush(ctx).Err()
}
