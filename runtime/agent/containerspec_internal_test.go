package agent

import (
	"errors"
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/tug-sh/tug/runtime/container"
)

func ptr[T any](v T) *T { return &v }

func TestResolveUser(t *testing.T) {
	id := parseIdentity(
		[]byte("root:x:0:0:root:/root:/bin/sh\nwww:x:33:33::/var/www:/bin/false\n# comment\nbad:x:y:z\n"),
		[]byte("root:x:0:\nwww:x:33:\nwheel:x:10:www,root\nmedia:x:44:www\n"))
	for _, tc := range []struct {
		name                string
		imageUser           string
		runAsUser, runAsGrp *int64
		podGroups           []int64
		want                container.User
		wantErr             bool
	}{
		{name: "default root", want: container.User{AdditionalGIDs: []uint32{10}}},
		{name: "image user by name", imageUser: "www", want: container.User{UID: 33, GID: 33, AdditionalGIDs: []uint32{10, 44}}},
		{name: "image uid:gid", imageUser: "1000:2000", want: container.User{UID: 1000, GID: 2000}},
		{name: "image name:group", imageUser: "www:wheel", want: container.User{UID: 33, GID: 10, AdditionalGIDs: []uint32{10, 44}}},
		{name: "numeric uid known", imageUser: "33", want: container.User{UID: 33, GID: 33, AdditionalGIDs: []uint32{10, 44}}},
		{name: "runAsUser overrides", imageUser: "www", runAsUser: ptr(int64(1000)), want: container.User{UID: 1000, GID: 0}},
		{name: "runAsUser of a known user", runAsUser: ptr(int64(33)), want: container.User{UID: 33, GID: 33, AdditionalGIDs: []uint32{10, 44}}},
		{name: "runAsUser and group", runAsUser: ptr(int64(1000)), runAsGrp: ptr(int64(3000)), podGroups: []int64{5, 5}, want: container.User{UID: 1000, GID: 3000, AdditionalGIDs: []uint32{5}}},
		{name: "unknown user", imageUser: "nobody", wantErr: true},
		{name: "unknown group", imageUser: "www:nogroup", wantErr: true},
	} {
		got, err := resolveUser(tc.imageUser, id, tc.runAsUser, tc.runAsGrp, tc.podGroups)
		if tc.wantErr {
			if !errors.Is(err, errConfig) {
				t.Errorf("%s: err %v, want errConfig", tc.name, err)
			}
			continue
		}
		if err != nil || got.UID != tc.want.UID || got.GID != tc.want.GID || !slices.Equal(got.AdditionalGIDs, tc.want.AdditionalGIDs) {
			t.Errorf("%s: %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

func TestSecurityFor(t *testing.T) {
	pod := &v1.Pod{Spec: v1.PodSpec{SecurityContext: &v1.PodSecurityContext{
		RunAsUser: ptr(int64(1)), RunAsNonRoot: ptr(true), FSGroup: ptr(int64(9)), SupplementalGroups: []int64{7},
		SeccompProfile: &v1.SeccompProfile{Type: v1.SeccompProfileTypeRuntimeDefault},
		Sysctls:        []v1.Sysctl{{Name: "net.ipv4.ip_unprivileged_port_start", Value: "0"}},
	}}}
	c := &v1.Container{SecurityContext: &v1.SecurityContext{
		RunAsUser: ptr(int64(2)), ReadOnlyRootFilesystem: ptr(true), AllowPrivilegeEscalation: ptr(false),
		Capabilities: &v1.Capabilities{Add: []v1.Capability{"NET_ADMIN"}, Drop: []v1.Capability{"ALL"}},
	}}
	s, err := securityFor(pod, c, false)
	if err != nil {
		t.Fatal(err)
	}
	if *s.RunAsUser != 2 || !s.RunAsNonRoot || !s.ReadOnlyRoot || s.AllowEscalation || s.Privileged ||
		!slices.Equal(s.PodGroups, []int64{7, 9}) || s.Seccomp != container.SeccompRuntimeDefault ||
		!slices.Equal(s.Capabilities.Add, []string{"NET_ADMIN"}) || s.Sysctls["net.ipv4.ip_unprivileged_port_start"] != "0" {
		t.Fatalf("settings %+v", s)
	}
	// Kubernetes' defaults: unconfined unless --seccomp-default; escalation allowed.
	s, _ = securityFor(&v1.Pod{}, &v1.Container{}, false)
	if s.Seccomp != container.SeccompUnconfined || !s.AllowEscalation {
		t.Fatalf("defaults %+v", s)
	}
	s, _ = securityFor(&v1.Pod{}, &v1.Container{}, true)
	if s.Seccomp != container.SeccompRuntimeDefault {
		t.Fatalf("seccomp default %q", s.Seccomp)
	}
	_, err = securityFor(&v1.Pod{}, &v1.Container{SecurityContext: &v1.SecurityContext{SeccompProfile: &v1.SeccompProfile{Type: v1.SeccompProfileTypeLocalhost}}}, false)
	if !errors.Is(err, errConfig) {
		t.Fatalf("Localhost profile: %v", err)
	}
}

func TestOOMScoreAdjAndQoS(t *testing.T) {
	rl := func(cpu, mem string) v1.ResourceList {
		l := v1.ResourceList{}
		if cpu != "" {
			l[v1.ResourceCPU] = resource.MustParse(cpu)
		}
		if mem != "" {
			l[v1.ResourceMemory] = resource.MustParse(mem)
		}
		return l
	}
	guaranteed := v1.Container{Resources: v1.ResourceRequirements{Limits: rl("1", "1Gi"), Requests: rl("1", "1Gi")}}
	burstable := v1.Container{Resources: v1.ResourceRequirements{Requests: rl("", "1Gi")}}
	best := v1.Container{}
	for _, tc := range []struct {
		name string
		cs   []v1.Container
		want v1.PodQOSClass
	}{
		{"guaranteed", []v1.Container{guaranteed}, v1.PodQOSGuaranteed},
		{"limits only are guaranteed", []v1.Container{{Resources: v1.ResourceRequirements{Limits: rl("1", "1Gi")}}}, v1.PodQOSGuaranteed},
		{"burstable", []v1.Container{burstable}, v1.PodQOSBurstable},
		{"mixed", []v1.Container{guaranteed, best}, v1.PodQOSBurstable},
		{"best effort", []v1.Container{best}, v1.PodQOSBestEffort},
	} {
		if got := qosClass(&v1.Pod{Spec: v1.PodSpec{Containers: tc.cs}}); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	capacity := int64(4 << 30)
	if got := oomScoreAdj(v1.PodQOSGuaranteed, &guaranteed, capacity); got != -997 {
		t.Errorf("guaranteed %d", got)
	}
	if got := oomScoreAdj(v1.PodQOSBestEffort, &best, capacity); got != 1000 {
		t.Errorf("best effort %d", got)
	}
	if got := oomScoreAdj(v1.PodQOSBurstable, &burstable, capacity); got != 750 {
		t.Errorf("burstable 1Gi of 4Gi: %d, want 750", got)
	}
	huge := v1.Container{Resources: v1.ResourceRequirements{Requests: rl("", "8Gi")}}
	if got := oomScoreAdj(v1.PodQOSBurstable, &huge, capacity); got != 3 {
		t.Errorf("burstable above capacity: %d, want 3", got)
	}
	if got := oomScoreAdj(v1.PodQOSBurstable, &v1.Container{}, capacity); got != 999 {
		t.Errorf("burstable without memory request: %d, want 999", got)
	}
}

func TestResourcesFor(t *testing.T) {
	c := &v1.Container{Resources: v1.ResourceRequirements{
		Limits: v1.ResourceList{v1.ResourceCPU: resource.MustParse("500m"), v1.ResourceMemory: resource.MustParse("50Mi")},
	}}
	r := resourcesFor(c)
	if r.CPULimitMilli != 500 || r.CPURequestMilli != 500 || r.MemoryLimitBytes != 50<<20 {
		t.Fatalf("%+v", r)
	}
	c.Resources.Requests = v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m")}
	if r := resourcesFor(c); r.CPURequestMilli != 100 {
		t.Fatalf("%+v", r)
	}
}
