package apiserver

import (
	"bytes"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"

	"github.com/tug-sh/tug/control/registry"
)

var podGVK = corev1.SchemeGroupVersion.WithKind("Pod")

func TestDecodeBodyFieldValidation(t *testing.T) {
	body := []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"foo":1,"containers":[{"name":"c","image":"i","bar":2}]}}`)
	pod := &corev1.Pod{}
	if _, err := decodeBody(body, "application/json", pod, podGVK, validationStrict); err == nil {
		t.Fatal("Strict accepted unknown fields")
	} else {
		st := toStatus(err).Status()
		if st.Code != 422 || st.Details == nil || len(st.Details.Causes) != 2 {
			t.Fatalf("Strict: status %+v, want 422 with two causes", st)
		}
		fields := []string{st.Details.Causes[0].Field, st.Details.Causes[1].Field}
		if !strings.Contains(strings.Join(fields, " "), "spec.foo") || !strings.Contains(strings.Join(fields, " "), "spec.containers[0].bar") {
			t.Errorf("causes name fields %v, want spec.foo and spec.containers[0].bar", fields)
		}
	}
	pod = &corev1.Pod{}
	warnings, err := decodeBody(body, "application/json", pod, podGVK, validationWarn)
	if err != nil || len(warnings) != 2 {
		t.Fatalf("Warn: warnings %v, err %v; want two warnings", warnings, err)
	}
	if pod.Name != "p" || pod.Spec.Containers[0].Image != "i" {
		t.Errorf("Warn: decoded %+v", pod)
	}
	warnings, err = decodeBody(body, "application/json", &corev1.Pod{}, podGVK, validationIgnore)
	if err != nil || len(warnings) != 0 {
		t.Fatalf("Ignore: warnings %v, err %v; want none", warnings, err)
	}
	dup := []byte(`{"metadata":{"name":"a","name":"b"}}`)
	if _, err := decodeBody(dup, "", &corev1.Pod{}, podGVK, validationStrict); toStatus(err).Status().Code != 422 {
		t.Errorf("Strict accepted a duplicate field: %v", err)
	}
}

func TestDecodeBodyRejects(t *testing.T) {
	tests := []struct {
		name, body, contentType string
		code                    int32
	}{
		{"another kind", `{"apiVersion":"v1","kind":"Service"}`, "application/json", 400},
		{"another version", `{"apiVersion":"apps/v1","kind":"Pod"}`, "application/json", 400},
		{"not an object", `[1,2]`, "application/json", 400},
		{"bad json", `{"metadata":`, "application/json", 400},
		{"wrong type", `{"metadata":{"name":5}}`, "application/json", 400},
		{"unknown media type", `x`, "text/plain", 415},
		{"bad protobuf", "k8s\x00\xff\xff", mediaProtobuf, 400},
	}
	for _, tt := range tests {
		_, err := decodeBody([]byte(tt.body), tt.contentType, &corev1.Pod{}, podGVK, validationStrict)
		if got := toStatus(err).Status().Code; got != tt.code {
			t.Errorf("%s: code %d (%v), want %d", tt.name, got, err, tt.code)
		}
	}
}

func TestDecodeBodyYAMLAndProtobuf(t *testing.T) {
	yamlBody := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: yml\nspec:\n  containers:\n  - name: c\n    image: i\n"
	pod := &corev1.Pod{}
	if _, err := decodeBody([]byte(yamlBody), "application/yaml", pod, podGVK, validationStrict); err != nil || pod.Name != "yml" {
		t.Fatalf("YAML: %v, %+v", err, pod.ObjectMeta)
	}
	scheme := registry.NewScheme()
	var buf bytes.Buffer
	in := &corev1.Pod{TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"}, ObjectMeta: metav1.ObjectMeta{Name: "pb", Labels: map[string]string{"a": "b"}}}
	if err := protobuf.NewSerializer(scheme, scheme).Encode(in, &buf); err != nil {
		t.Fatal(err)
	}
	out := &corev1.Pod{}
	if _, err := decodeBody(buf.Bytes(), mediaProtobuf, out, podGVK, validationStrict); err != nil {
		t.Fatalf("protobuf: %v", err)
	}
	if out.Name != "pb" || out.Labels["a"] != "b" || out.Kind != "Pod" {
		t.Errorf("protobuf decoded %+v", out)
	}
	if _, err := decodeBody(buf.Bytes(), mediaProtobuf, &corev1.Service{}, corev1.SchemeGroupVersion.WithKind("Service"), validationStrict); toStatus(err).Status().Code != 400 {
		t.Errorf("protobuf Pod accepted as a Service: %v", err)
	}
	var opts bytes.Buffer
	grace := int64(3)
	if err := protobuf.NewSerializer(scheme, scheme).Encode(&metav1.DeleteOptions{TypeMeta: metav1.TypeMeta{Kind: "DeleteOptions", APIVersion: "v1"}, GracePeriodSeconds: &grace}, &opts); err != nil {
		t.Fatal(err)
	}
	do := &metav1.DeleteOptions{}
	if err := decodeDeleteOptions(opts.Bytes(), mediaProtobuf, do); err != nil || do.GracePeriodSeconds == nil || *do.GracePeriodSeconds != 3 {
		t.Fatalf("protobuf DeleteOptions: %v, %+v", err, do)
	}
}
