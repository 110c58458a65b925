package cli

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tug-sh/tug/control/client"
)

// TestRunExec runs commands through client-go's WebSocket executor against
// a pods/exec endpoint speaking v5.channel.k8s.io.
func TestRunExec(t *testing.T) {
	var gotPath string
	var gotQuery map[string][]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotQuery = r.URL.Path, r.URL.Query()
		serveExec(t, w, r, testCommand)
	}))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		req        execRequest
		stdin      string
		wantOut    string
		wantErrOut string
		wantCode   int
	}{
		{"output", execRequest{command: []string{"echo", "hello", "tug"}}, "", "hello tug\n", "", 0},
		{"stdin", execRequest{command: []string{"cat"}, stdin: true}, "line 1\nline 2\n", "line 1\nline 2\n", "", 0},
		{"exit code", execRequest{command: []string{"fail", "3"}}, "", "", "failing on purpose\ncommand terminated with exit code 3\n", 3},
		{"tty without a terminal", execRequest{command: []string{"echo", "x"}, tty: true, stdin: true}, "", "x\n",
			"Unable to use a TTY - input is not a terminal or the right kind of file\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			e := &env{Streams: Streams{In: strings.NewReader(tt.stdin), Out: &out, ErrOut: &errOut}}
			req := tt.req
			req.namespace, req.pod, req.container = "default", "p", "c"
			err := runExec(context.Background(), e, c, req)
			if code := report(&errOut, err); code != tt.wantCode {
				t.Errorf("exit code %d, want %d (err %v)", code, tt.wantCode, err)
			}
			if out.String() != tt.wantOut || errOut.String() != tt.wantErrOut {
				t.Errorf("stdout %q stderr %q, want %q and %q", out.String(), errOut.String(), tt.wantOut, tt.wantErrOut)
			}
			if gotPath != "/api/v1/namespaces/default/pods/p/exec" {
				t.Errorf("path %q", gotPath)
			}
			if gotQuery["container"][0] != "c" || strings.Join(gotQuery["command"], " ") != strings.Join(tt.req.command, " ") {
				t.Errorf("query %v", gotQuery)
			}
		})
	}
}

func TestExecUnreachable(t *testing.T) {
	c, err := client.New("http://"+closedAddr(t), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var errOut bytes.Buffer
	e := &env{Streams: Streams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &errOut}}
	err = runExec(context.Background(), e, c, execRequest{namespace: "default", pod: "p", container: "c", command: []string{"true"}})
	if !client.IsUnreachable(err) {
		t.Fatalf("error = %v, want unreachable", err)
	}
}
