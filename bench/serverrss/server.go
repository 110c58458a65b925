package serverrss

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ServerConfig says which binary to run and where.
type ServerConfig struct {
	// Binary is the tug executable (required).
	Binary string
	// DataDir is the server's --data-dir (required; the caller removes it).
	DataDir string
	// StartTimeout bounds the wait for the server to be ready (default 60s).
	StartTimeout time.Duration
	// Logger receives the server's own log lines at debug level (default:
	// discarded).
	Logger *slog.Logger
}

// Server is a running `tug server` child process.
type Server struct {
	// URL is the API server's base URL.
	URL string
	// PID is the child's process id.
	PID int

	cmd    *exec.Cmd
	exited chan struct{}
	err    error // set before exited closes

	mu   sync.Mutex
	tail []string // the last lines it logged, for error messages
}

// listeningRE finds the URL in `tug server`'s "API server listening" line.
var listeningRE = regexp.MustCompile(`msg="API server listening".* url=(http://[^ ]+)`)

// StartServer runs `tug server --listen 127.0.0.1:0` and returns once its
// /readyz answers 200. The child is killed if this process dies first.
func StartServer(ctx context.Context, cfg ServerConfig) (*Server, error) {
	if cfg.Binary == "" || cfg.DataDir == "" {
		return nil, errors.New("serverrss: StartServer needs a binary and a data directory")
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 60 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cmd := exec.Command(cfg.Binary, "server", "--listen", "127.0.0.1:0", "--data-dir", cfg.DataDir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("serverrss: starting %s server: %w", cfg.Binary, err)
	}
	s := &Server{PID: cmd.Process.Pid, cmd: cmd, exited: make(chan struct{})}
	urlc := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.remember(line)
			cfg.Logger.Debug(line)
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case urlc <- m[1]:
				default:
				}
			}
		}
	}()
	go func() {
		<-scanned // Wait must not close the pipe while it is being read
		s.err = cmd.Wait()
		close(s.exited)
	}()

	fail := func(err error) (*Server, error) {
		s.Stop(context.Background())
		return nil, fmt.Errorf("%w; its last log lines:\n%s", err, s.lastLines())
	}
	deadline := time.NewTimer(cfg.StartTimeout)
	defer deadline.Stop()
	select {
	case s.URL = <-urlc:
	case <-s.exited:
		return fail(fmt.Errorf("serverrss: tug server exited while starting: %v", s.err))
	case <-deadline.C:
		return fail(fmt.Errorf("serverrss: tug server did not log its listening address within %s", cfg.StartTimeout))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	for {
		if ready(ctx, s.URL) {
			return s, nil
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-s.exited:
			return fail(fmt.Errorf("serverrss: tug server exited while starting: %v", s.err))
		case <-deadline.C:
			return fail(fmt.Errorf("serverrss: %s/readyz not ready within %s", s.URL, cfg.StartTimeout))
		case <-ctx.Done():
			return fail(ctx.Err())
		}
	}
}

func ready(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/readyz", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Memory reads the server's memory from /proc and its Go heap from
// /metrics.
func (s *Server) Memory(ctx context.Context) (Memory, error) {
	m, err := ReadMemory(s.PID)
	if err != nil {
		return m, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/metrics", nil)
	if err != nil {
		return m, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return m, fmt.Errorf("serverrss: reading %s/metrics: %w", s.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return m, fmt.Errorf("serverrss: reading %s/metrics: %w", s.URL, err)
	}
	if v, ok := metricValue(body, "go_memstats_heap_inuse_bytes"); ok {
		m.GoHeap = int64(v)
	}
	return m, nil
}

// Exited reports whether the server has stopped, and why.
func (s *Server) Exited() (bool, error) {
	select {
	case <-s.exited:
		return true, s.err
	default:
		return false, nil
	}
}

// Stop sends the server SIGTERM and waits for it to exit, killing it after
// 20 seconds (or at once when ctx ends). It returns the exit error of a
// server that did not stop cleanly on SIGTERM.
func (s *Server) Stop(ctx context.Context) error {
	select {
	case <-s.exited:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(20 * time.Second)
	defer timer.Stop()
	select {
	case <-s.exited:
		return s.err
	case <-timer.C:
	case <-ctx.Done():
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	return fmt.Errorf("serverrss: tug server (pid %d) did not stop on SIGTERM within 20s; killed", s.PID)
}

func (s *Server) remember(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tail = append(s.tail, line)
	if len(s.tail) > 30 {
		s.tail = s.tail[len(s.tail)-30:]
	}
}

func (s *Server) lastLines() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.tail, "\n")
}

// BuildTug builds ./cmd/tug of the module at root into dir and returns the
// binary's path. It uses the go command on PATH, with cgo and the seccomp
// tag as the Makefile does.
func BuildTug(ctx context.Context, root, dir string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		if _, statErr := os.Stat("/usr/local/go/bin/go"); statErr != nil {
			return "", fmt.Errorf("serverrss: no go command to build tug (put it on PATH or set TUG_BENCH_BINARY): %w", err)
		}
		goBin = "/usr/local/go/bin/go"
	}
	out := dir + "/tug"
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, "./cmd/tug")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOFLAGS=-tags=seccomp")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("serverrss: building ./cmd/tug in %s: %w\n%s", root, err, b)
	}
	return out, nil
}
