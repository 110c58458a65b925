package apiserver

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/tug-sh/tug/control/registry"
)

// serveNodeProxy answers pods/log and pods/exec by proxying to the node
// agent that runs the pod, at the kubelet API's paths
// (/containerLogs/{ns}/{pod}/{container} and /exec/{ns}/{pod}/{container},
// query passed on). Responses stream through, flushed per chunk, and
// connection upgrades (WebSocket, SPDY) pass through too.
func (s *Server) serveNodeProxy(w http.ResponseWriter, r *http.Request, ri *requestInfo) {
	target, err := s.agentURL(r, ri)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.proxyToAgent(w, r, target, fmt.Sprintf("pod %q", ri.name))
}

// proxyToAgent sends r to target (a node agent's URL: scheme, host, path;
// r's query is kept) and streams the answer back. what names the object
// the agent was asked about, for the error when it cannot be reached.
func (s *Server) proxyToAgent(w http.ResponseWriter, r *http.Request, target *url.URL, what string) {
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = target.Scheme, target.Host
			pr.Out.URL.Path, pr.Out.URL.RawPath = target.Path, target.RawPath
			pr.Out.Host = target.Host
			// Credentials for the API server are not the agent's business.
			pr.Out.Header.Del("Authorization")
		},
		Transport:     s.cfg.NodeProxy.Transport,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client left
			}
			s.writeError(w, r, apierrors.NewServiceUnavailable(fmt.Sprintf(
				"error trying to reach the node agent of %s at %s: %v; is tug agent running there?", what, target.Host, err)))
		},
	}
	proxy.ServeHTTP(w, r)
}

// agentURL finds where the agent serving pod ri.name listens.
func (s *Server) agentURL(r *http.Request, ri *requestInfo) (*url.URL, error) {
	obj, _, err := s.getObject(r.Context(), ri.res, ri.namespace, ri.name)
	if err != nil {
		return nil, err
	}
	pod := obj.(*corev1.Pod)
	container, err := pickContainer(pod, r.URL.Query().Get("container"))
	if err != nil {
		return nil, err
	}
	if pod.Spec.NodeName == "" {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("pod %q is not running on a node yet (it is not scheduled)", pod.Name))
	}
	nodeObj, _, err := s.getObject(r.Context(), s.resources["nodes"], "", pod.Spec.NodeName)
	if apierrors.IsNotFound(err) {
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("node %q of pod %q is not registered; is tug agent running there?", pod.Spec.NodeName, pod.Name))
	}
	if err != nil {
		return nil, err
	}
	host, err := agentEndpoint(nodeObj.(*corev1.Node))
	if err != nil {
		return nil, err
	}
	verb := "containerLogs"
	if ri.subresource == registry.SubExec {
		verb = "exec"
	}
	return &url.URL{
		Scheme: s.cfg.NodeProxy.Scheme,
		Host:   host,
		Path:   "/" + verb + "/" + url.PathEscape(pod.Namespace) + "/" + url.PathEscape(pod.Name) + "/" + url.PathEscape(container),
	}, nil
}

// pickContainer resolves the container a log or exec request is for: the
// one named, or the pod's only container.
func pickContainer(pod *corev1.Pod, name string) (string, error) {
	var names []string
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
		if c.Name == name {
			return name, nil
		}
	}
	for _, c := range pod.Spec.InitContainers {
		if c.Name == name {
			return name, nil
		}
	}
	switch {
	case name != "":
		return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", name, pod.Name))
	case len(names) == 1:
		return names[0], nil
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s, choose one of: %v", pod.Name, names))
}

// agentEndpoint is agentHostPort, or the 503 that says the node has no
// agent to ask.
func agentEndpoint(node *corev1.Node) (string, error) {
	host, ok := agentHostPort(node)
	if !ok {
		return "", apierrors.NewServiceUnavailable(fmt.Sprintf("node %q has no agent endpoint; is tug agent running there?", node.Name))
	}
	return host, nil
}

// agentHostPort is the node agent's address: the node's InternalIP (else
// its first address) and its kubelet endpoint port.
func agentHostPort(node *corev1.Node) (string, bool) {
	port := node.Status.DaemonEndpoints.KubeletEndpoint.Port
	if port <= 0 {
		return "", false
	}
	addr := ""
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			addr = a.Address
			break
		}
	}
	if addr == "" && len(node.Status.Addresses) > 0 {
		addr = node.Status.Addresses[0].Address
	}
	if addr == "" {
		return "", false
	}
	return net.JoinHostPort(addr, strconv.Itoa(int(port))), true
}
