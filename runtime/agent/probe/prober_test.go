package probe

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func hostPort(t *testing.T, u string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(strings.TrimPrefix(u, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return h, n
}

func TestHTTPCheck(t *testing.T) {
	var gotUA, gotHeader, gotHost string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUA, gotHeader, gotHost = r.UserAgent(), r.Header.Get("X-Probe"), r.Host
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusOK)
		case "/moved":
			http.Redirect(w, r, "http://elsewhere.example/", http.StatusFound)
		case "/slow":
			time.Sleep(1500 * time.Millisecond)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	ip, port := hostPort(t, srv.URL)
	target := Target{PodIP: ip, Ports: []v1.ContainerPort{{Name: "web", ContainerPort: int32(port)}}}
	p := &Prober{}
	get := func(path string, port intstr.IntOrString, headers ...v1.HTTPHeader) Outcome {
		return p.Check(context.Background(), &v1.Probe{ProbeHandler: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: path, Port: port, HTTPHeaders: headers}}}, target)
	}
	if o := get("/ok", intstr.FromInt32(int32(port)), v1.HTTPHeader{Name: "X-Probe", Value: "yes"}, v1.HTTPHeader{Name: "Host", Value: "svc.local"}); o.Result != Success {
		t.Fatalf("/ok: %v", o)
	}
	if gotUA != "kube-probe/1.32" || gotHeader != "yes" || gotHost != "svc.local" {
		t.Errorf("request: user agent %q, header %q, host %q", gotUA, gotHeader, gotHost)
	}
	if o := get("/ok", intstr.FromString("web")); o.Result != Success {
		t.Fatalf("named port: %v", o)
	}
	if o := get("/fail", intstr.FromString("web")); o.Result != Failure || o.Output != "HTTP probe failed with statuscode: 500" {
		t.Fatalf("/fail: %v", o)
	}
	if o := get("/moved", intstr.FromString("web")); o.Result != Success || o.Warning == "" {
		t.Fatalf("redirect elsewhere: %v, want success with a warning", o)
	}
	if o := get("/slow", intstr.FromString("web")); o.Result != Failure || !strings.Contains(o.Output, "deadline exceeded") && !strings.Contains(o.Output, "Timeout") {
		t.Fatalf("/slow with timeout 1s: %v", o)
	}
	if o := get("/ok", intstr.FromString("nosuch")); o.Result != Unknown {
		t.Fatalf("unknown port name: %v", o)
	}
}

func TestTCPCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	p := &Prober{}
	tcp := &v1.Probe{ProbeHandler: v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromInt32(int32(port))}}}
	if o := p.Check(context.Background(), tcp, Target{PodIP: "127.0.0.1"}); o.Result != Success {
		t.Fatalf("open port: %v", o)
	}
	ln.Close()
	if o := p.Check(context.Background(), tcp, Target{PodIP: "127.0.0.1"}); o.Result != Failure || !strings.Contains(o.Output, "refused") {
		t.Fatalf("closed port: %v", o)
	}
}

func TestExecCheck(t *testing.T) {
	var ran []string
	p := &Prober{Exec: func(ctx context.Context, id string, cmd []string) (int, []byte, error) {
		ran = append(ran, id+":"+strings.Join(cmd, " "))
		switch cmd[0] {
		case "true":
			return 0, nil, nil
		case "false":
			return 1, []byte("not healthy\n"), nil
		case "hang":
			<-ctx.Done()
			return -1, nil, ctx.Err()
		}
		return -1, nil, errors.New("no such command")
	}}
	check := func(cmd ...string) Outcome {
		return p.Check(context.Background(), &v1.Probe{ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{Command: cmd}}}, Target{ContainerID: "c1"})
	}
	if o := check("true"); o.Result != Success {
		t.Fatalf("true: %v", o)
	}
	if o := check("false"); o.Result != Failure || o.Output != "not healthy\n" {
		t.Fatalf("false: %v", o)
	}
	if o := check("hang"); o.Result != Failure || !strings.Contains(o.Output, "timed out") {
		t.Fatalf("hang: %v", o)
	}
	if o := check("nosuch"); o.Result != Unknown {
		t.Fatalf("exec error: %v", o)
	}
	if ran[0] != "c1:true" {
		t.Fatalf("ran %v", ran)
	}
}
