package apiserver

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// subProxy is nodes/{name}/proxy[/{path}]: GET requests passed to the
// node's agent, as kube-apiserver passes them to the kubelet
// (GET /api/v1/nodes/NAME/proxy/stats/summary).
const subProxy = "proxy"

// serveNodeAgentProxy answers nodes/{name}/proxy/{path}. The target is
// always the node's own agent endpoint (InternalIP and
// status.daemonEndpoints.kubeletEndpoint.Port): the name selects a node,
// never a host or port, so the server is no open proxy. Only plain GETs
// pass (routing refuses other methods); connection upgrades are refused,
// since exec has its own subresource, pods/exec.
func (s *Server) serveNodeAgentProxy(w http.ResponseWriter, r *http.Request, ri *requestInfo) {
	target, err := s.nodeAgentURL(r, ri)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.proxyToAgent(w, r, target, fmt.Sprintf("node %q", ri.name))
}

// nodeAgentURL resolves the agent URL a nodes/proxy request goes to.
func (s *Server) nodeAgentURL(r *http.Request, ri *requestInfo) (*url.URL, error) {
	if strings.Contains(ri.name, ":") {
		// kube accepts NAME:PORT and SCHEME:NAME:PORT here.
		return nil, apierrors.NewBadRequest(fmt.Sprintf(
			"nodes/proxy reaches only the node's agent endpoint: %q names a port or scheme; use the node's name alone", ri.name))
	}
	if r.Header.Get("Upgrade") != "" {
		return nil, apierrors.NewBadRequest("nodes/proxy does not pass connection upgrades; use pods/exec to run commands in containers")
	}
	rawPath, err := proxiedPath(r.URL.EscapedPath(), ri.name)
	if err != nil {
		return nil, err
	}
	path, err := url.PathUnescape(rawPath)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("nodes/proxy: path %q is not properly escaped: %v", rawPath, err))
	}
	obj, _, err := s.getObject(r.Context(), s.resources["nodes"], "", ri.name)
	if err != nil {
		return nil, err
	}
	host, err := agentEndpoint(obj.(*corev1.Node))
	if err != nil {
		return nil, err
	}
	u := &url.URL{Scheme: s.cfg.NodeProxy.Scheme, Host: host, Path: path}
	if rawPath != path {
		u.RawPath = rawPath
	}
	return u, nil
}

// proxiedPath is the part of an escaped request path after
// .../nodes/{name}/proxy, as the agent is to see it: always starting with
// "/", a trailing "/" kept.
func proxiedPath(escaped, name string) (string, error) {
	segs := splitPath(escaped)
	for i := 0; i+2 < len(segs); i++ {
		if segs[i] == "nodes" && segs[i+1] == url.PathEscape(name) && segs[i+2] == subProxy {
			rest := "/" + strings.Join(segs[i+3:], "/")
			if len(segs) > i+3 && strings.HasSuffix(escaped, "/") {
				rest += "/"
			}
			return rest, nil
		}
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("nodes/proxy: cannot find the proxied path in %q", escaped))
}
