package apiserver_test

import (
	"fmt"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tug-sh/tug/control/apiserver/apitest"
)

func names(pods []corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Namespace+"/"+p.Name)
	}
	return out
}

func TestListSelectors(t *testing.T) {
	env := apitest.Start(t)
	c := env.Client.CoreV1()
	if _, err := c.Namespaces().Create(ctx(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ ns, name, app string }{{"default", "a1", "a"}, {"default", "b1", "b"}, {"other", "a2", "a"}} {
		pod := testPod(p.name)
		pod.Labels = map[string]string{"app": p.app}
		if _, err := c.Pods(p.ns).Create(ctx(t), pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	bind(t, env, "default", "b1", "node-1")
	tests := []struct {
		ns       string
		opts     metav1.ListOptions
		want     string
		wantCode int32
	}{
		{ns: "", want: "[default/a1 default/b1 other/a2]"},
		{ns: "default", want: "[default/a1 default/b1]"},
		{ns: "", opts: metav1.ListOptions{LabelSelector: "app=a"}, want: "[default/a1 other/a2]"},
		{ns: "", opts: metav1.ListOptions{LabelSelector: "app in (b)"}, want: "[default/b1]"},
		{ns: "", opts: metav1.ListOptions{FieldSelector: "metadata.name=a2"}, want: "[other/a2]"},
		{ns: "", opts: metav1.ListOptions{FieldSelector: "metadata.namespace=default,metadata.name!=a1"}, want: "[default/b1]"},
		{ns: "", opts: metav1.ListOptions{FieldSelector: "spec.nodeName=node-1"}, want: "[default/b1]"},
		{ns: "", opts: metav1.ListOptions{FieldSelector: "spec.nodeName="}, want: "[default/a1 other/a2]"},
		{ns: "", opts: metav1.ListOptions{FieldSelector: "status.phase=Pending", LabelSelector: "app=a"}, want: "[default/a1 other/a2]"},
		{ns: "", opts: metav1.ListOptions{FieldSelector: "spec.bogus=1"}, wantCode: 400},
		{ns: "", opts: metav1.ListOptions{LabelSelector: "app=(("}, wantCode: 400},
	}
	for _, tt := range tests {
		list, err := c.Pods(tt.ns).List(ctx(t), tt.opts)
		if tt.wantCode != 0 {
			if !isCode(err, tt.wantCode) {
				t.Errorf("%+v: err %v, want %d", tt.opts, err, tt.wantCode)
			}
			continue
		}
		if err != nil {
			t.Errorf("%+v: %v", tt.opts, err)
			continue
		}
		if got := fmt.Sprint(names(list.Items)); got != tt.want {
			t.Errorf("%q %+v: %s, want %s", tt.ns, tt.opts, got, tt.want)
		}
	}
	_, err := c.Pods("").List(ctx(t), metav1.ListOptions{FieldSelector: "spec.bogus=1"})
	if err == nil || err.Error() != "field label not supported: spec.bogus" {
		t.Errorf("unsupported field: %v", err)
	}
}

func TestListPagination(t *testing.T) {
	env := apitest.Start(t)
	pods := env.Client.CoreV1().Pods("default")
	for i := 0; i < 7; i++ {
		pod := testPod(fmt.Sprintf("p%d", i))
		if i%2 == 1 {
			pod.Labels["odd"] = "true"
		}
		if _, err := pods.Create(ctx(t), pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	var pages []int
	opts := metav1.ListOptions{Limit: 3}
	var firstRV string
	for {
		list, err := pods.List(ctx(t), opts)
		if err != nil {
			t.Fatal(err)
		}
		if firstRV == "" {
			firstRV = list.ResourceVersion
			// Created between pages: invisible to this consistent list.
			if _, err := pods.Create(ctx(t), testPod("p9"), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		} else if list.ResourceVersion != firstRV {
			t.Errorf("page at resourceVersion %s, first page at %s", list.ResourceVersion, firstRV)
		}
		got = append(got, names(list.Items)...)
		pages = append(pages, len(list.Items))
		if list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
	}
	if fmt.Sprint(pages) != "[3 3 1]" || len(got) != 7 || got[6] != "default/p6" {
		t.Errorf("pages %v, items %v", pages, got)
	}
	// With a selector, pages count matching items.
	var odd []string
	opts = metav1.ListOptions{Limit: 2, LabelSelector: "odd=true"}
	for {
		list, err := pods.List(ctx(t), opts)
		if err != nil {
			t.Fatal(err)
		}
		odd = append(odd, names(list.Items)...)
		if list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
	}
	if fmt.Sprint(odd) != "[default/p1 default/p3 default/p5]" {
		t.Errorf("selector pages: %v", odd)
	}
	r := call(t, env, "GET", "/api/v1/namespaces/default/pods?limit=2&continue=garbage", nil)
	if r.code != 400 {
		t.Errorf("bad continue token: %d", r.code)
	}
}

func TestListResourceVersionSemantics(t *testing.T) {
	env := apitest.Start(t)
	pods := env.Client.CoreV1().Pods("default")
	first, err := pods.Create(ctx(t), testPod("old"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	second, err := pods.Create(ctx(t), testPod("new"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	exact, err := pods.List(ctx(t), metav1.ListOptions{ResourceVersion: first.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(names(exact.Items)) != "[default/old]" || exact.ResourceVersion != first.ResourceVersion {
		t.Errorf("exact list at %s: %v at %s", first.ResourceVersion, names(exact.Items), exact.ResourceVersion)
	}
	// (Not older than the last write: a state at least as new as an
	// earlier one need not show it.)
	notOlder, err := pods.List(ctx(t), metav1.ListOptions{ResourceVersion: second.ResourceVersion})
	if err != nil || len(notOlder.Items) != 2 || rvOf(notOlder.ResourceVersion) < rvOf(second.ResourceVersion) {
		t.Errorf("not-older-than list: %v %v at %s", err, names(notOlder.Items), notOlder.ResourceVersion)
	}
	rv, _ := strconv.ParseInt(notOlder.ResourceVersion, 10, 64)
	// (Raw: client-go would retry this 504 as its Retry-After asks.)
	r := call(t, env, "GET", "/api/v1/namespaces/default/pods?resourceVersion="+strconv.FormatInt(rv+1000, 10), nil)
	if st := r.status(t); r.code != 504 || r.header.Get("Retry-After") != "1" || len(st.Details.Causes) != 1 || st.Details.Causes[0].Type != metav1.CauseTypeResourceVersionTooLarge {
		t.Errorf("future resourceVersion: %d %s", r.code, r.body)
	}
	// Continue tokens and exact lists expire with compaction.
	page, err := pods.List(ctx(t), metav1.ListOptions{Limit: 1})
	if err != nil || page.Continue == "" {
		t.Fatalf("first page: %v %+v", err, page.ListMeta)
	}
	if _, err := pods.Create(ctx(t), testPod("later"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cur, err := env.Store.Revision(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Store.Compact(ctx(t), cur); err != nil {
		t.Fatal(err)
	}
	_, err = pods.List(ctx(t), metav1.ListOptions{Limit: 1, Continue: page.Continue})
	if !apierrors.IsResourceExpired(err) {
		t.Errorf("continue after compaction: %v, want 410 Expired", err)
	}
	_, err = pods.List(ctx(t), metav1.ListOptions{ResourceVersion: first.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	if !apierrors.IsResourceExpired(err) {
		t.Errorf("exact list of a compacted revision: %v, want 410 Expired", err)
	}
}
