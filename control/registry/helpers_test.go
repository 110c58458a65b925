package registry

import (
	"sort"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

// now is the fixed clock of the tests.
var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// resourceFor returns the named resource.
func resourceFor(t *testing.T, name string) Resource {
	t.Helper()
	for _, r := range Resources() {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no resource %q", name)
	return Resource{}
}

// strategyFor returns the Strategy of the named resource.
func strategyFor(t *testing.T, name string) Strategy {
	t.Helper()
	return resourceFor(t, name).Strategy
}

// decode parses a YAML manifest into obj.
func decode(t *testing.T, manifest string, obj any) {
	t.Helper()
	if err := yaml.UnmarshalStrict([]byte(manifest), obj); err != nil {
		t.Fatalf("decoding manifest: %v\n%s", err, manifest)
	}
}

// create runs the create path of the API server over obj, with the
// namespace "default" when a namespaced object has none (the server takes
// it from the URL).
func create(t *testing.T, resource string, obj Object) field.ErrorList {
	t.Helper()
	s := strategyFor(t, resource)
	if resourceFor(t, resource).Namespaced && obj.GetNamespace() == "" {
		obj.SetNamespace("default")
	}
	s.PrepareForCreate(obj)
	s.Default(obj)
	return s.Validate(obj)
}

// update runs the update path over obj (old is the stored object).
func update(t *testing.T, resource string, obj, old Object) field.ErrorList {
	t.Helper()
	s := strategyFor(t, resource)
	s.PrepareForUpdate(obj, old)
	s.Default(obj)
	return s.ValidateUpdate(obj, old)
}

// errorSummary renders errors as sorted "field: Type" lines, the parts
// tests pin down.
func errorSummary(errs field.ErrorList) string {
	lines := make([]string, len(errs))
	for i, e := range errs {
		lines[i] = e.Field + ": " + string(e.Type)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func mustValid(t *testing.T, errs field.ErrorList) {
	t.Helper()
	if len(errs) > 0 {
		t.Fatalf("unexpected validation errors:\n%v", errs.ToAggregate())
	}
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.Trim(s, "\n"), "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}

func toYAML(t *testing.T, v any) string {
	t.Helper()
	out, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func resourceQuantity(s string) *resource.Quantity {
	q := resource.MustParse(s)
	return &q
}
