package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// serverProc is a benchmark server in a child process: the bench binary
// re-executed with an environment variable that names the implementation to
// serve (each area's init checks for its own). The child prints its address
// on its first stdout line and serves until its stdin closes, so the server
// and the load generator never share a process, a heap or a scheduler.
type serverProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  string
}

// startServerProc starts the child with env added to ours, pinned to cpu
// with taskset when the machine has it, and waits for its address.
func startServerProc(name string, cpu int, env ...string) (*serverProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	if _, err := exec.LookPath("taskset"); err == nil {
		cmd = exec.Command("taskset", "-c", strconv.Itoa(cpu), exe)
	}
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = stdin.Close()
		_ = cmd.Wait()
		return nil, fmt.Errorf("server %s did not start: %w", name, err)
	}
	return &serverProc{cmd: cmd, stdin: stdin, addr: strings.TrimSpace(line)}, nil
}

// stop closes the child's stdin and waits for it, killing it after 10 s.
func (p *serverProc) stop() {
	_ = p.stdin.Close()
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// getJSON decodes the JSON answer to a GET of path on the child.
func (p *serverProc) getJSON(path string, v any) error {
	resp, err := http.Get("http://" + p.addr + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
