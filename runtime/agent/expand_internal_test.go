package agent

import (
	"errors"
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "a", "EMPTY": "", "B": "$(A)"}
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"$(A)", "a"},
		{"x$(A)y$(A)", "xaya"},
		{"$(EMPTY)|", "|"},
		{"$(MISSING)", "$(MISSING)"},
		{"$$(A)", "$(A)"},
		{"$$$(A)", "$a"},
		{"$(A", "$(A"},
		{"$", "$"},
		{"a$", "a$"},
		{"$x", "$x"},
		{"$()", "$()"},
		{"$(B)", "$(A)"}, // no recursive expansion
	} {
		if got := expand(tc.in, mapLookup(vars)); got != tc.want {
			t.Errorf("expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestContainerEnv(t *testing.T) {
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1", Labels: map[string]string{"app": "web"}},
		Spec: v1.PodSpec{NodeName: "n1", ServiceAccountName: "sa"}}
	c := &v1.Container{
		Name: "main",
		Resources: v1.ResourceRequirements{
			Limits:   v1.ResourceList{v1.ResourceMemory: resource.MustParse("64Mi")},
			Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("250m")},
		},
		Env: []v1.EnvVar{
			{Name: "A", Value: "1"},
			{Name: "B", Value: "$(A)-$(FOO_SERVICE_HOST)-$(NOPE)"},
			{Name: "NAME", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "NS", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
			{Name: "IP", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "HOST", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "status.hostIP"}}},
			{Name: "APP", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
			{Name: "MEM", ValueFrom: &v1.EnvVarSource{ResourceFieldRef: &v1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
			{Name: "CPU_MILLI", ValueFrom: &v1.EnvVarSource{ResourceFieldRef: &v1.ResourceFieldSelector{Resource: "requests.cpu", Divisor: resource.MustParse("1m")}}},
			{Name: "CPU_LIMIT", ValueFrom: &v1.EnvVarSource{ResourceFieldRef: &v1.ResourceFieldSelector{Resource: "limits.cpu"}}},
			{Name: "FOO_SERVICE_HOST", Value: "override"},
		},
	}
	ec := podEnvContext{Pod: pod, PodIP: "10.0.0.5", HostIP: "192.0.2.1",
		Allocatable: v1.ResourceList{v1.ResourceCPU: resource.MustParse("4")},
		ServiceEnv:  map[string]string{"FOO_SERVICE_HOST": "10.96.0.9", "BAR_SERVICE_HOST": "10.96.0.8"}}
	got, err := containerEnv(ec, c)
	if err != nil {
		t.Fatal(err)
	}
	want := []envVar{
		{"A", "1"}, {"B", "1-10.96.0.9-$(NOPE)"}, {"NAME", "p"}, {"NS", "ns"}, {"IP", "10.0.0.5"}, {"HOST", "192.0.2.1"},
		{"APP", "web"}, {"MEM", "64"}, {"CPU_MILLI", "250"}, {"CPU_LIMIT", "4"}, {"FOO_SERVICE_HOST", "override"},
		{"BAR_SERVICE_HOST", "10.96.0.8"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("env\n%v\nwant\n%v", got, want)
	}

	for _, bad := range []v1.EnvVar{
		{Name: "X", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "spec.nope"}}},
		{Name: "X", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{Key: "k"}}},
		{Name: "X", ValueFrom: &v1.EnvVarSource{ResourceFieldRef: &v1.ResourceFieldSelector{Resource: "limits.gpu"}}},
	} {
		if _, err := containerEnv(ec, &v1.Container{Env: []v1.EnvVar{bad}}); !errors.Is(err, errConfig) {
			t.Errorf("%+v: err %v, want errConfig", bad.ValueFrom, err)
		}
	}
}

func TestServiceEnv(t *testing.T) {
	svc := &v1.Service{ObjectMeta: metav1.ObjectMeta{Name: "redis-master"}, Spec: v1.ServiceSpec{
		ClusterIP: "10.0.0.11",
		Ports:     []v1.ServicePort{{Name: "redis", Port: 6379, Protocol: v1.ProtocolTCP}, {Name: "metrics", Port: 9121, Protocol: v1.ProtocolTCP}},
	}}
	headless := &v1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Spec: v1.ServiceSpec{ClusterIP: v1.ClusterIPNone, Ports: []v1.ServicePort{{Port: 5432}}}}
	got := serviceEnv([]*v1.Service{svc, headless})
	want := map[string]string{
		"REDIS_MASTER_SERVICE_HOST":         "10.0.0.11",
		"REDIS_MASTER_SERVICE_PORT":         "6379",
		"REDIS_MASTER_SERVICE_PORT_REDIS":   "6379",
		"REDIS_MASTER_SERVICE_PORT_METRICS": "9121",
		"REDIS_MASTER_PORT":                 "tcp://10.0.0.11:6379",
		"REDIS_MASTER_PORT_6379_TCP":        "tcp://10.0.0.11:6379",
		"REDIS_MASTER_PORT_6379_TCP_PROTO":  "tcp",
		"REDIS_MASTER_PORT_6379_TCP_PORT":   "6379",
		"REDIS_MASTER_PORT_6379_TCP_ADDR":   "10.0.0.11",
		"REDIS_MASTER_PORT_9121_TCP":        "tcp://10.0.0.11:9121",
		"REDIS_MASTER_PORT_9121_TCP_PROTO":  "tcp",
		"REDIS_MASTER_PORT_9121_TCP_PORT":   "9121",
		"REDIS_MASTER_PORT_9121_TCP_ADDR":   "10.0.0.11",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d variables %v, want %d", len(got), got, len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestCommandLine(t *testing.T) {
	img := imageConfig{Entrypoint: []string{"/entry"}, Cmd: []string{"default", "cmd"}}
	env := []envVar{{"WHO", "you"}}
	for _, tc := range []struct {
		name          string
		c             v1.Container
		img           imageConfig
		wantCmd, args []string
	}{
		{"image defaults", v1.Container{}, img, []string{"/entry"}, []string{"default", "cmd"}},
		{"args replace CMD", v1.Container{Args: []string{"hi", "$(WHO)"}}, img, []string{"/entry"}, []string{"hi", "you"}},
		{"command replaces both", v1.Container{Command: []string{"sh"}}, img, []string{"sh"}, nil},
		{"command and args", v1.Container{Command: []string{"echo", "$(WHO)"}, Args: []string{"$$(WHO)"}}, img, []string{"echo", "you"}, []string{"$(WHO)"}},
		{"CMD only image", v1.Container{}, imageConfig{Cmd: []string{"sh", "-c", "x"}}, []string{"sh"}, []string{"-c", "x"}},
		{"args, image without entrypoint", v1.Container{Args: []string{"ls", "/"}}, imageConfig{Cmd: []string{"sh"}}, []string{"ls"}, []string{"/"}},
		{"nothing", v1.Container{}, imageConfig{}, nil, nil},
	} {
		cmd, args := commandLine(&tc.c, tc.img, env)
		if !slices.Equal(cmd, tc.wantCmd) || !slices.Equal(args, tc.args) {
			t.Errorf("%s: %q %q, want %q %q", tc.name, cmd, args, tc.wantCmd, tc.args)
		}
	}
}

func TestMergeEnv(t *testing.T) {
	got := mergeEnv([]string{"PATH=/bin", "A=image", "B=image"}, []envVar{{"A", "pod"}, {"C", "pod"}})
	want := []string{"PATH=/bin", "B=image", "A=pod", "C=pod"}
	if !slices.Equal(got, want) {
		t.Fatalf("%q, want %q", got, want)
	}
}
