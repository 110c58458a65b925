package agent

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// errConfig is a container configuration the agent cannot satisfy (a
// reference to an unknown field, an unsupported source): the kubelet's
// CreateContainerConfigError.
var errConfig = errors.New("container configuration error")

// envVar is one resolved variable.
type envVar struct{ Name, Value string }

// podEnvContext is what environment variables may refer to.
type podEnvContext struct {
	Pod    *v1.Pod
	PodIP  string
	HostIP string
	// Allocatable is the node's, the value of an unset limit in a
	// resourceFieldRef.
	Allocatable v1.ResourceList
	// ServiceEnv holds the Docker-link-style variables of the Services
	// visible to the pod (serviceEnv).
	ServiceEnv map[string]string
}

// containerEnv resolves a container's env list as the kubelet does
// (makeEnvironmentVariables): each value has $(VAR) references to earlier
// variables and Service variables expanded; valueFrom fieldRef and
// resourceFieldRef are resolved; then the Service variables not already
// defined are appended. The order is the declaration order, then the
// Service variables sorted. envFrom, configMapKeyRef and secretKeyRef need
// ConfigMaps and Secrets, which tug does not serve: they are errConfig.
func containerEnv(ec podEnvContext, c *v1.Container) ([]envVar, error) {
	if len(c.EnvFrom) > 0 {
		return nil, fmt.Errorf("%w: envFrom (ConfigMaps and Secrets) is not supported by tug", errConfig)
	}
	declared := map[string]string{}
	var order []string
	lookup := mapLookup(declared, ec.ServiceEnv)
	for _, e := range c.Env {
		value := e.Value
		switch {
		case value != "":
			value = expand(value, lookup)
		case e.ValueFrom != nil:
			var err error
			if value, err = envValueFrom(ec, c, e); err != nil {
				return nil, err
			}
		}
		if _, seen := declared[e.Name]; !seen {
			order = append(order, e.Name)
		}
		declared[e.Name] = value
	}
	out := make([]envVar, 0, len(order)+len(ec.ServiceEnv))
	for _, name := range order {
		out = append(out, envVar{name, declared[name]})
	}
	svc := make([]string, 0, len(ec.ServiceEnv))
	for name := range ec.ServiceEnv {
		if _, ok := declared[name]; !ok {
			svc = append(svc, name)
		}
	}
	sort.Strings(svc)
	for _, name := range svc {
		out = append(out, envVar{name, ec.ServiceEnv[name]})
	}
	return out, nil
}

func envValueFrom(ec podEnvContext, c *v1.Container, e v1.EnvVar) (string, error) {
	src := e.ValueFrom
	switch {
	case src.FieldRef != nil:
		v, err := podFieldValue(ec, src.FieldRef.FieldPath)
		if err != nil {
			return "", fmt.Errorf("%w: env %s: %v", errConfig, e.Name, err)
		}
		return v, nil
	case src.ResourceFieldRef != nil:
		v, err := resourceFieldValue(ec, c, src.ResourceFieldRef)
		if err != nil {
			return "", fmt.Errorf("%w: env %s: %v", errConfig, e.Name, err)
		}
		return v, nil
	case src.ConfigMapKeyRef != nil, src.SecretKeyRef != nil:
		return "", fmt.Errorf("%w: env %s: configMapKeyRef and secretKeyRef are not supported by tug", errConfig, e.Name)
	}
	return "", nil
}

// podFieldValue is the downward API for env (podFieldSelectorRuntimeValue).
func podFieldValue(ec podEnvContext, path string) (string, error) {
	p := ec.Pod
	switch path {
	case "metadata.name":
		return p.Name, nil
	case "metadata.namespace":
		return p.Namespace, nil
	case "metadata.uid":
		return string(p.UID), nil
	case "spec.nodeName":
		return p.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return p.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.hostIPs":
		return ec.HostIP, nil
	case "status.podIP", "status.podIPs":
		return ec.PodIP, nil
	}
	if key, ok := subscript(path, "metadata.labels"); ok {
		return p.Labels[key], nil
	}
	if key, ok := subscript(path, "metadata.annotations"); ok {
		return p.Annotations[key], nil
	}
	return "", fmt.Errorf("unsupported fieldRef fieldPath %q", path)
}

// subscript parses prefix['key'].
func subscript(path, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(path, prefix+"['")
	if !ok {
		return "", false
	}
	return strings.CutSuffix(rest, "']")
}

// resourceFieldValue resolves limits.cpu, limits.memory, requests.cpu and
// requests.memory like the kubelet: divided by the divisor and rounded up;
// an unset limit is the node's allocatable.
func resourceFieldValue(ec podEnvContext, self *v1.Container, ref *v1.ResourceFieldSelector) (string, error) {
	c := self
	if ref.ContainerName != "" && ref.ContainerName != self.Name {
		c = nil
		for i := range ec.Pod.Spec.Containers {
			if ec.Pod.Spec.Containers[i].Name == ref.ContainerName {
				c = &ec.Pod.Spec.Containers[i]
			}
		}
		if c == nil {
			return "", fmt.Errorf("resourceFieldRef names container %q, which the pod does not have", ref.ContainerName)
		}
	}
	kind, name, ok := strings.Cut(ref.Resource, ".")
	if !ok || (kind != "limits" && kind != "requests") || (name != "cpu" && name != "memory") {
		return "", fmt.Errorf("unsupported resourceFieldRef resource %q (use limits.cpu, limits.memory, requests.cpu or requests.memory)", ref.Resource)
	}
	rn := v1.ResourceName(name)
	q, set := c.Resources.Limits[rn]
	if kind == "requests" {
		q, set = c.Resources.Requests[rn]
	}
	if !set && kind == "limits" {
		q = ec.Allocatable[rn]
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if rn == v1.ResourceCPU {
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10), nil
	}
	return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10), nil
}

// serviceEnv builds the Docker-link-style variables Kubernetes gives pods
// for Services (pkg/kubelet/envvars): FOO_SERVICE_HOST, FOO_SERVICE_PORT,
// FOO_SERVICE_PORT_<NAME>, FOO_PORT, FOO_PORT_<port>_<PROTO>[_PROTO|_PORT|_ADDR].
// Headless Services and Services without a ClusterIP are skipped.
func serviceEnv(services []*v1.Service) map[string]string {
	out := map[string]string{}
	for _, s := range services {
		ip := s.Spec.ClusterIP
		if ip == "" || ip == v1.ClusterIPNone || len(s.Spec.Ports) == 0 {
			continue
		}
		name := strings.ToUpper(strings.ReplaceAll(s.Name, "-", "_"))
		first := s.Spec.Ports[0]
		out[name+"_SERVICE_HOST"] = ip
		out[name+"_SERVICE_PORT"] = strconv.Itoa(int(first.Port))
		for _, p := range s.Spec.Ports {
			if p.Name != "" {
				out[name+"_SERVICE_PORT_"+strings.ToUpper(strings.ReplaceAll(p.Name, "-", "_"))] = strconv.Itoa(int(p.Port))
			}
		}
		proto := strings.ToLower(string(first.Protocol))
		if proto == "" {
			proto = "tcp"
		}
		out[name+"_PORT"] = fmt.Sprintf("%s://%s:%d", proto, ip, first.Port)
		for _, p := range s.Spec.Ports {
			pr := string(p.Protocol)
			if pr == "" {
				pr = "TCP"
			}
			prefix := fmt.Sprintf("%s_PORT_%d_%s", name, p.Port, strings.ToUpper(pr))
			out[prefix] = fmt.Sprintf("%s://%s:%d", strings.ToLower(pr), ip, p.Port)
			out[prefix+"_PROTO"] = strings.ToLower(pr)
			out[prefix+"_PORT"] = strconv.Itoa(int(p.Port))
			out[prefix+"_ADDR"] = ip
		}
	}
	return out
}
