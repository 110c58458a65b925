package openapi

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Kind is one resource (or subresource) the API serves and the Go type of
// its objects.
type Kind struct {
	// Group, Version and Kind name the objects' type ("" for the core
	// group): for pods/binding it is v1 Binding, for
	// replicationcontrollers/scale autoscaling/v1 Scale.
	Group, Version, Kind string
	// Object is a value of the objects' Go type, such as &corev1.Pod{}.
	Object any
	// List is a value of the list type, such as &corev1.PodList{}; needed
	// for the list, watch and deletecollection verbs.
	List any
	// Resource is the URL name: "pods", or "pods/status" and
	// "replicationcontrollers/scale" for subresources.
	Resource string
	// Namespaced resources live under /namespaces/{namespace}/.
	Namespaced bool
	// Verbs are those of discovery: get, list, watch, create, update,
	// patch, delete, deletecollection. A subresource has at most get,
	// create, update and patch.
	Verbs []string
	// PathPrefix is the group-version root the resource is served under:
	// "/api/v1" or "/apis/<group>/<version>". Empty means the root of
	// Group and Version; a subresource whose kind belongs to another group
	// (Scale under /api/v1) names its parent's root.
	PathPrefix string
}

var knownVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}

// subresourceVerbs are the verbs a subresource may have.
var subresourceVerbs = []string{"get", "create", "update", "patch"}

// resolvedKind is a checked Kind with what Build derives from it.
type resolvedKind struct {
	Kind
	objectType, listType reflect.Type
	parent, sub          string // "pods", "status"
	pathGroup, pathVer   string
	prefix               string
}

func (k *resolvedKind) gvk() gvk { return gvk{Group: k.Group, Version: k.Version, Kind: k.Kind.Kind} }

func (k *resolvedKind) has(verb string) bool { return slices.Contains(k.Verbs, verb) }

// resolve checks k and says what is wrong in terms of its fields.
func resolve(k Kind) (*resolvedKind, error) {
	r := &resolvedKind{Kind: k}
	id := fmt.Sprintf("kind %q (group %q, version %q, resource %q)", k.Kind, k.Group, k.Version, k.Resource)
	if k.Kind == "" || k.Version == "" {
		return nil, fmt.Errorf("%s: Kind and Version are required", id)
	}
	var err error
	if r.objectType, err = structType(k.Object); err != nil {
		return nil, fmt.Errorf("%s: Object: %w", id, err)
	}
	if k.List != nil {
		if r.listType, err = structType(k.List); err != nil {
			return nil, fmt.Errorf("%s: List: %w", id, err)
		}
	}
	if k.Resource == "" || strings.Count(k.Resource, "/") > 1 || strings.HasPrefix(k.Resource, "/") || strings.HasSuffix(k.Resource, "/") {
		return nil, fmt.Errorf("%s: Resource must be \"name\" or \"name/subresource\"", id)
	}
	r.parent, r.sub, _ = strings.Cut(k.Resource, "/")
	if len(k.Verbs) == 0 {
		return nil, fmt.Errorf("%s: no verbs", id)
	}
	for _, v := range k.Verbs {
		switch {
		case !slices.Contains(knownVerbs, v):
			return nil, fmt.Errorf("%s: unknown verb %q (known: %s)", id, v, strings.Join(knownVerbs, ", "))
		case r.sub != "" && !slices.Contains(subresourceVerbs, v):
			return nil, fmt.Errorf("%s: verb %q on a subresource (allowed: %s)", id, v, strings.Join(subresourceVerbs, ", "))
		case (v == "list" || v == "watch" || v == "deletecollection") && r.listType == nil:
			return nil, fmt.Errorf("%s: verb %q needs List, the list type", id, v)
		}
	}
	r.prefix = k.PathPrefix
	if r.prefix == "" {
		r.prefix = "/apis/" + k.Group + "/" + k.Version
		if k.Group == "" {
			r.prefix = "/api/" + k.Version
		}
	}
	if r.pathGroup, r.pathVer, err = parsePrefix(r.prefix); err != nil {
		return nil, fmt.Errorf("%s: PathPrefix: %w", id, err)
	}
	return r, nil
}

func structType(v any) (reflect.Type, error) {
	if v == nil {
		return nil, fmt.Errorf("missing (give a value such as &corev1.Pod{})")
	}
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t.Name() == "" {
		return nil, fmt.Errorf("%s is not a named struct type", t)
	}
	return t, nil
}

// parsePrefix splits "/api/v1" or "/apis/<group>/<version>".
func parsePrefix(p string) (group, version string, err error) {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	switch {
	case len(parts) == 2 && parts[0] == "api" && parts[1] != "":
		return "", parts[1], nil
	case len(parts) == 3 && parts[0] == "apis" && parts[1] != "" && parts[2] != "":
		return parts[1], parts[2], nil
	}
	return "", "", fmt.Errorf("%q is neither /api/<version> nor /apis/<group>/<version>", p)
}
