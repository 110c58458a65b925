package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// Bounds of reading the agents' statistics.
const (
	// agentStatsTimeout bounds one /stats/summary request.
	agentStatsTimeout = 10 * time.Second
	// agentStatsParallel is how many agents are asked at once.
	agentStatsParallel = 16
	// maxSummaryBytes bounds a summary document (a node with a few
	// hundred pods writes well under a megabyte).
	maxSummaryBytes = 16 << 20
)

// nodeSummary is what one node's agent answered.
type nodeSummary struct {
	node *corev1.Node
	sum  *statsapi.Summary
	err  error
}

// fetchSummaries reads /stats/summary from the agents of nodes, several at
// a time. Each result carries its own error; a node without an agent
// endpoint fails without a request.
func (s *Server) fetchSummaries(ctx context.Context, nodes []*corev1.Node) []nodeSummary {
	out := make([]nodeSummary, len(nodes))
	sem := make(chan struct{}, agentStatsParallel)
	var wg sync.WaitGroup
	for i, n := range nodes {
		out[i].node = n
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				out[i].err = ctx.Err()
				return
			}
			out[i].sum, out[i].err = s.fetchSummary(ctx, n)
		}()
	}
	wg.Wait()
	return out
}

// fetchSummary reads one node agent's /stats/summary, the kubelet's
// Summary API (k8s.io/kubelet stats/v1alpha1): tug's agent serves it, as
// any kubelet-compatible agent does, so the control plane needs none of the
// agent's packages.
func (s *Server) fetchSummary(ctx context.Context, node *corev1.Node) (*statsapi.Summary, error) {
	host, err := agentEndpoint(node)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, agentStatsTimeout)
	defer cancel()
	u := url.URL{Scheme: s.cfg.NodeProxy.Scheme, Host: host, Path: "/stats/summary"}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.cfg.NodeProxy.Transport.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("reading the statistics of node %q from its agent at %s: %w; is tug agent running there?", node.Name, host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSummaryBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the statistics of node %q from its agent at %s: %w", node.Name, host, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the agent of node %q at %s answered %s to /stats/summary: %.200s", node.Name, host, resp.Status, body)
	}
	if len(body) > maxSummaryBytes {
		return nil, fmt.Errorf("the agent of node %q at %s sent a /stats/summary over %d bytes", node.Name, host, maxSummaryBytes)
	}
	var sum statsapi.Summary
	if err := json.Unmarshal(body, &sum); err != nil {
		return nil, fmt.Errorf("the agent of node %q at %s sent a /stats/summary that is not a kubelet Summary: %w", node.Name, host, err)
	}
	return &sum, nil
}
