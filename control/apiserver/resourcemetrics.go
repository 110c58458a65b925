package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// The resource metrics API (metrics.k8s.io/v1beta1, metrics-server's role)
// is served natively: each request reads the agents' /stats/summary
// (only the nodes concerned, several at a time) and answers NodeMetrics
// and PodMetrics, so that kubectl top and autoscalers work unchanged.
// Nothing is stored; CPU rates come from two readings of the agents'
// cumulative counters (cpurate.go).

// metricsGroupVersion is metrics.k8s.io/v1beta1.
var metricsGroupVersion = metricsv1beta1.SchemeGroupVersion

// The metrics API's resources, by the names its errors use (as
// metrics-server reports them).
var (
	nodeMetricsGR = schema.GroupResource{Group: metricsGroupVersion.Group, Resource: "nodemetrics"}
	podMetricsGR  = schema.GroupResource{Group: metricsGroupVersion.Group, Resource: "podmetrics"}
)

// metricsAPIGroup is the group as /apis lists it.
func metricsAPIGroup() metav1.APIGroup {
	gv := metav1.GroupVersionForDiscovery{GroupVersion: metricsGroupVersion.String(), Version: metricsGroupVersion.Version}
	return metav1.APIGroup{Name: metricsGroupVersion.Group, Versions: []metav1.GroupVersionForDiscovery{gv}, PreferredVersion: gv}
}

// metricsResourceList is /apis/metrics.k8s.io/v1beta1. Only get and list:
// the controllers that walk every resource (namespace deletion, garbage
// collection) pass over it.
func metricsResourceList() *metav1.APIResourceList {
	return &metav1.APIResourceList{
		TypeMeta:     metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
		GroupVersion: metricsGroupVersion.String(),
		APIResources: []metav1.APIResource{
			{Name: "nodes", SingularName: "nodemetrics", Kind: "NodeMetrics", Verbs: metav1.Verbs{verbGet, verbList}},
			{Name: "pods", SingularName: "podmetrics", Namespaced: true, Kind: "PodMetrics", Verbs: metav1.Verbs{verbGet, verbList}},
		},
	}
}

// serveAPIGroupPaths handles everything under /apis/: the metrics API;
// any other group is not served.
func (s *Server) serveAPIGroupPaths(w http.ResponseWriter, r *http.Request) {
	parts := splitPath(r.URL.Path)[1:] // after "apis"
	switch {
	case len(parts) == 0:
		s.serveAPIGroups(w, r)
	case parts[0] != metricsGroupVersion.Group:
		s.serveNotFound(w, r)
	case len(parts) == 1:
		g := metricsAPIGroup()
		g.TypeMeta = metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}
		writeJSON(w, http.StatusOK, &g)
	case parts[1] != metricsGroupVersion.Version:
		s.serveNotFound(w, r)
	case len(parts) == 2:
		writeJSON(w, http.StatusOK, metricsResourceList())
	default:
		s.serveMetrics(w, r, parts[2:])
	}
}

// metricsRequest is what a path under /apis/metrics.k8s.io/v1beta1 asks.
type metricsRequest struct {
	pods      bool // else nodes
	namespace string
	name      string
}

// parseMetricsPath resolves the segments after the group version.
func parseMetricsPath(parts []string) (metricsRequest, bool) {
	switch {
	case len(parts) == 1 && parts[0] == "nodes":
		return metricsRequest{}, true
	case len(parts) == 2 && parts[0] == "nodes":
		return metricsRequest{name: parts[1]}, true
	case len(parts) == 1 && parts[0] == "pods":
		return metricsRequest{pods: true}, true
	case len(parts) == 3 && parts[0] == "namespaces" && parts[2] == "pods":
		return metricsRequest{pods: true, namespace: parts[1]}, true
	case len(parts) == 4 && parts[0] == "namespaces" && parts[2] == "pods":
		return metricsRequest{pods: true, namespace: parts[1], name: parts[3]}, true
	}
	return metricsRequest{}, false
}

// serveMetrics answers a NodeMetrics or PodMetrics read.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request, parts []string) {
	mr, ok := parseMetricsPath(parts)
	if !ok {
		s.serveNotFound(w, r)
		return
	}
	gr, res := schema.GroupResource{Group: metricsGroupVersion.Group, Resource: "nodes"}, s.resources["nodes"]
	if mr.pods {
		gr.Resource, res = "pods", s.resources["pods"]
	}
	verb := verbList
	if mr.name != "" {
		verb = verbGet
	}
	if l, ok := r.Context().Value(requestLabelsKey{}).(*requestLabels); ok {
		l.verb, l.resource = verb, gr.String()
	}
	if r.Method != http.MethodGet || isWatch(r) {
		s.writeError(w, r, methodNotSupported(gr, r.Method))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	r = r.WithContext(ctx)
	var out any
	var err error
	switch {
	case !mr.pods && mr.name != "":
		out, err = s.getNodeMetrics(ctx, mr.name)
	case !mr.pods:
		var lo listOptions
		if lo, err = metricsListOptions(r, res); err == nil {
			out, err = s.listNodeMetrics(ctx, lo)
		}
	case mr.name != "":
		out, err = s.getPodMetrics(ctx, mr.namespace, mr.name)
	default:
		var lo listOptions
		if lo, err = metricsListOptions(r, res); err == nil {
			out, err = s.listPodMetrics(ctx, mr.namespace, lo)
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// metricsListOptions reads the selectors of a metrics list: they select
// the nodes or pods (labels, and the fields the resource supports), as
// metrics-server applies them. Paging and resourceVersion do not apply:
// metrics are always read now.
func metricsListOptions(r *http.Request, res *resource) (listOptions, error) {
	lo, err := parseListOptions(r, &requestInfo{res: res})
	if err != nil {
		return lo, err
	}
	return listOptions{labels: lo.labels, fields: lo.fields}, nil
}

// listNodeMetrics answers NodeMetricsList: every selected node whose agent
// answered. Nodes whose agent cannot be read are left out (kubectl top
// shows them as <unknown>), as are nodes the node lifecycle controller
// found silent (Ready Unknown), which would only cost a timeout.
func (s *Server) listNodeMetrics(ctx context.Context, lo listOptions) (*metricsv1beta1.NodeMetricsList, error) {
	objs, _, err := s.list(ctx, s.resources["nodes"], "", lo)
	if err != nil {
		return nil, err
	}
	var nodes []*corev1.Node
	for _, o := range objs {
		if n := o.(*corev1.Node); !nodeSilent(n) {
			nodes = append(nodes, n)
		}
	}
	list := &metricsv1beta1.NodeMetricsList{
		TypeMeta: metav1.TypeMeta{Kind: "NodeMetricsList", APIVersion: metricsGroupVersion.String()},
		Items:    []metricsv1beta1.NodeMetrics{},
	}
	for _, nm := range s.collectNodeMetrics(ctx, nodes) {
		if nm.err != nil {
			s.log.Warn("node metrics unavailable", "node", nm.node.Name, "err", nm.err)
			continue
		}
		if nm.metrics != nil {
			list.Items = append(list.Items, *nm.metrics)
		}
	}
	return list, nil
}

// getNodeMetrics answers one node's NodeMetrics; a node whose agent cannot
// be read is a 503 that says why.
func (s *Server) getNodeMetrics(ctx context.Context, name string) (*metricsv1beta1.NodeMetrics, error) {
	obj, _, err := s.getObject(ctx, s.resources["nodes"], "", name)
	if apierrors.IsNotFound(err) {
		return nil, apierrors.NewNotFound(nodeMetricsGR, name)
	}
	if err != nil {
		return nil, err
	}
	nm := s.collectNodeMetrics(ctx, []*corev1.Node{obj.(*corev1.Node)})[0]
	switch {
	case nm.err != nil:
		return nil, agentStatsError(nm.err)
	case nm.metrics == nil:
		return nil, apierrors.NewNotFound(nodeMetricsGR, name)
	}
	return nm.metrics, nil
}

// nodeMetricsResult is one node's outcome.
type nodeMetricsResult struct {
	node    *corev1.Node
	metrics *metricsv1beta1.NodeMetrics // nil: no metrics (yet)
	err     error                       // the agent could not be read
}

// collectNodeMetrics reads the nodes' agents and builds their metrics,
// reading again the nodes whose CPU rate needs a second reading.
func (s *Server) collectNodeMetrics(ctx context.Context, nodes []*corev1.Node) []nodeMetricsResult {
	out := make([]nodeMetricsResult, len(nodes))
	index := map[string]int{}
	for i, n := range nodes {
		out[i].node, index[n.Name] = n, i
	}
	s.readAgents(ctx, nodes, func(ns nodeSummary) bool {
		i := index[ns.node.Name]
		out[i].metrics, out[i].err = nil, ns.err
		if ns.err != nil {
			return false
		}
		m, outcome := nodeMetrics(ns.node, ns.sum, s.observeCPU, time.Now())
		out[i].metrics = m
		return outcome == needRate
	})
	return out
}

// listPodMetrics answers PodMetricsList for the selected pods of ns (""
// = all namespaces) that run containers on nodes whose agents answered.
func (s *Server) listPodMetrics(ctx context.Context, ns string, lo listOptions) (*metricsv1beta1.PodMetricsList, error) {
	objs, _, err := s.list(ctx, s.resources["pods"], ns, lo)
	if err != nil {
		return nil, err
	}
	pods := make([]*corev1.Pod, 0, len(objs))
	for _, o := range objs {
		pods = append(pods, o.(*corev1.Pod))
	}
	nodes, err := s.nodesOf(ctx, pods)
	if err != nil {
		return nil, err
	}
	list := &metricsv1beta1.PodMetricsList{
		TypeMeta: metav1.TypeMeta{Kind: "PodMetricsList", APIVersion: metricsGroupVersion.String()},
		Items:    []metricsv1beta1.PodMetrics{},
	}
	results, errs := s.collectPodMetrics(ctx, pods, nodes, true)
	for node, err := range errs {
		s.log.Warn("pod metrics unavailable", "node", node, "err", err)
	}
	for _, pm := range results {
		if pm != nil {
			list.Items = append(list.Items, *pm)
		}
	}
	return list, nil
}

// getPodMetrics answers one pod's PodMetrics.
func (s *Server) getPodMetrics(ctx context.Context, ns, name string) (*metricsv1beta1.PodMetrics, error) {
	notFound := apierrors.NewNotFound(podMetricsGR, ns+"/"+name)
	obj, _, err := s.getObject(ctx, s.resources["pods"], ns, name)
	if apierrors.IsNotFound(err) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	pod := obj.(*corev1.Pod)
	if pod.Spec.NodeName == "" {
		return nil, notFound
	}
	nodeObj, _, err := s.getObject(ctx, s.resources["nodes"], "", pod.Spec.NodeName)
	if apierrors.IsNotFound(err) {
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("node %q of pod %q is not registered; is tug agent running there?", pod.Spec.NodeName, pod.Name))
	}
	if err != nil {
		return nil, err
	}
	results, errs := s.collectPodMetrics(ctx, []*corev1.Pod{pod}, map[string]*corev1.Node{pod.Spec.NodeName: nodeObj.(*corev1.Node)}, false)
	if err := errs[pod.Spec.NodeName]; err != nil {
		return nil, agentStatsError(err)
	}
	if results[0] == nil {
		return nil, notFound
	}
	return results[0], nil
}

// nodesOf finds the registered nodes the pods are bound to, by name.
func (s *Server) nodesOf(ctx context.Context, pods []*corev1.Pod) (map[string]*corev1.Node, error) {
	wanted := map[string]bool{}
	for _, p := range pods {
		if p.Spec.NodeName != "" {
			wanted[p.Spec.NodeName] = true
		}
	}
	out := map[string]*corev1.Node{}
	if len(wanted) == 0 {
		return out, nil
	}
	objs, _, err := s.list(ctx, s.resources["nodes"], "", listOptions{})
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		if n := o.(*corev1.Node); wanted[n.Name] {
			out[n.Name] = n
		}
	}
	return out, nil
}

// collectPodMetrics reads the agents of the pods' nodes and builds each
// pod's metrics (nil: none), with the errors of the nodes whose agents
// could not be read. skipSilent leaves out nodes whose agents are known to
// be silent (lists do; one pod's node is asked anyway, for a clear error).
func (s *Server) collectPodMetrics(ctx context.Context, pods []*corev1.Pod, nodes map[string]*corev1.Node, skipSilent bool) ([]*metricsv1beta1.PodMetrics, map[string]error) {
	out := make([]*metricsv1beta1.PodMetrics, len(pods))
	byNode := map[string][]int{}
	var targets []*corev1.Node
	for i, p := range pods {
		n, ok := nodes[p.Spec.NodeName]
		if !ok || (skipSilent && nodeSilent(n)) {
			continue
		}
		if len(byNode[n.Name]) == 0 {
			targets = append(targets, n)
		}
		byNode[n.Name] = append(byNode[n.Name], i)
	}
	errs := map[string]error{}
	s.readAgents(ctx, targets, func(ns nodeSummary) bool {
		if ns.err != nil {
			errs[ns.node.Name] = ns.err
			return false
		}
		delete(errs, ns.node.Name)
		again := false
		now := time.Now()
		for _, i := range byNode[ns.node.Name] {
			var outcome metricsBuild
			out[i], outcome = podMetrics(pods[i], findPodStats(ns.sum, pods[i]), s.observeCPU, now)
			again = again || outcome == needRate
		}
		return again
	})
	return out, errs
}

// readAgents reads the summaries of nodes and hands each to use; use
// reports whether the node needs a second reading (a CPU rate), which
// happens once for all such nodes after rateSampleGap. use runs on one
// goroutine at a time.
func (s *Server) readAgents(ctx context.Context, nodes []*corev1.Node, use func(nodeSummary) (again bool)) {
	var again []*corev1.Node
	for _, ns := range s.fetchSummaries(ctx, nodes) {
		if use(ns) {
			again = append(again, ns.node)
		}
	}
	if len(again) > 0 {
		t := time.NewTimer(rateSampleGap)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		for _, ns := range s.fetchSummaries(ctx, again) {
			use(ns)
		}
	}
	s.cpuRates.forgetOlderThan(time.Now().Add(-maxRateWindow))
}

// observeCPU records a CPU counter reading in the server's rate memory.
func (s *Server) observeCPU(key string, r cpuReading) *cpuRate {
	return s.cpuRates.observe(key, r, time.Now())
}

// nodeSilent reports whether the node lifecycle controller marked the
// node's agent as silent (Ready Unknown: no heartbeats).
func nodeSilent(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionUnknown
		}
	}
	return false
}

// agentStatsError is the 503 for an agent whose statistics could not be
// read, keeping a Status error (no agent endpoint) as it is.
func agentStatsError(err error) error {
	if isAPIStatus(err) {
		return err
	}
	return apierrors.NewServiceUnavailable(err.Error())
}
