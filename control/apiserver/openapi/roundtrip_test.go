package openapi_test

import (
	"encoding/json"
	"math/rand"
	"reflect"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/kube-openapi/pkg/util/proto/validation"
	"sigs.k8s.io/randfill"
)

// filler fills every field of an object with random values; the types
// with their own JSON encoding get values that encode.
func filler(seed int64) *randfill.Filler {
	return randfill.New().RandSource(rand.NewSource(seed)).NilChance(0).NumElements(1, 2).MaxDepth(64).Funcs(
		func(q *resource.Quantity, c randfill.Continue) {
			*q = *resource.NewQuantity(c.Int63n(1<<20), resource.DecimalSI)
		},
		func(v *intstr.IntOrString, c randfill.Continue) {
			if c.Bool() {
				*v = intstr.FromInt32(c.Int31n(65536))
			} else {
				*v = intstr.FromString(c.String(8))
			}
		},
		func(v *metav1.Time, c randfill.Continue) { *v = metav1.Unix(c.Int63n(2e9), 0) },
		func(v *metav1.MicroTime, c randfill.Continue) { *v = metav1.NewMicroTime(time.Unix(c.Int63n(2e9), 0)) },
		func(v *runtime.RawExtension, c randfill.Continue) { v.Raw = []byte(`{"apiVersion":"v1","kind":"Pod"}`) },
		func(v *metav1.FieldsV1, c randfill.Continue) { v.Raw = []byte(`{"f:metadata":{}}`) },
	)
}

// Every field the Go types write validates against the document: the
// schema describes the JSON the API really sends, all of it.
func TestRandomObjectsValidate(t *testing.T) {
	models, index := kubectlModels(t, build(t))
	for _, k := range tugKinds() {
		for _, obj := range []any{k.Object, k.List} {
			if obj == nil {
				continue
			}
			typ := reflect.TypeOf(obj).Elem()
			gvk := schema.GroupVersionKind{Group: k.Group, Version: k.Version, Kind: typ.Name()}
			model := models.LookupModel(index[gvk])
			if model == nil {
				t.Fatalf("no model for %v", gvk)
			}
			for seed := range int64(10) {
				v := reflect.New(typ).Interface()
				filler(seed).Fill(v)
				b, err := json.Marshal(v)
				if err != nil {
					t.Fatalf("%v seed %d: %v", gvk, seed, err)
				}
				var generic any
				if err := json.Unmarshal(b, &generic); err != nil {
					t.Fatal(err)
				}
				if errs := validation.ValidateModel(generic, model, gvk.Kind); len(errs) != 0 {
					t.Fatalf("%v seed %d: a real object fails validation: %v", gvk, seed, errs)
				}
			}
		}
	}
}
