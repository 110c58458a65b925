package client

import (
	"net"
	"net/http"
	"time"

	"k8s.io/client-go/rest"
)

// PoolConnections gives a config without TLS options a transport of its own that
// keeps connections open. Without it client-go uses http.DefaultTransport,
// which keeps 2 idle connections per host: a controller with dozens of
// requests in flight (bindings, pod creations) then opens and closes a TCP
// connection per request, and on loopback runs out of ephemeral ports
// (TIME_WAIT) at a few hundred requests per second.
func PoolConnections(c *rest.Config) {
	t := c.TLSClientConfig
	if c.Transport != nil || c.Dial != nil || c.Proxy != nil || t.Insecure || t.CAFile != "" || len(t.CAData) > 0 ||
		t.CertFile != "" || len(t.CertData) > 0 || t.KeyFile != "" || len(t.KeyData) > 0 || t.ServerName != "" {
		return
	}
	c.Transport = &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}
}
