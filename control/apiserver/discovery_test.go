package apiserver_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/metadata"

	"github.com/tug-sh/tug/control/apiserver/apitest"
)

func TestDiscovery(t *testing.T) {
	env := apitest.Start(t)
	var versions metav1.APIVersions
	call(t, env, "GET", "/api", nil).into(t, &versions)
	if versions.Kind != "APIVersions" || len(versions.Versions) != 1 || versions.Versions[0] != "v1" {
		t.Errorf("/api: %+v", versions)
	}
	var groups metav1.APIGroupList
	r := call(t, env, "GET", "/apis", nil, "Accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")
	r.into(t, &groups)
	if r.code != 200 || groups.Kind != "APIGroupList" || len(groups.Groups) != 1 || groups.Groups[0].PreferredVersion.GroupVersion != "metrics.k8s.io/v1beta1" || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Errorf("/apis: %d %s", r.code, r.body)
	}
	var info version.Info
	call(t, env, "GET", "/version", nil).into(t, &info)
	if info.Major != "1" || info.Minor != "32" || info.GitVersion != "v1.32.0-tug" {
		t.Errorf("/version: %+v", info)
	}
	var list metav1.APIResourceList
	call(t, env, "GET", "/api/v1", nil).into(t, &list)
	byName := map[string]metav1.APIResource{}
	for _, r := range list.APIResources {
		byName[r.Name] = r
	}
	pods := byName["pods"]
	if pods.Kind != "Pod" || !pods.Namespaced || pods.SingularName != "pod" || strings.Join(pods.ShortNames, ",") != "po" ||
		strings.Join(pods.Categories, ",") != "all" || len(pods.Verbs) != 8 {
		t.Errorf("pods: %+v", pods)
	}
	if ns := byName["namespaces"]; ns.Namespaced || strings.Join(ns.ShortNames, ",") != "ns" {
		t.Errorf("namespaces: %+v", ns)
	}
	if sc := byName["replicationcontrollers/scale"]; sc.Group != "autoscaling" || sc.Version != "v1" || sc.Kind != "Scale" {
		t.Errorf("scale: %+v", sc)
	}
	for _, name := range []string{"pods/status", "pods/binding", "pods/log", "pods/exec", "namespaces/finalize", "services/status", "nodes/status", "nodes/proxy", "bindings", "events", "endpoints"} {
		if _, ok := byName[name]; !ok {
			t.Errorf("discovery lacks %s", name)
		}
	}
	// client-go's discovery (aggregated first, falling back) works.
	_, resources, err := env.Client.Discovery().ServerGroupsAndResources()
	if err != nil || len(resources) != 2 || resources[0].GroupVersion != "v1" || resources[1].GroupVersion != "metrics.k8s.io/v1beta1" {
		t.Fatalf("client-go discovery: %v %v", err, resources)
	}
}

func TestOpenAPIAndHealth(t *testing.T) {
	env := apitest.Start(t)
	r := call(t, env, "GET", "/openapi/v2", nil, "Accept", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
	if r.code != 200 {
		t.Errorf("/openapi/v2 protobuf: %d", r.code)
	}
	r = call(t, env, "GET", "/openapi/v2", nil, "Accept", "application/json")
	var doc map[string]any
	r.into(t, &doc)
	if r.code != 200 || doc["swagger"] != "2.0" {
		t.Errorf("/openapi/v2 json: %d %s", r.code, r.body)
	}
	if r := call(t, env, "GET", "/openapi/v3", nil); r.code != 404 {
		t.Errorf("/openapi/v3: %d", r.code)
	}
	for _, p := range []string{"/healthz", "/livez", "/readyz"} {
		if r := call(t, env, "GET", p, nil); r.code != 200 || string(r.body) != "ok" {
			t.Errorf("%s: %d %q", p, r.code, r.body)
		}
	}
	call(t, env, "GET", "/api/v1/namespaces/default/pods/none", nil)
	m := string(call(t, env, "GET", "/metrics", nil).body)
	for _, want := range []string{
		`apiserver_request_total{code="404",resource="pods",subresource="",verb="GET"} 1`,
		`apiserver_request_duration_seconds_count{resource="pods",verb="GET"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepLines(m, "apiserver_"))
		}
	}
}

func TestTables(t *testing.T) {
	env := apitest.Start(t)
	if _, err := env.Client.CoreV1().ReplicationControllers("default").Create(ctx(t), testRC("tab", 3), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
	var tab metav1.Table
	r := call(t, env, "GET", "/api/v1/namespaces/default/replicationcontrollers?limit=500", nil, "Accept", accept)
	r.into(t, &tab)
	var cols []string
	for _, c := range tab.ColumnDefinitions {
		cols = append(cols, c.Name)
	}
	if tab.Kind != "Table" || tab.APIVersion != "meta.k8s.io/v1" || tab.ResourceVersion == "" ||
		strings.Join(cols, " ") != "Name Desired Current Ready Age Containers Images Selector" || len(tab.Rows) != 1 {
		t.Fatalf("table: %s", r.body)
	}
	var obj metav1.PartialObjectMetadata
	if err := json.Unmarshal(tab.Rows[0].Object.Raw, &obj); err != nil || obj.Kind != "PartialObjectMetadata" || obj.Name != "tab" {
		t.Errorf("row object: %v %s", err, tab.Rows[0].Object.Raw)
	}
	if tab.Rows[0].Cells[0] != "tab" || tab.Rows[0].Cells[1] != float64(3) {
		t.Errorf("cells %v", tab.Rows[0].Cells)
	}
	r = call(t, env, "GET", "/api/v1/namespaces/default/replicationcontrollers/tab?includeObject=Object", nil, "Accept", accept)
	r.into(t, &tab)
	var full corev1.ReplicationController
	if err := json.Unmarshal(tab.Rows[0].Object.Raw, &full); err != nil || full.Kind != "ReplicationController" || *full.Spec.Replicas != 3 {
		t.Errorf("includeObject=Object: %v %s", err, r.body)
	}
	r = call(t, env, "GET", "/api/v1/namespaces/default/replicationcontrollers?includeObject=None", nil, "Accept", accept)
	if !strings.Contains(string(r.body), `"object":null`) || strings.Contains(string(r.body), `"metadata":{"name"`) {
		t.Errorf("includeObject=None: %s", r.body)
	}
	// The metadata client (garbage collector style).
	mc, err := metadata.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ml, err := mc.Resource(corev1.SchemeGroupVersion.WithResource("replicationcontrollers")).Namespace("default").List(ctx(t), metav1.ListOptions{})
	if err != nil || len(ml.Items) != 1 || ml.Items[0].Name != "tab" || ml.Items[0].UID == "" {
		t.Fatalf("metadata list: %v %+v", err, ml)
	}
	one, err := mc.Resource(corev1.SchemeGroupVersion.WithResource("replicationcontrollers")).Namespace("default").Get(ctx(t), "tab", metav1.GetOptions{})
	if err != nil || one.Name != "tab" {
		t.Fatalf("metadata get: %v %+v", err, one)
	}
}

// TestEventsExpire checks that events are stored with a one-hour lease.
func TestEventsExpire(t *testing.T) {
	env := apitest.Start(t)
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "e1"},
		InvolvedObject: corev1.ObjectReference{Kind: "Widget", Name: "anything", Namespace: "default"},
		Reason:         "Tested", Message: "hello", Type: corev1.EventTypeNormal,
		Source: corev1.EventSource{Component: "test"}, Count: 1,
	}
	if _, err := env.Client.CoreV1().Events("default").Create(ctx(t), ev, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cli := env.Etcd.Store.Client()
	resp, err := cli.Get(ctx(t), "/registry/events/default/e1")
	if err != nil || len(resp.Kvs) != 1 || resp.Kvs[0].Lease == 0 {
		t.Fatalf("stored event: %v %+v", err, resp)
	}
	ttl, err := cli.TimeToLive(ctx(t), clientv3.LeaseID(resp.Kvs[0].Lease))
	if err != nil || ttl.GrantedTTL != int64(time.Hour/time.Second) {
		t.Errorf("event lease: %v %+v", err, ttl)
	}
	list, err := env.Client.CoreV1().Events("default").List(ctx(t), metav1.ListOptions{FieldSelector: "involvedObject.kind=Widget,involvedObject.name=anything"})
	if err != nil || len(list.Items) != 1 {
		t.Errorf("events by involvedObject: %v %d", err, len(list.Items))
	}
}
