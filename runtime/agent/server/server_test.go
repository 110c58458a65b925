package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/tug-sh/tug/runtime/logs"
)

// backend serves one container, "ns/pod/c", whose log is a real CRI log
// written with runtime/logs and whose exec runs in-process commands.
type backend struct {
	dir  string
	done chan struct{}
}

func (b *backend) ContainerLog(ns, pod, c string) (LogSource, error) {
	switch {
	case ns+"/"+pod != "ns/pod":
		return LogSource{}, fmt.Errorf("pod %q does not exist: %w", ns+"/"+pod, ErrNotFound)
	case c == "waiting":
		return LogSource{}, fmt.Errorf("container %q is waiting to start: ContainerCreating: %w", c, ErrBadRequest)
	case c != "c":
		return LogSource{}, fmt.Errorf("container %q does not exist: %w", c, ErrNotFound)
	}
	return LogSource{Dir: b.dir, Done: b.done}, nil
}

// Exec understands "upper" (stdin to stdout in capitals), "fail N"
// (exit N, writing to stderr) and "size" (prints the first terminal size).
func (b *backend) Exec(ctx context.Context, ns, pod, c string, req ExecRequest) (int, error) {
	if ns+"/"+pod != "ns/pod" {
		return -1, fmt.Errorf("pod %q does not exist: %w", ns+"/"+pod, ErrNotFound)
	}
	switch req.Command[0] {
	case "upper":
		data, err := io.ReadAll(req.Stdin)
		if err != nil {
			return -1, err
		}
		_, _ = req.Stdout.Write(bytes.ToUpper(data))
		return 0, nil
	case "fail":
		fmt.Fprintln(req.Stderr, "failing")
		var code int
		fmt.Sscan(req.Command[1], &code)
		return code, nil
	case "size":
		s := <-req.Resize
		fmt.Fprintf(req.Stdout, "%dx%d", s.Width, s.Height)
		return 0, nil
	}
	return -1, errors.New("unknown command")
}

func (b *backend) Summary(context.Context) (*statsapi.Summary, error) {
	n := uint64(42)
	return &statsapi.Summary{Node: statsapi.NodeStats{NodeName: "n1", CPU: &statsapi.CPUStats{UsageNanoCores: &n}}}, nil
}

func (b *backend) Healthy() error { return nil }

func newServer(t *testing.T) (*httptest.Server, *backend, *logs.Writer) {
	t.Helper()
	b := &backend{dir: t.TempDir(), done: make(chan struct{})}
	w, err := logs.NewWriter(logs.InstancePath(b.dir, 0), logs.Rotation{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	srv := httptest.NewServer(Handler(b, nil))
	t.Cleanup(srv.Close)
	return srv, b, w
}

func TestLogQuery(t *testing.T) {
	for _, tc := range []struct {
		q       string
		wantErr bool
		check   func(logs.ReadOptions) bool
	}{
		{"", false, func(o logs.ReadOptions) bool { return !o.Follow && o.TailLines == nil }},
		{"follow=true&timestamps=1&previous=false", false, func(o logs.ReadOptions) bool { return o.Follow && o.Timestamps && !o.Previous }},
		{"tailLines=0", false, func(o logs.ReadOptions) bool { return o.TailLines != nil && *o.TailLines == 0 }},
		{"limitBytes=10&sinceSeconds=5", false, func(o logs.ReadOptions) bool { return o.LimitBytes == 10 && o.SinceSeconds == 5 }},
		{"sinceTime=2025-11-25T18:00:00Z", false, func(o logs.ReadOptions) bool { return o.SinceTime.Year() == 2025 }},
		{"tailLines=-1", true, nil},
		{"limitBytes=0", true, nil},
		{"follow=maybe", true, nil},
		{"sinceTime=yesterday", true, nil},
		{"sinceSeconds=5&sinceTime=2025-11-25T18:00:00Z", true, nil},
	} {
		q, _ := url.ParseQuery(tc.q)
		o, err := logQuery(q)
		if (err != nil) != tc.wantErr || (err == nil && !tc.check(o)) {
			t.Errorf("%q: %+v, %v", tc.q, o, err)
		}
	}
}

func TestServeLogs(t *testing.T) {
	srv, b, w := newServer(t)
	for i := range 3 {
		if err := w.WriteEntry(logs.Stdout, false, []byte(fmt.Sprintf("line %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	get := func(path string) (int, string) {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	if code, body := get("/containerLogs/ns/pod/c?tailLines=2"); code != 200 || body != "line 1\nline 2\n" {
		t.Fatalf("tail: %d %q", code, body)
	}
	for path, want := range map[string]int{
		"/containerLogs/ns/other/c":            404,
		"/containerLogs/ns/pod/x":              404,
		"/containerLogs/ns/pod/waiting":        400,
		"/containerLogs/ns/pod/c?previous=1":   400,
		"/containerLogs/ns/pod/c?tailLines=no": 400,
	} {
		code, body := get(path)
		var st metav1.Status
		if code != want || json.Unmarshal([]byte(body), &st) != nil || st.Kind != "Status" || int(st.Code) != want || st.Message == "" {
			t.Errorf("%s: %d %s, want %d and a Status", path, code, body, want)
		}
		if strings.Contains(st.Message, ": not found") || strings.Contains(st.Message, ": bad request") {
			t.Errorf("%s: message %q carries the sentinel", path, st.Message)
		}
	}

	// Follow: new lines arrive; closing Done ends the stream.
	res, err := http.Get(srv.URL + "/containerLogs/ns/pod/c?follow=true")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	buf := make([]byte, 64)
	var got strings.Builder
	for !strings.Contains(got.String(), "line 2\n") {
		n, err := res.Body.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteEntry(logs.Stderr, false, []byte("late")); err != nil {
		t.Fatal(err)
	}
	close(b.done)
	rest, err := io.ReadAll(res.Body)
	if err != nil || got.String()+string(rest) != "line 0\nline 1\nline 2\nlate\n" {
		t.Fatalf("followed %q + %q, %v", got.String(), rest, err)
	}
}

func execURL(base string, q url.Values) string { return base + "/exec/ns/pod/c?" + q.Encode() }

func TestExecWebSocketV5(t *testing.T) {
	srv, _, _ := newServer(t)
	ctx := context.Background()
	run := func(q url.Values, opts remotecommand.StreamOptions) error {
		ex, err := remotecommand.NewWebSocketExecutor(&rest.Config{Host: srv.URL}, "GET", execURL(srv.URL, q))
		if err != nil {
			t.Fatal(err)
		}
		return ex.StreamWithContext(ctx, opts)
	}
	var out bytes.Buffer
	err := run(url.Values{"command": {"upper"}, "stdin": {"true"}, "stdout": {"true"}}, remotecommand.StreamOptions{Stdin: strings.NewReader("hello"), Stdout: &out})
	if err != nil || out.String() != "HELLO" {
		t.Fatalf("stdin round trip: %q, %v", out.String(), err)
	}
	var stderr bytes.Buffer
	err = run(url.Values{"command": {"fail", "3"}, "stdout": {"true"}, "stderr": {"true"}}, remotecommand.StreamOptions{Stdout: io.Discard, Stderr: &stderr})
	var ce utilexec.CodeExitError
	if !errors.As(err, &ce) || ce.Code != 3 || stderr.String() != "failing\n" {
		t.Fatalf("exit code: %v (stderr %q)", err, stderr.String())
	}
	out.Reset()
	sizes := &fixedSize{}
	stdin := &blockingReader{closed: make(chan struct{})}
	defer close(stdin.closed)
	err = run(url.Values{"command": {"size"}, "stdin": {"true"}, "stdout": {"true"}, "tty": {"true"}},
		remotecommand.StreamOptions{Stdin: stdin, Stdout: &out, Tty: true, TerminalSizeQueue: sizes})
	if err != nil || out.String() != "80x24" {
		t.Fatalf("terminal size: %q, %v", out.String(), err)
	}
	err = run(url.Values{"command": {"true"}, "stdout": {"true"}}, remotecommand.StreamOptions{Stdout: io.Discard})
	if err == nil {
		t.Fatal("an unknown command succeeded")
	}
}

// fixedSize gives one terminal size; nil then ends the executor's resize
// loop.
type fixedSize struct{ once sync.Once }

func (f *fixedSize) Next() *remotecommand.TerminalSize {
	var s *remotecommand.TerminalSize
	f.once.Do(func() { s = &remotecommand.TerminalSize{Width: 80, Height: 24} })
	return s
}

// blockingReader is a terminal's stdin with no input, until closed.
type blockingReader struct{ closed chan struct{} }

func (b *blockingReader) Read([]byte) (int, error) {
	<-b.closed
	return 0, io.EOF
}

// TestExecWebSocketV4 speaks the older protocol by hand: no close signal,
// and the status on channel 3.
func TestExecWebSocketV4(t *testing.T) {
	srv, _, _ := newServer(t)
	u := "ws" + strings.TrimPrefix(execURL(srv.URL, url.Values{"command": {"fail", "7"}, "stderr": {"true"}}), "http")
	d := websocket.Dialer{Subprotocols: []string{"v4.channel.k8s.io"}}
	conn, res, err := d.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if res.Header.Get("Sec-Websocket-Protocol") != "v4.channel.k8s.io" {
		t.Fatalf("protocol %q", res.Header.Get("Sec-Websocket-Protocol"))
	}
	var stderr string
	var status metav1.Status
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			break
		}
		switch data[0] {
		case chanStderr:
			stderr += string(data[1:])
		case chanError:
			if len(data) > 1 {
				if err := json.Unmarshal(data[1:], &status); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if stderr != "failing\n" || status.Status != metav1.StatusFailure || status.Reason != "NonZeroExitCode" ||
		status.Details == nil || len(status.Details.Causes) != 1 || status.Details.Causes[0].Type != "ExitCode" || status.Details.Causes[0].Message != "7" {
		t.Fatalf("stderr %q status %+v", stderr, status)
	}
}

func TestExecRefusals(t *testing.T) {
	srv, _, _ := newServer(t)
	for _, tc := range []struct {
		name  string
		q     url.Values
		proto []string
	}{
		{"no command", url.Values{"stdout": {"true"}}, []string{"v5.channel.k8s.io"}},
		{"no stream", url.Values{"command": {"x"}}, []string{"v5.channel.k8s.io"}},
		{"old protocol only", url.Values{"command": {"x"}, "stdout": {"true"}}, []string{"channel.k8s.io"}},
	} {
		u := "ws" + strings.TrimPrefix(execURL(srv.URL, tc.q), "http")
		_, res, err := (&websocket.Dialer{Subprotocols: tc.proto}).Dial(u, nil)
		if err == nil || res == nil || res.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %v %v, want 400", tc.name, res, err)
		}
	}
	// Without an upgrade (SPDY clients): a clear refusal.
	res, err := http.Post(execURL(srv.URL, url.Values{"command": {"x"}, "stdout": {"true"}}), "", nil)
	if err != nil || res.StatusCode != http.StatusBadRequest {
		t.Fatalf("plain POST: %v %v", res, err)
	}
	res.Body.Close()
}

func TestSummaryAndHealthz(t *testing.T) {
	srv, _, _ := newServer(t)
	res, err := http.Get(srv.URL + "/stats/summary")
	if err != nil {
		t.Fatal(err)
	}
	var s statsapi.Summary
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil || s.Node.NodeName != "n1" || *s.Node.CPU.UsageNanoCores != 42 {
		t.Fatalf("summary %+v %v", s, err)
	}
	res.Body.Close()
	res, err = http.Get(srv.URL + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz %v %v", res, err)
	}
	res.Body.Close()

}
