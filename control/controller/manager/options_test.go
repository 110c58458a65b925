package manager

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
)

func enabledNames(m map[string]bool) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func TestSelect(t *testing.T) {
	tests := []struct {
		spec []string
		want []string
		err  string
	}{
		{[]string{"*"}, []string{"endpoints", "gc", "namespace", "nodeipam", "nodelifecycle", "replication", "scheduler"}, ""},
		{[]string{"*", "-gc"}, []string{"endpoints", "namespace", "nodeipam", "nodelifecycle", "replication", "scheduler"}, ""},
		{[]string{"*,-gc,-nodeipam"}, []string{"endpoints", "namespace", "nodelifecycle", "replication", "scheduler"}, ""},
		{[]string{"scheduler", "replication"}, []string{"replication", "scheduler"}, ""},
		{[]string{"scheduler", "-scheduler"}, nil, ""},
		{nil, nil, ""},
		{[]string{"*", "-kubelet"}, nil, `unknown controller "-kubelet"`},
		{[]string{"sched"}, nil, `unknown controller "sched"`},
	}
	for _, tt := range tests {
		got, err := Select(tt.spec)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Select(%q) error = %v, want %q", tt.spec, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(enabledNames(got), tt.want) {
			t.Errorf("Select(%q) = %v, %v; want %v", tt.spec, enabledNames(got), err, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	cfg := &rest.Config{Host: "http://127.0.0.1:1"}
	p, err := Options{Config: cfg}.validate()
	if err != nil {
		t.Fatal(err)
	}
	if p.enabled[NodeIPAM] || !p.enabled[Scheduler] {
		t.Errorf("default selection without cluster CIDR: %v", enabledNames(p.enabled))
	}
	if p.QPS != DefaultQPS || p.Identity == "" || p.NodeCIDRMaskSize != 24 {
		t.Errorf("defaults: %+v", p.Options)
	}
	p, err = Options{Config: cfg, ClusterCIDR: "10.244.0.0/16"}.validate()
	if err != nil || !p.enabled[NodeIPAM] || p.clusterCIDR.String() != "10.244.0.0/16" {
		t.Errorf("with cluster CIDR: %v %v", enabledNames(p.enabled), err)
	}
	bad := []Options{
		{},
		{Config: cfg, Controllers: []string{"nodeipam"}},
		{Config: cfg, ClusterCIDR: "10.244.0.0"},
		{Config: cfg, PodEvictionTimeout: -1},
	}
	for _, o := range bad {
		if _, err := o.validate(); err == nil {
			t.Errorf("validate(%+v) accepted", o)
		}
	}
	if c := p.clientConfig("scheduler"); c.UserAgent != "tug-controller-manager/scheduler" || c.QPS != DefaultQPS || cfg.UserAgent != "" {
		t.Errorf("client config %+v", c)
	}
}
