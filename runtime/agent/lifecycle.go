package agent

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/tug-sh/tug/runtime/container"
)

// runPreStop runs the container's preStop hook (exec, httpGet or sleep)
// within the grace period, as the kubelet does before sending SIGTERM. A
// failing hook is reported (FailedPreStopHook) and does not stop the kill.
func (a *Agent) runPreStop(ctx context.Context, pod *v1.Pod, c *v1.Container, id string, grace time.Duration) {
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
		return
	}
	h := c.Lifecycle.PreStop
	ctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	var err error
	switch {
	case h.Exec != nil:
		var code int
		code, err = a.runtime.Exec(ctx, id, container.ExecOptions{Command: h.Exec.Command})
		if err == nil && code != 0 {
			err = fmt.Errorf("command %q exited with %d", h.Exec.Command, code)
		}
	case h.HTTPGet != nil:
		err = a.hookHTTPGet(ctx, pod, c, h.HTTPGet)
	case h.Sleep != nil:
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(h.Sleep.Seconds) * time.Second):
		}
	}
	if err != nil && ctx.Err() == nil {
		a.containerEvent(pod, c, v1.EventTypeWarning, "FailedPreStopHook", "PreStopHook failed: %v", err)
	}
}

func (a *Agent) hookHTTPGet(ctx context.Context, pod *v1.Pod, c *v1.Container, g *v1.HTTPGetAction) error {
	port := int(g.Port.IntVal)
	if g.Port.StrVal != "" {
		for _, p := range c.Ports {
			if p.Name == g.Port.StrVal {
				port = int(p.ContainerPort)
			}
		}
		if n, err := strconv.Atoi(g.Port.StrVal); err == nil {
			port = n
		}
	}
	host := g.Host
	if host == "" {
		host = pod.Status.PodIP
		a.mu.Lock()
		if ps := a.pods[pod.UID]; ps != nil && ps.rec.IP != "" {
			host = ps.rec.IP
		}
		a.mu.Unlock()
	}
	scheme := "http"
	if g.Scheme == v1.URISchemeHTTPS {
		scheme = "https"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+net.JoinHostPort(host, strconv.Itoa(port))+g.Path, nil)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{DialContext: a.dialer.DialContext, DisableKeepAlives: true}}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 10*1024))
	if res.StatusCode < 200 || res.StatusCode >= 400 {
		return fmt.Errorf("HTTP lifecycle hook (%s) for Container %q in Pod %q failed - error: <nil>, message: %q", g.Path, c.Name, pod.Name, res.Status)
	}
	return nil
}
