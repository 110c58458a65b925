package apiresources

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

// Resource is one served resource.
type Resource struct {
	GVR        schema.GroupVersionResource
	Kind       string
	Namespaced bool
	Verbs      []string
}

// APIVersion is the group/version string used in apiVersion fields.
func (r Resource) APIVersion() string { return r.GVR.GroupVersion().String() }

// Has reports whether the resource supports every verb.
func (r Resource) Has(verbs ...string) bool {
	for _, v := range verbs {
		found := false
		for _, have := range r.Verbs {
			if have == v {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// Discover returns the preferred version of every resource (no
// subresources), sorted by group, version and name. A partial discovery
// failure (one group unavailable) still returns what was found, with the
// error.
func Discover(d discovery.DiscoveryInterface) ([]Resource, error) {
	lists, err := discovery.ServerPreferredResources(d)
	if len(lists) == 0 && err != nil {
		return nil, fmt.Errorf("discovering API resources: %w", err)
	}
	return FromLists(lists), err
}

// FromLists flattens discovery lists into Resources.
func FromLists(lists []*metav1.APIResourceList) []Resource {
	var out []Resource
	for _, l := range lists {
		if l == nil {
			continue
		}
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") {
				continue
			}
			out = append(out, Resource{
				GVR:        gv.WithResource(r.Name),
				Kind:       r.Kind,
				Namespaced: r.Namespaced,
				Verbs:      append([]string(nil), r.Verbs...),
			})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GVR.String() < out[j].GVR.String() })
	return out
}
