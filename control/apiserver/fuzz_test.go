package apiserver

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tug-sh/tug/control/registry"
	"github.com/tug-sh/tug/control/storage"
)

// fuzzResources are the resources the fuzz targets exercise, by name.
func fuzzResources() map[string]*resource {
	out := map[string]*resource{}
	for _, r := range registry.Resources() {
		out[r.Name] = newResource(r)
	}
	return out
}

// FuzzDecodeCreateBody feeds arbitrary bodies through the create path's
// pure part: decoding (JSON, YAML or protobuf, with strict field
// validation), server metadata, the strategy's defaults and validation,
// and the storage round trip. Nothing may panic, and an accepted object
// must come back from storage as it went in.
func FuzzDecodeCreateBody(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i"}]}}`), uint8(0), uint8(0))
	f.Add([]byte(`{"kind":"Service","spec":{"type":"NodePort","ports":[{"port":80,"nodePort":30001}]}}`), uint8(1), uint8(2))
	f.Add([]byte("apiVersion: v1\nkind: ReplicationController\nmetadata:\n  name: r\nspec:\n  replicas: 2\n"), uint8(2), uint8(1))
	f.Add([]byte("k8s\x00\n\x0b\n\x02v1\x12\x05Event"), uint8(3), uint8(3))
	resources := fuzzResources()
	names := []string{"pods", "services", "replicationcontrollers", "events", "namespaces", "nodes", "endpoints"}
	contentTypes := []string{"application/json", "application/yaml", mediaProtobuf, ""}
	validations := []string{validationStrict, validationWarn, validationIgnore}
	f.Fuzz(func(t *testing.T, body []byte, which, how uint8) {
		res := resources[names[int(which)%len(names)]]
		obj := res.New()
		ct := contentTypes[int(how)%len(contentTypes)]
		if _, err := decodeBody(body, ct, obj, res.gvk, validations[int(how)%len(validations)]); err != nil {
			if toStatus(err).Status().Code >= 500 {
				t.Fatalf("decoding failure answered as a server error: %v", err)
			}
			return
		}
		if res.Namespaced {
			obj.SetNamespace("default")
		}
		prepareCreate(res, obj, time.Unix(1700000000, 0))
		if len(res.Strategy.Validate(obj)) > 0 {
			return
		}
		data, err := res.encodeStored(obj)
		if err != nil {
			t.Fatalf("encoding a valid %s: %v", res.Kind, err)
		}
		back, err := res.decodeStored(storage.KV{Key: "k", Value: data, Revision: 5})
		if err != nil {
			t.Fatalf("decoding a stored %s: %v", res.Kind, err)
		}
		again, err := res.encodeStored(back)
		if err != nil || !bytes.Equal(data, again) {
			t.Fatalf("storage round trip changed the %s:\n%s\n%s", res.Kind, data, again)
		}
	})
}

// FuzzApplyPatch applies arbitrary patches of each type to a pod, as
// PATCH does. Nothing may panic; failures are client errors; a patch that
// applies yields JSON that either decodes as a Pod or is refused cleanly.
func FuzzApplyPatch(f *testing.F) {
	f.Add(uint8(0), []byte(`[{"op":"add","path":"/metadata/labels/x","value":"y"}]`))
	f.Add(uint8(1), []byte(`{"metadata":{"labels":{"a":null,"b":"c"}}}`))
	f.Add(uint8(2), []byte(`{"spec":{"containers":[{"name":"c","image":"new"}]}}`))
	f.Add(uint8(2), []byte(`{"spec":{"$setElementOrder/containers":[{"name":"d"},{"name":"c"}],"containers":[{"name":"d","image":"x"}]}}`))
	f.Add(uint8(2), []byte(`{"spec":{"containers":[{"name":"c","$patch":"delete"}]}}`))
	f.Add(uint8(2), []byte(`{"metadata":{"$retainKeys":["name"],"name":"p"}}`))
	res := fuzzResources()["pods"]
	pod := &corev1.Pod{}
	pod.Name, pod.Namespace, pod.ResourceVersion = "p", "default", "7"
	pod.Labels = map[string]string{"a": "b"}
	pod.Spec.Containers = []corev1.Container{{Name: "c", Image: "i", Env: []corev1.EnvVar{{Name: "E", Value: "1"}}}}
	res.setTypeMeta(pod)
	original, err := json.Marshal(pod)
	if err != nil {
		f.Fatal(err)
	}
	pts := []types.PatchType{types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType}
	f.Fuzz(func(t *testing.T, which uint8, patch []byte) {
		pt := pts[int(which)%len(pts)]
		out, err := applyPatch(pt, original, patch, res.New())
		if err != nil {
			if code := toStatus(err).Status().Code; code >= 500 {
				t.Fatalf("%s patch %q failed as a server error: %v", pt, patch, err)
			}
			return
		}
		if _, err := decodeJSON(out, res.New(), res.gvk, validationStrict); err != nil && toStatus(err).Status().Code >= 500 {
			t.Fatalf("patched document refused as a server error: %v", err)
		}
	})
}
