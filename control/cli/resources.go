package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tug-sh/tug/control/cli/manifest"
	"github.com/tug-sh/tug/control/client"
)

// target is what one group of resource arguments asks for: a resource type
// as the user typed it ("rc", "pods", "all") and optional names.
type target struct {
	resource string
	names    []string
}

// errNoResourceType is returned when a command got no resource type.
var errNoResourceType = errors.New("you must specify the type of resource")

// parseTargets reads kubectl's resource argument forms:
//
//	TYPE                   pods
//	TYPE NAME...           pods a b
//	TYPE1,TYPE2 [NAME...]  rc,pods   (each name is looked up in each type)
//	TYPE/NAME...           pod/a rc/b
func parseTargets(args []string) ([]target, error) {
	if len(args) == 0 {
		return nil, errNoResourceType
	}
	if strings.Contains(args[0], "/") {
		var out []target
		for _, a := range args {
			typ, name, ok := strings.Cut(a, "/")
			if !ok {
				return nil, fmt.Errorf("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'tug get resource/<resource_name>' instead of 'tug get resource resource/<resource_name>')")
			}
			if typ == "" || name == "" {
				return nil, fmt.Errorf("arguments in resource/name form must have a single resource and name: %q", a)
			}
			if n := len(out); n > 0 && out[n-1].resource == typ {
				out[n-1].names = append(out[n-1].names, name)
				continue
			}
			out = append(out, target{resource: typ, names: []string{name}})
		}
		return out, nil
	}
	names := args[1:]
	for _, n := range names {
		if strings.Contains(n, "/") {
			return nil, fmt.Errorf("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'tug get resource/<resource_name>' instead of 'tug get resource resource/<resource_name>')")
		}
	}
	var out []target
	seen := map[string]bool{}
	for _, typ := range strings.Split(args[0], ",") {
		if typ == "" {
			return nil, fmt.Errorf("empty resource type in %q", args[0])
		}
		if seen[typ] {
			continue // "svc,svc" lists services once, as kubectl does
		}
		seen[typ] = true
		out = append(out, target{resource: typ, names: append([]string(nil), names...)})
	}
	return out, nil
}

// resolved is a target mapped to an API resource.
type resolved struct {
	mapping client.Mapping
	names   []string
	// namespace overrides the command's namespace (objects from files).
	namespace string
	// source is the manifest an object came from, for messages.
	source string
}

// resolveTargets maps targets to resources, expanding categories ("all").
func resolveTargets(m *client.Mapper, targets []target) ([]resolved, error) {
	var out []resolved
	for _, t := range targets {
		if mappings, ok := m.Category(t.resource); ok && !isResource(m, t.resource) {
			for _, mp := range mappings {
				out = append(out, resolved{mapping: mp, names: t.names})
			}
			continue
		}
		mp, err := m.ResourceFor(t.resource)
		if err != nil {
			return nil, err
		}
		out = append(out, resolved{mapping: mp, names: t.names})
	}
	return out, nil
}

func isResource(m *client.Mapper, arg string) bool {
	_, err := m.ResourceFor(arg)
	return err == nil
}

// fileTargets reads manifests and maps each object to its resource, with
// the object's own namespace when it has one. Objects that cannot be read
// or mapped are returned as errors next to the ones that can.
func fileTargets(m *client.Mapper, files []string, recursive bool, stdin io.Reader, namespace string, explicit bool) ([]resolved, error) {
	objs, readErr := manifest.Read(files, recursive, stdin)
	errs := []error{readErr}
	var out []resolved
	for _, o := range objs {
		mp, err := m.KindFor(o.Object.GroupVersionKind())
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", o.Source, err))
			continue
		}
		ns, err := objectNamespace(mp, o.Object.GetNamespace(), namespace, explicit)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		name := o.Object.GetName()
		if name == "" {
			errs = append(errs, fmt.Errorf("%s: line %d: the %s has no metadata.name", o.Source, o.Line, o.Object.GetKind()))
			continue
		}
		out = append(out, resolved{mapping: mp, names: []string{name}, namespace: ns, source: o.Source})
	}
	return out, errors.Join(errs...)
}

// objectNamespace picks the namespace of an object from a manifest: its
// own, else the command's. Like kubectl it refuses an object whose
// namespace differs from one given explicitly with -n.
func objectNamespace(mp client.Mapping, own, cmd string, explicit bool) (string, error) {
	if !mp.Namespaced {
		return "", nil
	}
	if own == "" {
		return cmd, nil
	}
	if explicit && own != cmd {
		return "", fmt.Errorf("the namespace from the provided object %q does not match the namespace %q. You must pass '--namespace=%s' to perform this operation.", own, cmd, own)
	}
	return own, nil
}

// namespaceFor is where r's objects live.
func (r resolved) namespaceFor(cmd string) string {
	if !r.mapping.Namespaced {
		return ""
	}
	if r.namespace != "" {
		return r.namespace
	}
	return cmd
}
