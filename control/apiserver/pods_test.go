package apiserver_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tug-sh/tug/control/apiserver/apitest"
)

func TestBinding(t *testing.T) {
	env := apitest.Start(t)
	pods := env.Client.CoreV1().Pods("default")
	for _, n := range []string{"p1", "p2", "p3"} {
		if _, err := pods.Create(ctx(t), testPod(n), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	bind(t, env, "default", "p1", "node-a")
	p, err := pods.Get(ctx(t), "p1", metav1.GetOptions{})
	if err != nil || p.Spec.NodeName != "node-a" {
		t.Fatalf("bound pod: %v %q", err, p.Spec.NodeName)
	}
	scheduled := false
	for _, c := range p.Status.Conditions {
		scheduled = scheduled || (c.Type == corev1.PodScheduled && c.Status == corev1.ConditionTrue)
	}
	if !scheduled {
		t.Errorf("no PodScheduled=True condition: %+v", p.Status.Conditions)
	}
	b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "p1"}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-b"}}
	err = pods.Bind(ctx(t), b, metav1.CreateOptions{})
	if !apierrors.IsConflict(err) || err.Error() != `Operation cannot be fulfilled on pods/binding "p1": pod p1 is already assigned to node "node-a"` {
		t.Errorf("second binding: %v", err)
	}
	// The older collection form.
	r := call(t, env, "POST", "/api/v1/namespaces/default/bindings", mustJSON(t, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: "p2"}, Target: corev1.ObjectReference{Name: "node-b"}}))
	if st := r.status(t); r.code != 201 || st.Status != metav1.StatusSuccess {
		t.Fatalf("POST bindings: %d %s", r.code, r.body)
	}
	if p, _ := pods.Get(ctx(t), "p2", metav1.GetOptions{}); p.Spec.NodeName != "node-b" {
		t.Errorf("p2 bound to %q", p.Spec.NodeName)
	}
	r = call(t, env, "POST", "/api/v1/namespaces/default/pods/p3/binding", mustJSON(t, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: "p2"}, Target: corev1.ObjectReference{Name: "node-b"}}))
	if r.code != 400 {
		t.Errorf("binding name mismatch: %d", r.code)
	}
	r = call(t, env, "POST", "/api/v1/namespaces/default/pods/p3/binding", mustJSON(t, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "p3"}}))
	if st := r.status(t); r.code != 422 || st.Details == nil || len(st.Details.Causes) == 0 || st.Details.Causes[0].Field != "target.name" {
		t.Errorf("binding without target: %d %s", r.code, r.body)
	}
	err = pods.Bind(ctx(t), &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "missing"}, Target: corev1.ObjectReference{Name: "n"}}, metav1.CreateOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("binding a missing pod: %v", err)
	}
}

// fakeAgent stands in for a node agent's kubelet API on loopback: it
// streams container logs line by line (each line only after the test
// releases it, to prove the API server flushes per chunk) and echoes on an
// exec WebSocket.
type fakeAgent struct {
	srv      *httptest.Server
	release  chan struct{}
	logQuery chan string
}

func startFakeAgent(t *testing.T) *fakeAgent {
	a := &fakeAgent{release: make(chan struct{}), logQuery: make(chan string, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("/containerLogs/default/web/nginx", func(w http.ResponseWriter, r *http.Request) {
		a.logQuery <- r.URL.RawQuery
		w.Header().Set("Content-Type", "text/plain")
		for i := 1; i <= 2; i++ {
			fmt.Fprintf(w, "line %d\n", i)
			w.(http.Flusher).Flush()
			if i == 1 {
				select {
				case <-a.release:
				case <-r.Context().Done():
					return
				}
			}
		}
	})
	up := websocket.Upgrader{Subprotocols: []string{"v5.channel.k8s.io"}}
	mux.HandleFunc("/exec/default/web/nginx", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			typ, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			// Channel 0 is stdin; answer on 1 (stdout) with the command.
			out := append([]byte{1}, []byte(r.URL.Query().Get("command")+":"+string(msg[1:]))...)
			if c.WriteMessage(typ, out) != nil {
				return
			}
		}
	})
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	return a
}

// registerNode creates a node whose agent listens at hostport.
func registerNode(t *testing.T, env *apitest.Env, name, hostport string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(hostport)
	p, _ := strconv.Atoi(port)
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	node, err := env.Client.CoreV1().Nodes().Create(ctx(t), node, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if hostport == "" {
		return
	}
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "ignored"}, {Type: corev1.NodeInternalIP, Address: host}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(p)
	if _, err := env.Client.CoreV1().Nodes().UpdateStatus(ctx(t), node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestPodLogsAndExecProxy(t *testing.T) {
	env := apitest.Start(t)
	agent := startFakeAgent(t)
	registerNode(t, env, "node-1", strings.TrimPrefix(agent.srv.URL, "http://"))
	pod := testPod("web")
	pod.Spec.Containers[0].Name = "nginx"
	if _, err := env.Client.CoreV1().Pods("default").Create(ctx(t), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bind(t, env, "default", "web", "node-1")

	// Logs stream: the first line arrives before the agent writes the second.
	stream, err := env.Client.CoreV1().Pods("default").GetLogs("web", &corev1.PodLogOptions{Follow: true, TailLines: ptr[int64](5)}).Stream(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	rd := bufio.NewReader(stream)
	if line, err := rd.ReadString('\n'); err != nil || line != "line 1\n" {
		t.Fatalf("first log line: %q %v", line, err)
	}
	if q := <-agent.logQuery; !strings.Contains(q, "follow=true") || !strings.Contains(q, "tailLines=5") {
		t.Errorf("agent got query %q", q)
	}
	close(agent.release)
	if line, err := rd.ReadString('\n'); err != nil || line != "line 2\n" {
		t.Fatalf("second log line: %q %v", line, err)
	}

	// Exec: the WebSocket upgrade passes through.
	wsURL := "ws" + strings.TrimPrefix(env.URL, "http") + "/api/v1/namespaces/default/pods/web/exec?command=echo&stdin=true&stdout=true"
	d := websocket.Dialer{Subprotocols: []string{"v5.channel.k8s.io"}}
	c, resp, err := d.Dial(wsURL, nil)
	if err != nil {
		t.Fatalf("exec websocket: %v (%v)", err, resp)
	}
	defer c.Close()
	if c.Subprotocol() != "v5.channel.k8s.io" {
		t.Errorf("subprotocol %q", c.Subprotocol())
	}
	if err := c.WriteMessage(websocket.BinaryMessage, append([]byte{0}, "hello"...)); err != nil {
		t.Fatal(err)
	}
	_, msg, err := c.ReadMessage()
	if err != nil || string(msg) != "\x01echo:hello" {
		t.Fatalf("exec echo: %q %v", msg, err)
	}
}

func TestPodProxyErrors(t *testing.T) {
	env := apitest.Start(t)
	pods := env.Client.CoreV1().Pods("default")
	two := testPod("two")
	two.Spec.Containers = append(two.Spec.Containers, corev1.Container{Name: "d", Image: "busybox"})
	for _, p := range []*corev1.Pod{testPod("pending"), testPod("nowhere"), testPod("down"), two} {
		if _, err := pods.Create(ctx(t), p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	registerNode(t, env, "bare", "")
	bind(t, env, "default", "nowhere", "bare")
	// A node whose agent is not listening: a port nobody serves.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := ln.Addr().String()
	ln.Close()
	registerNode(t, env, "dead", deadAddr)
	bind(t, env, "default", "down", "dead")
	tests := []struct {
		path    string
		code    int
		message string
	}{
		{"/api/v1/namespaces/default/pods/pending/log", 400, `pod "pending" is not running on a node yet`},
		{"/api/v1/namespaces/default/pods/nowhere/log", 503, `node "bare" has no agent endpoint; is tug agent running there?`},
		{"/api/v1/namespaces/default/pods/down/log", 503, "error trying to reach the node agent"},
		{"/api/v1/namespaces/default/pods/two/log", 400, "a container name must be specified for pod two, choose one of: [c d]"},
		{"/api/v1/namespaces/default/pods/pending/log?container=x", 400, "container x is not valid for pod pending"},
		{"/api/v1/namespaces/default/pods/missing/log", 404, `pods "missing" not found`},
	}
	for _, tt := range tests {
		r := call(t, env, "GET", tt.path, nil)
		if st := r.status(t); r.code != tt.code || !strings.Contains(st.Message, tt.message) {
			t.Errorf("GET %s: %d %q, want %d %q", tt.path, r.code, st.Message, tt.code, tt.message)
		}
	}
}

func TestKubectlLogs(t *testing.T) {
	env := apitest.Start(t)
	k := newKubectl(t, env)
	agent := startFakeAgent(t)
	close(agent.release)
	registerNode(t, env, "node-1", strings.TrimPrefix(agent.srv.URL, "http://"))
	pod := testPod("web")
	pod.Spec.Containers[0].Name = "nginx"
	if _, err := env.Client.CoreV1().Pods("default").Create(ctx(t), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bind(t, env, "default", "web", "node-1")
	if out := k.ok("logs", "web", "--tail=3"); out != "line 1\nline 2\n" {
		t.Errorf("kubectl logs: %q", out)
	}
	if q := <-agent.logQuery; !strings.Contains(q, "tailLines=3") {
		t.Errorf("agent query %q", q)
	}
	if _, err := env.Client.CoreV1().Pods("default").Create(ctx(t), testPod("loose"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	k.fails(`Error from server \(BadRequest\): pod "loose" is not running on a node yet`, "logs", "loose")
}
