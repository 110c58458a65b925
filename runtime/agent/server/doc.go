// Package server is the node agent's HTTP API, at the kubelet's paths so
// that the API server's pods/log and pods/exec proxies (and kubectl through
// them) work unchanged:
//
//	GET /containerLogs/{namespace}/{pod}/{container}?follow=&tailLines=&timestamps=&previous=&sinceSeconds=&sinceTime=&limitBytes=
//	GET|POST /exec/{namespace}/{pod}/{container}?command=...&stdin=&stdout=&stderr=&tty=   (WebSocket)
//	GET /stats/summary   (the kubelet's Summary API, k8s.io/kubelet stats/v1alpha1: CPU and memory)
//	GET /healthz
//
// Exec speaks the remote command WebSocket protocols v5.channel.k8s.io and
// v4.channel.k8s.io (kubectl 1.30+ tries WebSocket first): binary frames
// whose first byte is the channel, 0 stdin, 1 stdout, 2 stderr, 3 the final
// metav1.Status (a non-zero exit code is reason NonZeroExitCode with a
// cause of type ExitCode), 4 terminal resize ({"Width":w,"Height":h}); v5
// adds the close signal, a frame [255, channel] half-closing stdin. SPDY is
// not served: kubectl falls back to it only when the WebSocket upgrade is
// refused.
//
// The server knows nothing of pods: a Backend (the agent) finds containers,
// their logs, runs exec and produces statistics. Errors are answered as
// metav1.Status JSON, as the API server would, so kubectl prints them
// well.
package server
