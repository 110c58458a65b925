package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// maxOutput bounds what is kept of a response body or a command's output.
const maxOutput = 10 * 1024

// DialFunc opens a network connection (to a pod's address).
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// ExecFunc runs cmd in a container and returns its exit code and combined
// output. An error means the command could not be run.
type ExecFunc func(ctx context.Context, containerID string, cmd []string) (exitCode int, output []byte, err error)

// Prober performs checks. The zero value dials from this process's network
// namespace and cannot run exec probes.
type Prober struct {
	Dial DialFunc
	Exec ExecFunc
	// UserAgent of HTTP probes; default "kube-probe/1.32".
	UserAgent string
}

// Target is the container a check is made against.
type Target struct {
	// PodIP is the address HTTP and TCP checks connect to (unless an
	// httpGet names a host).
	PodIP string
	// ContainerID is the runtime's ID of the instance, for exec checks.
	ContainerID string
	// Ports are the container's ports, to resolve named ports.
	Ports []v1.ContainerPort
}

// Check runs the probe's handler once against t, bounded by the probe's
// timeoutSeconds (default 1).
func (p *Prober) Check(ctx context.Context, spec *v1.Probe, t Target) Outcome {
	timeout := time.Duration(spec.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = time.Second
	}
	h := spec.ProbeHandler
	switch {
	case h.HTTPGet != nil:
		return p.checkHTTP(ctx, h.HTTPGet, t, timeout)
	case h.TCPSocket != nil:
		return p.checkTCP(ctx, h.TCPSocket, t, timeout)
	case h.Exec != nil:
		return p.checkExec(ctx, h.Exec, t, timeout)
	case h.GRPC != nil:
		return Outcome{Result: Unknown, Output: "gRPC probes are not supported by tug; use httpGet, tcpSocket or exec"}
	}
	return Outcome{Result: Unknown, Output: "the probe has no handler (httpGet, tcpSocket or exec)"}
}

func (p *Prober) dial() DialFunc {
	if p.Dial != nil {
		return p.Dial
	}
	var d net.Dialer
	return d.DialContext
}

// resolvePort turns a probe port (a number, or a container port's name)
// into a number.
func resolvePort(port intstr.IntOrString, ports []v1.ContainerPort) (int, error) {
	if port.Type == intstr.Int {
		if port.IntVal <= 0 || port.IntVal > 65535 {
			return 0, fmt.Errorf("invalid port number: %d", port.IntVal)
		}
		return int(port.IntVal), nil
	}
	for _, cp := range ports {
		if cp.Name == port.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(port.StrVal); err == nil && n > 0 && n <= 65535 {
		return n, nil
	}
	return 0, fmt.Errorf("couldn't find port: %v in %v", port.StrVal, ports)
}

func (p *Prober) checkHTTP(ctx context.Context, g *v1.HTTPGetAction, t Target, timeout time.Duration) Outcome {
	port, err := resolvePort(g.Port, t.Ports)
	if err != nil {
		return Outcome{Result: Unknown, Output: err.Error()}
	}
	host := g.Host
	if host == "" {
		host = t.PodIP
	}
	scheme := strings.ToLower(string(g.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	path := g.Path
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	u, err := url.Parse(scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port)) + path)
	if err != nil {
		return Outcome{Result: Failure, Output: err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Outcome{Result: Failure, Output: err.Error()}
	}
	ua := p.UserAgent
	if ua == "" {
		ua = "kube-probe/1.32"
	}
	req.Header.Set("User-Agent", ua)
	req.Header.Set("Accept", "*/*")
	for _, h := range g.HTTPHeaders {
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	client := &http.Client{
		Transport: &http.Transport{
			DialContext:       p.dial(),
			DisableKeepAlives: true,
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // as the kubelet: probes check liveness, not identity
			Proxy:             nil,
		},
		CheckRedirect: func(r *http.Request, via []*http.Request) error {
			if r.URL.Hostname() != via[0].URL.Hostname() {
				return http.ErrUseLastResponse
			}
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			return nil
		},
	}
	res, err := client.Do(req)
	if err != nil {
		return Outcome{Result: Failure, Output: err.Error()}
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, maxOutput))
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		return Outcome{Result: Success}
	case res.StatusCode >= 300 && res.StatusCode < 400:
		return Outcome{Result: Success, Warning: fmt.Sprintf("Probe terminated redirects, Response body: %s", body)}
	}
	return Outcome{Result: Failure, Output: fmt.Sprintf("HTTP probe failed with statuscode: %d", res.StatusCode)}
}

func (p *Prober) checkTCP(ctx context.Context, s *v1.TCPSocketAction, t Target, timeout time.Duration) Outcome {
	port, err := resolvePort(s.Port, t.Ports)
	if err != nil {
		return Outcome{Result: Unknown, Output: err.Error()}
	}
	host := s.Host
	if host == "" {
		host = t.PodIP
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := p.dial()(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return Outcome{Result: Failure, Output: err.Error()}
	}
	conn.Close()
	return Outcome{Result: Success}
}

func (p *Prober) checkExec(ctx context.Context, e *v1.ExecAction, t Target, timeout time.Duration) Outcome {
	if p.Exec == nil {
		return Outcome{Result: Unknown, Output: "exec probes are not available"}
	}
	if len(e.Command) == 0 {
		return Outcome{Result: Unknown, Output: "exec probe has no command"}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	code, out, err := p.Exec(ctx, t.ContainerID, e.Command)
	if len(out) > maxOutput {
		out = out[:maxOutput]
	}
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return Outcome{Result: Failure, Output: fmt.Sprintf("command %q timed out", strings.Join(e.Command, " "))}
	case err != nil:
		return Outcome{Result: Unknown, Output: err.Error()}
	case code != 0:
		return Outcome{Result: Failure, Output: string(out)}
	}
	return Outcome{Result: Success}
}
