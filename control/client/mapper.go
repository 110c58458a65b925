package client

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// ErrUnknownResource is wrapped by errors for a resource type the server
	// does not list in its discovery document.
	ErrUnknownResource = errors.New("unknown resource type")
	// ErrUnknownKind is wrapped by errors for a manifest kind/apiVersion the
	// server does not serve.
	ErrUnknownKind = errors.New("unknown kind")
)

// UnknownResourceError says that what the user typed names no resource.
type UnknownResourceError struct{ Arg string }

func (e *UnknownResourceError) Error() string {
	return fmt.Sprintf("the server doesn't have a resource type %q", e.Arg)
}

func (e *UnknownResourceError) Unwrap() error { return ErrUnknownResource }

// UnknownKindError says that no served resource has the manifest's kind in
// its apiVersion. Served lists the apiVersions that do serve the kind, if
// any, so the message can suggest one.
type UnknownKindError struct {
	GVK    schema.GroupVersionKind
	Served []string
}

func (e *UnknownKindError) Error() string {
	msg := fmt.Sprintf("no resource of kind %q in version %q is served by this server", e.GVK.Kind, e.GVK.GroupVersion().String())
	if len(e.Served) > 0 {
		msg += fmt.Sprintf(" (it serves %s as %s)", e.GVK.Kind, strings.Join(e.Served, ", "))
	}
	return msg
}

func (e *UnknownKindError) Unwrap() error { return ErrUnknownKind }

// Mapping is one API resource as the server's discovery describes it.
type Mapping struct {
	Resource     schema.GroupVersionResource
	Kind         schema.GroupVersionKind
	Namespaced   bool
	Singular     string
	ShortNames   []string
	Categories   []string
	Verbs        []string
	Subresources []string // "status", "scale", "log", "exec", ...
}

// HasSubresource reports whether discovery lists RESOURCE/sub.
func (m Mapping) HasSubresource(sub string) bool { return slices.Contains(m.Subresources, sub) }

// KindName is the lower-case kind, qualified by the group outside the core
// group: what kubectl prints before "/name" ("replicationcontroller",
// "deployment.apps").
func (m Mapping) KindName() string {
	k := strings.ToLower(m.Kind.Kind)
	if m.Kind.Group != "" {
		k += "." + m.Kind.Group
	}
	return k
}

// GroupResource is the resource name qualified by its group outside the core
// group ("pods", "deployments.apps"), as in server messages.
func (m Mapping) GroupResource() string {
	return m.Resource.GroupResource().String()
}

// Path is the request path of the collection (name == "") or of one object,
// optionally of its subresource. namespace is ignored for cluster-scoped
// resources and means "all namespaces" when empty.
func (m Mapping) Path(namespace, name string, subresource ...string) string {
	var b strings.Builder
	if m.Resource.Group == "" {
		b.WriteString("/api/" + m.Resource.Version)
	} else {
		b.WriteString("/apis/" + m.Resource.Group + "/" + m.Resource.Version)
	}
	if m.Namespaced && namespace != "" {
		b.WriteString("/namespaces/" + namespace)
	}
	b.WriteString("/" + m.Resource.Resource)
	if name != "" {
		b.WriteString("/" + name)
		for _, s := range subresource {
			b.WriteString("/" + s)
		}
	}
	return b.String()
}

// Mapper resolves resource arguments and manifest kinds against a discovery
// snapshot. It is immutable and safe for concurrent use.
type Mapper struct {
	// mappings in preference order: the core group first, then groups in
	// the server's order, each group's preferred version first.
	mappings []Mapping
}

// NewMapper builds a Mapper from discovery results: groups gives the group
// order and preferred versions (it may omit the legacy core group), lists
// the resources of each group version.
func NewMapper(groups []*metav1.APIGroup, lists []*metav1.APIResourceList) *Mapper {
	rank := map[string]int{"v1": 0} // legacy core group version ranks first
	next := 1
	for _, g := range groups {
		if g == nil {
			continue
		}
		ordered := make([]string, 0, len(g.Versions)+1)
		if g.PreferredVersion.GroupVersion != "" {
			ordered = append(ordered, g.PreferredVersion.GroupVersion)
		}
		for _, v := range g.Versions {
			ordered = append(ordered, v.GroupVersion)
		}
		for _, gv := range ordered {
			if _, ok := rank[gv]; !ok {
				rank[gv] = next
				next++
			}
		}
	}
	sorted := slices.Clone(lists)
	sorted = slices.DeleteFunc(sorted, func(l *metav1.APIResourceList) bool { return l == nil })
	slices.SortStableFunc(sorted, func(a, b *metav1.APIResourceList) int {
		return rankOf(rank, a.GroupVersion) - rankOf(rank, b.GroupVersion)
	})

	var out []Mapping
	for _, list := range sorted {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			continue
		}
		index := map[string]int{}
		var subs [][2]string
		for _, r := range list.APIResources {
			if parent, sub, ok := strings.Cut(r.Name, "/"); ok {
				subs = append(subs, [2]string{parent, sub})
				continue
			}
			group, version := gv.Group, gv.Version
			if r.Group != "" {
				group = r.Group
			}
			if r.Version != "" {
				version = r.Version
			}
			singular := r.SingularName
			if singular == "" {
				singular = strings.ToLower(r.Kind)
			}
			index[r.Name] = len(out)
			out = append(out, Mapping{
				Resource:   schema.GroupVersionResource{Group: gv.Group, Version: gv.Version, Resource: r.Name},
				Kind:       schema.GroupVersionKind{Group: group, Version: version, Kind: r.Kind},
				Namespaced: r.Namespaced,
				Singular:   singular,
				ShortNames: slices.Clone(r.ShortNames),
				Categories: slices.Clone(r.Categories),
				Verbs:      slices.Clone([]string(r.Verbs)),
			})
		}
		for _, s := range subs {
			if i, ok := index[s[0]]; ok {
				out[i].Subresources = append(out[i].Subresources, s[1])
			}
		}
	}
	return &Mapper{mappings: out}
}

func rankOf(rank map[string]int, gv string) int {
	if r, ok := rank[gv]; ok {
		return r
	}
	return len(rank) + 1
}

// All returns every resource in preference order (one entry per served
// version).
func (m *Mapper) All() []Mapping { return slices.Clone(m.mappings) }

// ResourceFor resolves what a user typed: a plural ("pods"), singular
// ("pod"), kind ("Pod"), short name ("po"), optionally qualified by group
// ("deployments.apps") or version and group ("deployments.v1.apps"). The
// preferred version wins.
func (m *Mapper) ResourceFor(arg string) (Mapping, error) {
	name := strings.ToLower(strings.TrimSpace(arg))
	if name == "" {
		return Mapping{}, &UnknownResourceError{Arg: arg}
	}
	resource, qualifier, qualified := strings.Cut(name, ".")
	matches := func(mp Mapping, match func(Mapping) bool) bool {
		if !match(mp) {
			return false
		}
		if !qualified {
			return true
		}
		if mp.Resource.Group == qualifier {
			return true
		}
		version, group, _ := strings.Cut(qualifier, ".")
		return mp.Resource.Group == group && mp.Resource.Version == version
	}
	passes := []func(Mapping) bool{
		func(mp Mapping) bool { return mp.Resource.Resource == resource || mp.Singular == resource },
		func(mp Mapping) bool { return slices.Contains(mp.ShortNames, resource) },
		func(mp Mapping) bool { return strings.ToLower(mp.Kind.Kind) == resource },
	}
	for _, pass := range passes {
		for _, mp := range m.mappings {
			if matches(mp, pass) {
				return mp, nil
			}
		}
	}
	return Mapping{}, &UnknownResourceError{Arg: arg}
}

// KindFor resolves a manifest's apiVersion and kind exactly.
func (m *Mapper) KindFor(gvk schema.GroupVersionKind) (Mapping, error) {
	var served []string
	for _, mp := range m.mappings {
		if mp.Kind.Group != gvk.Group || mp.Kind.Kind != gvk.Kind {
			continue
		}
		if mp.Kind.Version == gvk.Version {
			return mp, nil
		}
		served = append(served, mp.Kind.GroupVersion().String())
	}
	return Mapping{}, &UnknownKindError{GVK: gvk, Served: served}
}

// Category expands a category such as "all" to the preferred version of
// each resource in it, in discovery order.
func (m *Mapper) Category(name string) ([]Mapping, bool) {
	seen := map[schema.GroupResource]bool{}
	var out []Mapping
	for _, mp := range m.mappings {
		gr := mp.Resource.GroupResource()
		if seen[gr] || !slices.Contains(mp.Categories, name) {
			continue
		}
		seen[gr] = true
		out = append(out, mp)
	}
	return out, len(out) > 0
}
