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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// agentSummary is the part of the kubelet's /stats/summary document
// (stats/v1alpha1) that the metrics API reads. It is declared here, from
// the kubelet's JSON names, rather than imported: the control plane does
// not depend on the node agent's packages, and any kubelet-compatible
// agent serves this shape.
type agentSummary struct {
	Node agentNodeStats  `json:"node"`
	Pods []agentPodStats `json:"pods"`
}

type agentNodeStats struct {
	NodeName string            `json:"nodeName"`
	CPU      *agentCPUStats    `json:"cpu,omitempty"`
	Memory   *agentMemoryStats `json:"memory,omitempty"`
}

type agentPodStats struct {
	PodRef struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
		UID       string `json:"uid"`
	} `json:"podRef"`
	Containers []agentContainerStats `json:"containers"`
}

type agentContainerStats struct {
	Name      string            `json:"name"`
	StartTime metav1.Time       `json:"startTime"`
	CPU       *agentCPUStats    `json:"cpu,omitempty"`
	Memory    *agentMemoryStats `json:"memory,omitempty"`
}

type agentCPUStats struct {
	Time                 metav1.Time `json:"time"`
	UsageCoreNanoSeconds *uint64     `json:"usageCoreNanoSeconds,omitempty"`
}

type agentMemoryStats struct {
	Time            metav1.Time `json:"time"`
	WorkingSetBytes *uint64     `json:"workingSetBytes,omitempty"`
}

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
	sum  *agentSummary
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

// fetchSummary reads one node agent's /stats/summary.
func (s *Server) fetchSummary(ctx context.Context, node *corev1.Node) (*agentSummary, error) {
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
	var sum agentSummary
	if err := json.Unmarshal(body, &sum); err != nil {
		return nil, fmt.Errorf("the agent of node %q at %s sent a /stats/summary that is not a kubelet Summary: %w", node.Name, host, err)
	}
	return &sum, nil
}
