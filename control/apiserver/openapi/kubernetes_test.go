package openapi_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tug-sh/tug/control/apiserver/openapi"
)

// kubernetesSwagger reads the OpenAPI v2 document of a real Kubernetes API
// server (v1.27) that k8s.io/kube-openapi ships as test data.
func kubernetesSwagger(t *testing.T) map[string]any {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "k8s.io/kube-openapi").Output()
	if err != nil {
		t.Fatalf("locating k8s.io/kube-openapi (a dependency of client-go) with go list: %v", err)
	}
	path := filepath.Join(strings.TrimSpace(string(out)), "pkg", "schemaconv", "testdata", "swagger.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading Kubernetes' own swagger.json: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// Differences from Kubernetes v1.27's document that are expected, each
// with its reason. Anything else is a generator bug.
var expectedDifferences = map[string]string{
	// +optional markers live in Go comments, which reflection cannot read;
	// these fields lack omitempty, so they come out required.
	"required io.k8s.api.core.v1.ContainerImage.names":          "+optional without omitempty",
	"required io.k8s.api.core.v1.Event.reportingComponent":      "+optional without omitempty",
	"required io.k8s.api.core.v1.Event.reportingInstance":       "+optional without omitempty",
	"required io.k8s.api.core.v1.ProjectedVolumeSource.sources": "+optional without omitempty",
	// A pointer without omitempty that Kubernetes marks required
	// (pointers are optional here).
	"optional io.k8s.api.core.v1.ScaleIOVolumeSource.secretRef": "required pointer",
	// Changes to the API types since v1.27.
	"required io.k8s.api.core.v1.HostAlias.ip":                                     "+required since v1.30",
	"required io.k8s.api.core.v1.PodIP.ip":                                         "+required since v1.30",
	"shape io.k8s.api.core.v1.PersistentVolumeClaimSpec.resources":                 "VolumeResourceRequirements since v1.29",
	"missing io.k8s.api.core.v1.PodResourceClaim.source":                           "replaced by resourceClaimName in v1.31",
	"shape io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement.key":      "patch strategy dropped after v1.27",
	"response DELETE /api/v1/namespaces/{namespace}/endpoints/{name}":              "Kubernetes documents Status for immediate deletes",
	"response DELETE /api/v1/namespaces/{namespace}/events/{name}":                 "Kubernetes documents Status for immediate deletes",
	"response DELETE /api/v1/namespaces/{namespace}/replicationcontrollers/{name}": "Kubernetes documents Status for immediate deletes",
	"response DELETE /api/v1/namespaces/{name}":                                    "Kubernetes documents Status for immediate deletes",
	"response DELETE /api/v1/nodes/{name}":                                         "Kubernetes documents Status for immediate deletes",
}

// shape is what a property means to a client: types, formats, references
// and patch directives, recursively; prose and list markers aside.
func shape(s any) any {
	m, ok := s.(map[string]any)
	if !ok {
		return nil
	}
	out := map[string]any{}
	for _, k := range []string{"type", "format", "$ref", "x-kubernetes-patch-strategy", "x-kubernetes-patch-merge-key"} {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	for _, k := range []string{"items", "additionalProperties"} {
		if v, ok := m[k]; ok {
			out[k] = shape(v)
		}
	}
	return out
}

func TestMatchesKubernetes(t *testing.T) {
	var ours map[string]any
	doc, err := openapi.Build(tugKinds(), openapi.WithServerFieldValidation())
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(doc.JSON(), &ours); err != nil {
		t.Fatal(err)
	}
	kube := kubernetesSwagger(t)
	found := map[string]bool{}
	differ := func(key, detail string) {
		if _, ok := expectedDifferences[key]; ok {
			found[key] = true
			return
		}
		t.Errorf("%s: %s", key, detail)
	}

	ourDefs, kubeDefs := ours["definitions"].(map[string]any), kube["definitions"].(map[string]any)
	compared := 0
	for name, o := range ourDefs {
		k, ok := kubeDefs[name].(map[string]any)
		if !ok {
			continue // a type added after v1.27
		}
		compared++
		od := o.(map[string]any)
		if od["type"] != k["type"] || od["format"] != k["format"] {
			differ("type "+name, "ours "+str(od["type"], od["format"])+", Kubernetes "+str(k["type"], k["format"]))
		}
		ourProps, _ := od["properties"].(map[string]any)
		kubeProps, _ := k["properties"].(map[string]any)
		for p, kp := range kubeProps {
			op, ok := ourProps[p]
			if !ok {
				differ("missing "+name+"."+p, "property missing")
				continue
			}
			if !reflect.DeepEqual(shape(op), shape(kp)) {
				differ("shape "+name+"."+p, "ours "+str(shape(op))+", Kubernetes "+str(shape(kp)))
			}
		}
		ourReq, kubeReq := stringList(od["required"]), stringList(k["required"])
		for p := range kubeProps {
			switch {
			case slices.Contains(ourReq, p) && !slices.Contains(kubeReq, p):
				differ("required "+name+"."+p, "required here, optional in Kubernetes")
			case !slices.Contains(ourReq, p) && slices.Contains(kubeReq, p):
				differ("optional "+name+"."+p, "optional here, required in Kubernetes")
			}
		}
		// Every kind we claim, Kubernetes claims for the same definition.
		kubeGVKs, _ := k["x-kubernetes-group-version-kind"].([]any)
		ourGVKs, _ := od["x-kubernetes-group-version-kind"].([]any)
		for _, g := range ourGVKs {
			if !slices.ContainsFunc(kubeGVKs, func(x any) bool { return reflect.DeepEqual(x, g) }) {
				differ("gvk "+name, str(g)+" is not Kubernetes' kind for this definition")
			}
		}
	}
	if compared < 150 {
		t.Fatalf("only %d definitions compared", compared)
	}

	ourPaths, kubePaths := ours["paths"].(map[string]any), kube["paths"].(map[string]any)
	for path, o := range ourPaths {
		k, ok := kubePaths[path].(map[string]any)
		if !ok {
			t.Errorf("path %s is not one of Kubernetes'", path)
			continue
		}
		op := o.(map[string]any)
		for _, method := range []string{"get", "put", "post", "delete", "patch"} {
			oo, _ := op[method].(map[string]any)
			ko, _ := k[method].(map[string]any)
			if oo == nil {
				continue // Kubernetes may serve more verbs than tug
			}
			key := strings.ToUpper(method) + " " + path
			if ko == nil {
				t.Errorf("%s: Kubernetes has no such operation", key)
				continue
			}
			for _, f := range []string{"operationId", "x-kubernetes-action", "x-kubernetes-group-version-kind", "consumes"} {
				if !reflect.DeepEqual(oo[f], ko[f]) {
					t.Errorf("%s %s: ours %v, Kubernetes %v", key, f, oo[f], ko[f])
				}
			}
			if !reflect.DeepEqual(responseShape(oo), responseShape(ko)) {
				differ("response "+key, "200: ours "+str(responseShape(oo))+", Kubernetes "+str(responseShape(ko)))
			}
			// Every parameter Kubernetes documents, we document.
			ours := paramNames(oo["parameters"], op["parameters"])
			for _, p := range paramNames(ko["parameters"], k["parameters"]) {
				if !slices.Contains(ours, p) {
					t.Errorf("%s: parameter %q missing", key, p)
				}
			}
		}
	}
	for key, why := range expectedDifferences {
		if !found[key] {
			t.Errorf("expected difference %q (%s) no longer occurs: remove it", key, why)
		}
	}
}

func responseShape(op map[string]any) any {
	r, _ := op["responses"].(map[string]any)
	ok, _ := r["200"].(map[string]any)
	return shape(ok["schema"])
}

func paramNames(lists ...any) []string {
	var out []string
	for _, l := range lists {
		items, _ := l.([]any)
		for _, p := range items {
			out = append(out, p.(map[string]any)["name"].(string))
		}
	}
	return out
}

func stringList(v any) []string {
	items, _ := v.([]any)
	out := make([]string, 0, len(items))
	for _, x := range items {
		out = append(out, x.(string))
	}
	return out
}

func str(v ...any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
