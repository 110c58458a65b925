package apiserver_test

import (
	"encoding/json"
	"net"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tug-sh/tug/control/apiserver/apitest"
)

// TestNodeProxy checks nodes/{name}/proxy/{path} against a stand-in agent:
// the path, its escaping and the query reach the node's own agent, the
// answer comes back as the agent gave it, and credentials for the API
// server stay behind.
func TestNodeProxy(t *testing.T) {
	env := apitest.Start(t)
	agent := env.StartStatsAgent(t, "node-1", apitest.Allocatable("2", "4Gi"), apitest.Usage{MilliCores: 500, MemoryBytes: 1 << 30})

	r := call(t, env, "GET", "/api/v1/nodes/node-1/proxy/stats/summary?only_cpu_and_memory=true", nil, "Authorization", "Bearer not-for-agents")
	var sum struct {
		Node struct {
			NodeName string `json:"nodeName"`
			CPU      struct {
				UsageCoreNanoSeconds uint64 `json:"usageCoreNanoSeconds"`
			} `json:"cpu"`
		} `json:"node"`
	}
	r.into(t, &sum)
	// The stand-in's first answer: 0.5 cores for one SampleStep.
	if r.code != 200 || sum.Node.NodeName != "node-1" || sum.Node.CPU.UsageCoreNanoSeconds != uint64(apitest.SampleStep.Seconds()*0.5e9) {
		t.Fatalf("GET nodes/node-1/proxy/stats/summary: %d %s", r.code, r.body)
	}
	reqs := agent.Requests()
	if len(reqs) != 1 {
		t.Fatalf("the agent got %d requests, want 1", len(reqs))
	}
	if got := reqs[0]; got.URL.Path != "/stats/summary" || got.URL.RawQuery != "only_cpu_and_memory=true" || got.Header.Get("Authorization") != "" {
		t.Errorf("the agent got %s %q with Authorization %q", got.URL.Path, got.URL.RawQuery, got.Header.Get("Authorization"))
	}

	// client-go's way to the subresource.
	raw, err := env.Client.CoreV1().RESTClient().Get().Resource("nodes").Name("node-1").SubResource("proxy").Suffix("stats/summary").DoRaw(ctx(t))
	if err != nil || !strings.Contains(string(raw), `"nodeName":"node-1"`) {
		t.Errorf("client-go nodes/proxy: %v %s", err, raw)
	}

	// Escaped segments and a trailing slash pass as they are; a bare
	// /proxy reaches the agent's root. The agent's own 404 comes back.
	for _, tt := range []struct{ path, wantEscaped, wantPath string }{
		{"/api/v1/nodes/node-1/proxy/logs/a%2Fb/", "/logs/a%2Fb/", "/logs/a/b/"},
		{"/api/v1/nodes/node-1/proxy", "/", "/"},
		{"/api/v1/nodes/node-1/proxy/", "/", "/"},
	} {
		before := len(agent.Requests())
		if r := call(t, env, "GET", tt.path, nil); r.code != 404 || !strings.Contains(string(r.body), "404 page not found") {
			t.Errorf("GET %s: %d %s, want the agent's 404", tt.path, r.code, r.body)
		}
		reqs := agent.Requests()
		if len(reqs) != before+1 {
			t.Errorf("GET %s did not reach the agent", tt.path)
			continue
		}
		if got := reqs[len(reqs)-1].URL; got.EscapedPath() != tt.wantEscaped || got.Path != tt.wantPath {
			t.Errorf("GET %s: the agent got %q (%q), want %q (%q)", tt.path, got.EscapedPath(), got.Path, tt.wantEscaped, tt.wantPath)
		}
	}
}

func TestNodeProxyErrors(t *testing.T) {
	env := apitest.Start(t)
	agent := env.StartStatsAgent(t, "node-1", apitest.Allocatable("2", "4Gi"), apitest.Usage{})
	registerNode(t, env, "bare", "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := ln.Addr().String()
	ln.Close()
	registerNode(t, env, "dead", deadAddr)
	tests := []struct {
		method, path string
		headers      []string
		code         int
		message      string
	}{
		{"POST", "/api/v1/nodes/node-1/proxy/stats/summary", nil, 405, `is not supported on resources of kind "nodes"`},
		{"DELETE", "/api/v1/nodes/node-1/proxy", nil, 405, `is not supported on resources of kind "nodes"`},
		{"GET", "/api/v1/watch/nodes/node-1/proxy", nil, 405, `is not supported on resources of kind "nodes"`},
		{"GET", "/api/v1/nodes/ghost/proxy/stats/summary", nil, 404, `nodes "ghost" not found`},
		{"GET", "/api/v1/nodes/bare/proxy/stats/summary", nil, 503, `node "bare" has no agent endpoint; is tug agent running there?`},
		{"GET", "/api/v1/nodes/dead/proxy/stats/summary", nil, 503, `error trying to reach the node agent of node "dead" at ` + deadAddr},
		{"GET", "/api/v1/nodes/node-1:22/proxy/", nil, 400, `nodes/proxy reaches only the node's agent endpoint: "node-1:22" names a port or scheme`},
		{"GET", "/api/v1/nodes/node-1/proxy/exec/default/p/c", []string{"Connection", "Upgrade", "Upgrade", "websocket"}, 400, `nodes/proxy does not pass connection upgrades; use pods/exec`},
		// Only nodes have a proxy, and only proxy paths go deeper.
		{"GET", "/api/v1/namespaces/default/pods/p/proxy/x", nil, 404, `the server could not find the requested resource`},
		{"GET", "/api/v1/nodes/node-1/status/x", nil, 404, `the server could not find the requested resource`},
	}
	for _, tt := range tests {
		r := call(t, env, tt.method, tt.path, nil, tt.headers...)
		if st := r.status(t); r.code != tt.code || !strings.Contains(st.Message, tt.message) {
			t.Errorf("%s %s: %d %q, want %d %q", tt.method, tt.path, r.code, st.Message, tt.code, tt.message)
		}
	}
	if n := len(agent.Requests()); n != 0 {
		t.Errorf("refused requests reached the agent %d times", n)
	}

	var list metav1.APIResourceList
	call(t, env, "GET", "/api/v1", nil).into(t, &list)
	found := false
	for _, r := range list.APIResources {
		if r.Name == "nodes/proxy" {
			found = true
			if r.Kind != "NodeProxyOptions" || r.Namespaced || strings.Join(r.Verbs, ",") != "get" {
				t.Errorf("discovery of nodes/proxy: %+v", r)
			}
		}
	}
	if !found {
		t.Error("discovery lacks nodes/proxy")
	}
}

// TestKubectlNodeProxy reads a node's summary through the real kubectl.
func TestKubectlNodeProxy(t *testing.T) {
	env := apitest.Start(t)
	k := newKubectl(t, env)
	env.StartStatsAgent(t, "node-1", apitest.Allocatable("2", "4Gi"), apitest.Usage{MilliCores: 250, MemoryBytes: 64 << 20})
	out := k.ok("get", "--raw", "/api/v1/nodes/node-1/proxy/stats/summary")
	var sum struct {
		Node struct {
			NodeName string `json:"nodeName"`
			Memory   struct {
				WorkingSetBytes uint64 `json:"workingSetBytes"`
			} `json:"memory"`
		} `json:"node"`
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil || sum.Node.NodeName != "node-1" || sum.Node.Memory.WorkingSetBytes != 64<<20 {
		t.Errorf("kubectl get --raw nodes/node-1/proxy/stats/summary: %v\n%s", err, out)
	}
	k.fails(`Error from server \(NotFound\): nodes "ghost" not found`, "get", "--raw", "/api/v1/nodes/ghost/proxy/stats/summary")
}
