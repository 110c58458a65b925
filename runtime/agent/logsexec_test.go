package agent_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
)

const kubectl = "/usr/bin/kubectl"

// counterScript prints "line N" every 100ms.
const counterScript = `i=0; while true; do echo "line $i"; i=$((i+1)); sleep 0.1; done`

func TestLogsFollow(t *testing.T) {
	c := newCluster(t)
	n := newNode(t, c)
	ctx := testCtx(t, 2*time.Minute)
	createPod(t, c, n.pod("counter", c.busybox("main", counterScript)))
	waitPod(t, ctx, c, "default", "counter", "Running", running)

	t.Run("agent API", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, n.url(t)+"/containerLogs/default/counter/main?follow=true", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(res.Body)
			t.Fatalf("%s: %s", res.Status, b)
		}
		lines, err := readLines(res.Body, 15) // more than printed before the request: following works
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range lines {
			if l != fmt.Sprintf("line %d", i) {
				t.Fatalf("line %d = %q", i, l)
			}
		}
	})
	t.Run("agent API tail and timestamps", func(t *testing.T) {
		res, err := http.Get(n.url(t) + "/containerLogs/default/counter/main?tailLines=2&timestamps=true")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(lines) != 2 {
			t.Fatalf("tailLines=2 gave %q", b)
		}
		for _, l := range lines {
			ts, rest, _ := strings.Cut(l, " ")
			if _, err := time.Parse(time.RFC3339Nano, ts); err != nil || !strings.HasPrefix(rest, "line ") {
				t.Fatalf("timestamped line %q", l)
			}
		}
	})
	t.Run("API server pods/log", func(t *testing.T) {
		rc, err := c.client().CoreV1().Pods("default").GetLogs("counter", &v1.PodLogOptions{Follow: true}).Stream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if _, err := readLines(rc, 15); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("kubectl logs -f", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		cmd := exec.CommandContext(cctx, kubectl, "-s", c.api.URL, "logs", "-f", "counter")
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines, err := readLines(out, 15)
		cancel() // kills the kubectl this test started
		_ = cmd.Wait()
		if err != nil {
			t.Fatalf("%v; kubectl stderr: %s", err, stderr.String())
		}
		if lines[0] != "line 0" {
			t.Fatalf("first line %q", lines[0])
		}
	})
	t.Run("errors", func(t *testing.T) {
		for path, want := range map[string]int{
			"/containerLogs/default/nosuch/main":                                                http.StatusNotFound,
			"/containerLogs/default/counter/other":                                              http.StatusNotFound,
			"/containerLogs/default/counter/main?tailLines=x":                                   http.StatusBadRequest,
			"/containerLogs/default/counter/main?previous=true":                                 http.StatusBadRequest,
			"/containerLogs/default/counter/main?sinceSeconds=1&sinceTime=2020-01-01T00:00:00Z": http.StatusBadRequest,
		} {
			res, err := http.Get(n.url(t) + path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != want || !strings.Contains(string(b), `"kind":"Status"`) {
				t.Errorf("%s: %s %s, want %d and a Status", path, res.Status, b, want)
			}
		}
	})
}

// TestLogsFollowEndsWithContainer: following the log of a container that
// exits returns once its output is complete.
func TestLogsFollowEndsWithContainer(t *testing.T) {
	c := newCluster(t)
	n := newNode(t, c)
	ctx := testCtx(t, 2*time.Minute)
	pod := n.pod("short", c.busybox("main", "echo one; sleep 1; echo two; sleep 1; echo three"))
	pod.Spec.RestartPolicy = v1.RestartPolicyNever
	createPod(t, c, pod)
	waitPod(t, ctx, c, "default", "short", "Running", running)
	res, err := http.Get(n.url(t) + "/containerLogs/default/short/main?follow=true")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body) // returns: the stream ends with the container
	res.Body.Close()
	if err != nil || string(b) != "one\ntwo\nthree\n" {
		t.Fatalf("followed log %q, %v", b, err)
	}
}

func execURL(base, ns, pod, container string, command ...string) string {
	q := url.Values{"stdout": {"true"}, "stderr": {"true"}, "command": command}
	if container != "" {
		q.Set("container", container)
	}
	return base + "?" + q.Encode()
}

// runExec runs a command through a WebSocket remote command executor.
func runExec(ctx context.Context, cfg *rest.Config, u string, stdin io.Reader) (stdout, stderr string, code int, err error) {
	ex, err := remotecommand.NewWebSocketExecutor(cfg, "GET", u)
	if err != nil {
		return "", "", -1, err
	}
	var out, errOut bytes.Buffer
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: &out, Stderr: &errOut})
	code = 0
	var ce utilexec.CodeExitError
	if errors.As(err, &ce) {
		code, err = ce.Code, nil
	}
	return out.String(), errOut.String(), code, err
}

func TestExec(t *testing.T) {
	c := newCluster(t)
	n := newNode(t, c)
	ctx := testCtx(t, 2*time.Minute)
	createPod(t, c, n.pod("shell", c.busybox("main", "exec sleep 3600")))
	waitPod(t, ctx, c, "default", "shell", "Running", running)

	agentCfg := &rest.Config{Host: n.url(t)}
	base := n.url(t) + "/exec/default/shell/main"
	t.Run("agent API exit code", func(t *testing.T) {
		out, errOut, code, err := runExec(ctx, agentCfg, execURL(base, "", "", "", "sh", "-c", "echo out; echo err >&2; exit 3"), nil)
		if err != nil || code != 3 || out != "out\n" || errOut != "err\n" {
			t.Fatalf("exec: out %q err %q code %d: %v", out, errOut, code, err)
		}
	})
	t.Run("agent API stdin", func(t *testing.T) {
		u := execURL(base, "", "", "", "sh", "-c", "tr a-z A-Z") + "&stdin=true"
		out, _, code, err := runExec(ctx, agentCfg, u, strings.NewReader("hello\n"))
		if err != nil || code != 0 || out != "HELLO\n" {
			t.Fatalf("exec with stdin: %q code %d: %v", out, code, err)
		}
	})
	t.Run("API server pods/exec", func(t *testing.T) {
		u := execURL(c.api.URL+"/api/v1/namespaces/default/pods/shell/exec", "", "", "main", "hostname")
		out, _, code, err := runExec(ctx, c.api.Config, u, nil)
		if err != nil || code != 0 || out != "shell\n" {
			t.Fatalf("exec via the API server: %q code %d: %v", out, code, err)
		}
	})
	t.Run("kubectl exec", func(t *testing.T) {
		cmd := exec.CommandContext(ctx, kubectl, "-s", c.api.URL, "exec", "shell", "--", "sh", "-c", "echo via-kubectl; exit 7")
		out, err := cmd.Output()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 7 || string(out) != "via-kubectl\n" {
			t.Fatalf("kubectl exec: %q, %v (stderr %s)", out, err, stderrOf(err))
		}
	})
	t.Run("errors", func(t *testing.T) {
		_, _, _, err := runExec(ctx, agentCfg, execURL(n.url(t)+"/exec/default/nosuch/main", "", "", "", "true"), nil)
		if err == nil {
			t.Fatal("exec into a missing pod succeeded")
		}
		// A command that does not exist: the runtime's error, not a hang.
		_, _, code, err := runExec(ctx, agentCfg, execURL(base, "", "", "", "no-such-binary"), nil)
		if err == nil && code == 0 {
			t.Fatal("exec of a missing binary succeeded")
		}
	})
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}
