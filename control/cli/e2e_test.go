package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// These tests run the CLI against a real tug API server (control/apiserver
// over embedded etcd) and compare its output with the real kubectl's
// against the same server. No scheduler, controllers or node agents run:
// where the seed walkthrough needs their work (the replication
// controller's pods and events), the tests write it through the API as
// those components would.

// simulateRCPods creates n pods for the RC the way the replication
// controller does (generateName, labels from the template, a controller
// owner reference) plus a SuccessfulCreate event for each, dated 10m ago
// so their ages do not tick between two runs.
func (c *cluster) simulateRCPods(ns, rcName string, n int) []string {
	c.t.Helper()
	ctx := context.Background()
	core := c.env.Client.CoreV1()
	rc, err := core.ReplicationControllers(ns).Get(ctx, rcName, metav1.GetOptions{})
	if err != nil {
		c.t.Fatalf("getting rc %s: %v", rcName, err)
	}
	var names []string
	past := metav1.NewTime(time.Now().Add(-10 * time.Minute).Truncate(time.Second))
	for i := 0; i < n; i++ {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				GenerateName: rcName + "-", Labels: rc.Spec.Template.Labels,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ReplicationController", Name: rc.Name, UID: rc.UID,
					Controller: ptrTo(true), BlockOwnerDeletion: ptrTo(true)}},
			},
			Spec: *rc.Spec.Template.Spec.DeepCopy(),
		}
		created, err := core.Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			c.t.Fatalf("creating pod of %s: %v", rcName, err)
		}
		names = append(names, created.Name)
		ev := &corev1.Event{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%d", rcName, i), Namespace: ns},
			InvolvedObject: corev1.ObjectReference{APIVersion: "v1", Kind: "ReplicationController", Namespace: ns, Name: rc.Name,
				UID: rc.UID, ResourceVersion: rc.ResourceVersion},
			Reason: "SuccessfulCreate", Message: "Created pod: " + created.Name, Type: corev1.EventTypeNormal,
			Source: corev1.EventSource{Component: "replication-controller"}, FirstTimestamp: past, LastTimestamp: past, Count: 1,
		}
		if _, err := core.Events(ns).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
			c.t.Fatalf("creating event: %v", err)
		}
	}
	rc.Status.Replicas = int32(n)
	if _, err := core.ReplicationControllers(ns).UpdateStatus(ctx, rc, metav1.UpdateOptions{}); err != nil {
		c.t.Fatalf("updating rc status: %v", err)
	}
	return names
}

// TestSeedWalkthrough runs the 2015 walkthrough's command lines.
func TestSeedWalkthrough(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()

	// tug create -f nginx.yaml -s 172.17.1.4:8080 (here: the test server)
	if got := c.tug("create", "-f", examples("nginx.yaml")).must(t, "create nginx"); got != "replicationcontroller/nginxs created\n" {
		t.Fatalf("create printed %q", got)
	}
	pods := c.simulateRCPods("default", "nginxs", 10)

	// tug get pods: NAME READY STATUS RESTARTS AGE
	got := c.tug("get", "pods").must(t, "get pods")
	if h := header(got); h != "NAME           READY   STATUS    RESTARTS   AGE" {
		t.Errorf("get pods header %q", h)
	}
	if n := strings.Count(got, "\n"); n != 11 {
		t.Errorf("get pods printed %d lines, want 11:\n%s", n, got)
	}
	for _, p := range pods {
		if !strings.Contains(got, p+"   0/1     Pending   0          ") {
			t.Errorf("get pods lacks a Pending row for %s:\n%s", p, got)
		}
	}
	sameOutput(t, "get pods", got, c.kubectlRun("get", "pods").must(t, "kubectl get pods"))

	// tug describe -f nginx.yaml: the RC with its pods and events.
	got = c.tug("describe", "-f", examples("nginx.yaml")).must(t, "describe -f nginx.yaml")
	for _, want := range []string{
		"Name:         nginxs\n", "Namespace:    default\n", "Selector:     app=nginx\n", "Labels:       app=nginx\n",
		"Replicas:     10 current / 10 desired\n", "Pods Status:  0 Running / 10 Waiting / 0 Succeeded / 0 Failed\n",
		"    Image:         ruo91/nginx:latest\n", "    Port:          80/TCP\n",
		"Events:\n  Type    Reason            Age   From                    Message\n",
		"  Normal  SuccessfulCreate  10m   replication-controller  Created pod: " + pods[0] + "\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("describe lacks %q:\n%s", want, got)
		}
	}
	sameOutput(t, "describe -f nginx.yaml", got, c.kubectlRun("describe", "-f", examples("nginx.yaml")).must(t, "kubectl describe"))

	// tug logs POD: no node agent serves an unscheduled pod yet.
	r := c.tug("logs", pods[0])
	want := fmt.Sprintf("Error from server (BadRequest): pod %q is not running on a node yet (it is not scheduled)\n", pods[0])
	if r.code != 1 || r.err != want || r.out != "" {
		t.Errorf("logs: exit %d, stderr %q, want %q", r.code, r.err, want)
	}
	k := c.kubectlRun("logs", pods[0])
	if k.err != r.err || k.code != r.code {
		t.Errorf("logs: kubectl printed %q (exit %d), tug %q (exit %d)", k.err, k.code, r.err, r.code)
	}

	// tug stop pods POD: pod "POD" deleted (an unscheduled pod goes at once).
	if got := c.tug("stop", "pods", pods[0]).must(t, "stop pod"); got != fmt.Sprintf("pod %q deleted\n", pods[0]) {
		t.Errorf("stop printed %q", got)
	}
	if _, err := c.env.Client.CoreV1().Pods("default").Get(ctx, pods[0], metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("pod %s still there after stop: %v", pods[0], err)
	}

	// The kube-ui addon, into kube-system.
	if got := c.tug("create", "-f", examples("kube-ui-rc.yaml"), "--namespace=kube-system").must(t, "create kube-ui rc"); got != "replicationcontroller/kube-ui-v3 created\n" {
		t.Errorf("create kube-ui-rc printed %q", got)
	}
	if got := c.tug("create", "-f", examples("kube-ui-svc.yaml"), "--namespace=kube-system").must(t, "create kube-ui svc"); got != "service/kube-ui created\n" {
		t.Errorf("create kube-ui-svc printed %q", got)
	}
	got = c.tug("get", "svc", "-n", "kube-system").must(t, "get svc")
	if h := header(got); h != "NAME      TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE" {
		t.Errorf("get svc header %q", h)
	}
	sameOutput(t, "get svc", got, c.kubectlRun("get", "svc", "-n", "kube-system").must(t, "kubectl get svc"))
	sameOutput(t, "describe svc", c.tug("describe", "svc", "kube-ui", "-n", "kube-system").must(t, "describe svc"),
		c.kubectlRun("describe", "svc", "kube-ui", "-n", "kube-system").must(t, "kubectl describe svc"))
	sameOutput(t, "describe kube-ui rc", c.tug("describe", "-f", examples("kube-ui-rc.yaml")).must(t, "describe kube-ui rc"),
		c.kubectlRun("describe", "-f", examples("kube-ui-rc.yaml")).must(t, "kubectl describe kube-ui rc"))

	// Scaling through the /scale subresource, in both argument forms.
	if got := c.tug("scale", "rc", "nginxs", "--replicas=3").must(t, "scale"); got != "replicationcontroller/nginxs scaled\n" {
		t.Errorf("scale printed %q", got)
	}
	if got := c.tug("scale", "--replicas=2", "rc/kube-ui-v3", "-n", "kube-system").must(t, "scale rc/NAME"); got != "replicationcontroller/kube-ui-v3 scaled\n" {
		t.Errorf("scale rc/NAME printed %q", got)
	}
	for ns, want := range map[string]int32{"default": 3, "kube-system": 2} {
		list, err := c.env.Client.CoreV1().ReplicationControllers(ns).List(ctx, metav1.ListOptions{})
		if err != nil || len(list.Items) != 1 || *list.Items[0].Spec.Replicas != want {
			t.Errorf("after scale, %s rcs = %+v, %v", ns, list, err)
		}
	}
}

func TestGetMatchesKubectl(t *testing.T) {
	c := newCluster(t)
	c.tug("create", "-f", examples("nginx.yaml")).must(t, "create nginx")
	c.tug("create", "-f", examples("kube-ui-rc.yaml"), "-f", examples("kube-ui-svc.yaml")).must(t, "create kube-ui")
	c.simulateRCPods("default", "nginxs", 2)
	c.simulateRCPods("kube-system", "kube-ui-v3", 1)
	c.registerNode("node-1", startAgent(t))

	tests := []struct {
		args   []string
		header string
	}{
		{[]string{"get", "pods"}, "NAME           READY   STATUS    RESTARTS   AGE"},
		{[]string{"get", "pods", "-o", "wide"}, "NAME           READY   STATUS    RESTARTS   AGE   IP       NODE     NOMINATED NODE   READINESS GATES"},
		{[]string{"get", "pods", "-A"}, "NAMESPACE     NAME               READY   STATUS    RESTARTS   AGE"},
		{[]string{"get", "pods", "--show-labels"}, "NAME           READY   STATUS    RESTARTS   AGE   LABELS"},
		{[]string{"get", "pods", "-L", "app"}, "NAME           READY   STATUS    RESTARTS   AGE   APP"},
		{[]string{"get", "rc"}, "NAME     DESIRED   CURRENT   READY   AGE"},
		{[]string{"get", "rc", "-o", "wide", "-A"}, "NAMESPACE     NAME         DESIRED   CURRENT   READY   AGE   CONTAINERS   IMAGES                                SELECTOR"},
		{[]string{"get", "svc", "-A"}, "NAMESPACE     NAME      TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE"},
		{[]string{"get", "ns"}, "NAME          STATUS   AGE"},
		{[]string{"get", "nodes"}, "NAME     STATUS   ROLES    AGE   VERSION"},
		{[]string{"get", "no", "-o", "wide"}, ""},
		{[]string{"get", "events"}, ""},
		{[]string{"get", "ep", "-A"}, ""},
		{[]string{"get", "all"}, ""},
		{[]string{"get", "rc,pods", "-A"}, ""},
		{[]string{"get", "pods", "-l", "app=nginx", "-o", "name"}, ""},
		{[]string{"get", "rc/nginxs", "svc/kube-ui", "-n", "kube-system", "--ignore-not-found"}, ""},
		{[]string{"get", "nodes", "node-1", "-o", "yaml"}, ""},
		{[]string{"get", "rc", "nginxs", "-o", "json"}, ""},
		{[]string{"get", "svc", "-n", "kube-system", "-o", "yaml"}, ""},
		{[]string{"get", "pods", "--field-selector", "metadata.namespace=default", "--no-headers"}, ""},
		{[]string{"get", "pods", "-n", "empty-ns"}, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got := c.tug(tt.args...)
			want := c.kubectlRun(tt.args...)
			if got.code != want.code {
				t.Fatalf("exit %d, kubectl %d\ntug: %s%s\nkubectl: %s%s", got.code, want.code, got.out, got.err, want.out, want.err)
			}
			if tt.header != "" && header(got.out) != tt.header {
				t.Errorf("header %q, want %q", header(got.out), tt.header)
			}
			sameOutput(t, "stdout", got.out, want.out)
			sameOutput(t, "stderr", got.err, want.err)
		})
	}
}

func TestDescribeMatchesKubectl(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	c.tug("create", "-f", examples("nginx.yaml")).must(t, "create nginx")
	c.tug("create", "-f", examples("kube-ui-rc.yaml"), "-f", examples("kube-ui-svc.yaml")).must(t, "create kube-ui")
	pods := c.simulateRCPods("default", "nginxs", 3)
	c.registerNode("node-1", startAgent(t))
	// One pod bound to the node, running, with a container status.
	if err := c.env.Client.CoreV1().Pods("default").Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pods[0]}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-1"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("binding: %v", err)
	}
	// A stray pod that matches the selector but is not the RC's.
	stray := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "stray", Labels: map[string]string{"app": "nginx"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox",
			Env: []corev1.EnvVar{{Name: "A", Value: "1"}}}}}}
	if _, err := c.env.Client.CoreV1().Pods("default").Create(ctx, stray, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// kubectl 1.32 reads a service's endpoints from EndpointSlices, which
	// tug does not serve (it prints "<none>"); tug reads the Endpoints
	// object. Compare before there is one, then check tug's line.
	sameOutput(t, "describe svc without endpoints", c.tug("describe", "svc", "kube-ui", "-n", "kube-system").must(t, "describe svc"),
		c.kubectlRun("describe", "svc", "kube-ui", "-n", "kube-system").must(t, "kubectl describe svc"))
	ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "kube-ui", Namespace: "kube-system"},
		Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "10.244.1.5"}, {IP: "10.244.1.6"}},
			Ports: []corev1.EndpointPort{{Port: 8080, Protocol: corev1.ProtocolTCP}}}}}
	if _, err := c.env.Client.CoreV1().Endpoints("kube-system").Create(ctx, ep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	if got := c.tug("describe", "svc", "kube-ui", "-n", "kube-system").must(t, "describe svc"); !strings.Contains(got, "\nEndpoints:                10.244.1.5:8080,10.244.1.6:8080\n") {
		t.Errorf("describe svc with endpoints:\n%s", got)
	}
	for _, args := range [][]string{
		{"describe", "rc", "nginxs"},
		{"describe", "pods", pods[0]},
		{"describe", "pod/stray"},
		{"describe", "pods", "nginxs-"}, // a name prefix: every pod of the RC
		{"describe", "ep", "kube-ui", "-n", "kube-system"},
		{"describe", "nodes"},
		{"describe", "ns", "kube-system"},
		{"describe", "ev", "nginxs.0"},
		{"describe", "rc", "-A", "-l", "k8s-app=kube-ui"},
		{"describe", "pods", "nope"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			got := c.tug(args...)
			want := c.kubectlRun(args...)
			if got.code != want.code {
				t.Fatalf("exit %d, kubectl %d\ntug: %s%s\nkubectl: %s%s", got.code, want.code, got.out, got.err, want.out, want.err)
			}
			// kubectl asks for the node's Lease (coordination.k8s.io),
			// which tug does not serve; tug leaves the section out.
			want.out = leaseLineRe.ReplaceAllString(want.out, "")
			sameOutput(t, "stdout", got.out, want.out)
			sameOutput(t, "stderr", got.err, want.err)
		})
	}
}

var leaseLineRe = regexp.MustCompile(`(?m)^Lease:\s+Failed to get lease: the server could not find the requested resource\n`)

func TestApply(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	dir := t.TempDir()
	manifest := filepath.Join(dir, "nginx.yaml")
	write := func(replicas int, extraLabel string) {
		data, err := os.ReadFile(examples("nginx.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		s := strings.Replace(string(data), "replicas: 10", fmt.Sprintf("replicas: %d", replicas), 1)
		if extraLabel != "" {
			s = strings.Replace(s, "  name: nginxs\n", "  name: nginxs\n  labels:\n    "+extraLabel+"\n", 1)
		}
		if err := os.WriteFile(manifest, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(10, "")
	if got := c.tug("apply", "-f", manifest).must(t, "first apply"); got != "replicationcontroller/nginxs created\n" {
		t.Fatalf("first apply printed %q", got)
	}
	if got := c.tug("apply", "-f", manifest).must(t, "second apply"); got != "replicationcontroller/nginxs unchanged\n" {
		t.Fatalf("second apply printed %q", got)
	}
	write(4, "tier: web")
	if got := c.tug("apply", "-f", manifest).must(t, "changed apply"); got != "replicationcontroller/nginxs configured\n" {
		t.Fatalf("changed apply printed %q", got)
	}
	rc, err := c.env.Client.CoreV1().ReplicationControllers("default").Get(ctx, "nginxs", metav1.GetOptions{})
	if err != nil || *rc.Spec.Replicas != 4 || rc.Labels["tier"] != "web" {
		t.Fatalf("after apply: %+v, %v", rc, err)
	}
	// Removing the label from the manifest removes it from the object
	// (three-way: it was applied before), keeping fields others set.
	rc.Labels["set-by-someone-else"] = "yes"
	if _, err := c.env.Client.CoreV1().ReplicationControllers("default").Update(ctx, rc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	write(4, "app: nginx")
	c.tug("apply", "-f", manifest).must(t, "label removed")
	rc, err = c.env.Client.CoreV1().ReplicationControllers("default").Get(ctx, "nginxs", metav1.GetOptions{})
	if err != nil || rc.Labels["tier"] != "" || rc.Labels["set-by-someone-else"] != "yes" || rc.Labels["app"] != "nginx" {
		t.Fatalf("labels after removing tier: %v, %v", rc.Labels, err)
	}
	// kubectl agrees on what was applied last.
	if got := c.kubectlRun("apply", "-f", manifest).must(t, "kubectl apply"); got != "replicationcontroller/nginxs unchanged\n" {
		t.Errorf("kubectl apply after tug apply printed %q", got)
	}
	write(6, "app: nginx")
	c.kubectlRun("apply", "-f", manifest).must(t, "kubectl apply changed")
	if got := c.tug("apply", "-f", manifest).must(t, "tug apply after kubectl"); got != "replicationcontroller/nginxs unchanged\n" {
		t.Errorf("tug apply after kubectl apply printed %q", got)
	}
	// An object created without apply gets the annotation, with a warning.
	c.tug("create", "-f", examples("kube-ui-svc.yaml")).must(t, "create svc")
	r := c.tug("apply", "-f", examples("kube-ui-svc.yaml"))
	if r.code != 0 || r.out != "service/kube-ui configured\n" || !strings.Contains(r.err, "Warning: resource services/kube-ui is missing the kubectl.kubernetes.io/last-applied-configuration annotation") {
		t.Errorf("apply over create: %+v", r)
	}
	// Containers are merged by name: an image change patches the one container.
	data, _ := os.ReadFile(manifest)
	os.WriteFile(manifest, []byte(strings.Replace(string(data), "ruo91/nginx:latest", "nginx:1.9", 1)), 0o644)
	c.tug("apply", "-f", manifest).must(t, "image change")
	rc, _ = c.env.Client.CoreV1().ReplicationControllers("default").Get(ctx, "nginxs", metav1.GetOptions{})
	if cs := rc.Spec.Template.Spec.Containers; len(cs) != 1 || cs[0].Image != "nginx:1.9" || cs[0].Ports[0].ContainerPort != 80 {
		t.Errorf("containers after image change: %+v", cs)
	}
}

func TestServerErrors(t *testing.T) {
	c := newCluster(t)
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badRC := file("bad-rc.yaml", `apiVersion: v1
kind: ReplicationController
metadata:
  name: badrc
spec:
  replicas: 2
  selector:
    app: a
  template:
    metadata:
      labels:
        app: b
    spec:
      containers:
      - name: c
        image: busybox
`)
	foo := file("foo.yaml", "apiVersion: v1\nkind: Foo\nmetadata:\n  name: x\n")
	noKind := file("nokind.yaml", "apiVersion: v1\nmetadata:\n  name: x\n")
	// Three documents: a good one, an unknown kind, another good one. The
	// good ones are created; the bad one is reported; the exit code is 1.
	mixed := file("mixed.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 80}]}\n---\n"+
		"apiVersion: v1\nkind: Foo\nmetadata: {name: b}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: c}\nspec: {ports: [{port: 81}]}\n")
	wrongNS := file("wrong-ns.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: w, namespace: kube-system}\nspec: {ports: [{port: 80}]}\n")

	tests := []struct {
		args    []string
		wantOut string
		wantErr string
	}{
		{[]string{"create", "-f", badRC}, "",
			"The ReplicationController \"badrc\" is invalid: spec.template.metadata.labels: Invalid value: {\"app\":\"b\"}: `selector` does not match template `labels`\n"},
		{[]string{"create", "-f", foo}, "", "error: " + foo + ": no resource of kind \"Foo\" in version \"v1\" is served by this server\n"},
		{[]string{"create", "-f", noKind}, "", "error: " + noKind + `: line 1: "kind" is not set: every object needs apiVersion and kind (for example "apiVersion: v1" and "kind: ReplicationController")` + "\n"},
		{[]string{"create", "-f", mixed}, "service/a created\nservice/c created\n", "error: " + mixed + ": no resource of kind \"Foo\" in version \"v1\" is served by this server\n"},
		{[]string{"create", "-f", mixed}, "",
			"Error from server (AlreadyExists): error when creating \"" + mixed + "\": services \"a\" already exists\n" +
				"error: " + mixed + ": no resource of kind \"Foo\" in version \"v1\" is served by this server\n" +
				"Error from server (AlreadyExists): error when creating \"" + mixed + "\": services \"c\" already exists\n"},
		{[]string{"create", "-f", wrongNS, "-n", "default"}, "",
			"error: the namespace from the provided object \"kube-system\" does not match the namespace \"default\". You must pass '--namespace=kube-system' to perform this operation.\n"},
		{[]string{"get", "foo"}, "", "error: the server doesn't have a resource type \"foo\"\n"},
		{[]string{"get", "pods", "nope", "other"}, "", "Error from server (NotFound): pods \"nope\" not found\nError from server (NotFound): pods \"other\" not found\n"},
		{[]string{"delete", "pod", "nope"}, "", "Error from server (NotFound): pods \"nope\" not found\n"},
		{[]string{"delete", "pod", "nope", "--ignore-not-found"}, "", ""},
		{[]string{"scale", "rc", "nope", "--replicas=2"}, "", "Error from server (NotFound): replicationcontrollers \"nope\" not found\n"},
		{[]string{"scale", "svc", "a", "--replicas=2"}, "", "error: services \"a\" cannot be scaled: the server has no scale subresource for services\n"},
		{[]string{"describe", "foo"}, "", "error: the server doesn't have a resource type \"foo\"\n"},
		{[]string{"logs", "nope"}, "", "Error from server (NotFound): pods \"nope\" not found\n"},
		{[]string{"get", "pod", "x", "-A"}, "", "error: a resource cannot be retrieved by name across all namespaces\n"},
	}
	for _, tt := range tests {
		r := c.tug(tt.args...)
		wantCode := 1
		if tt.wantErr == "" {
			wantCode = 0
		}
		if r.code != wantCode || r.out != tt.wantOut || r.err != tt.wantErr {
			t.Errorf("tug %s:\nexit %d stdout %q\nstderr %q\nwant exit %d stdout %q\nstderr %q",
				strings.Join(tt.args, " "), r.code, r.out, r.err, wantCode, tt.wantOut, tt.wantErr)
		}
	}
	// kubectl prints the same for the server's own errors.
	for _, args := range [][]string{{"create", "-f", badRC}, {"get", "foo"}, {"get", "pods", "nope"}, {"delete", "pod", "nope"}} {
		got, want := c.tug(args...), c.kubectlRun(args...)
		if got.err != want.err || got.code != want.code {
			t.Errorf("%s: tug %q (exit %d), kubectl %q (exit %d)", strings.Join(args, " "), got.err, got.code, want.err, want.code)
		}
	}
}

func TestDelete(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	core := c.env.Client.CoreV1()
	c.tug("create", "-f", examples("nginx.yaml")).must(t, "create nginx")
	pods := c.simulateRCPods("default", "nginxs", 4)

	// TYPE/NAME and several names.
	if got := c.tug("delete", "pod/"+pods[0], "pod/"+pods[1]).must(t, "delete TYPE/NAME"); got != fmt.Sprintf("pod %q deleted\npod %q deleted\n", pods[0], pods[1]) {
		t.Errorf("delete TYPE/NAME printed %q", got)
	}
	// By label selector (in the server's order: by name).
	left := []string{pods[2], pods[3]}
	slices.Sort(left)
	got := c.tug("delete", "pods", "-l", "app=nginx").must(t, "delete -l")
	if got != fmt.Sprintf("pod %q deleted\npod %q deleted\n", left[0], left[1]) {
		t.Errorf("delete -l printed %q", got)
	}
	r := c.tug("delete", "pods", "--all")
	if k := c.kubectlRun("delete", "pods", "--all"); r != k || r.out != "No resources found\n" {
		t.Errorf("delete --all with nothing left: tug %+v, kubectl %+v", r, k)
	}
	// From a file, with the background cascade (the default).
	if got := c.tug("delete", "-f", examples("nginx.yaml")).must(t, "delete -f"); got != "replicationcontroller \"nginxs\" deleted\n" {
		t.Errorf("delete -f printed %q", got)
	}

	// A pod on a node is deleted gracefully: it stays until its node agent
	// confirms (none runs here), so --wait times out with an explanation.
	c.registerNode("node-1", startAgent(t))
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bound"}, Spec: corev1.PodSpec{NodeName: "node-1",
		Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	if _, err := core.Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r = c.tug("delete", "pod", "bound", "--timeout=1s")
	if r.code != 1 || r.out != "pod \"bound\" deleted\n" ||
		!strings.HasPrefix(r.err, `error: timed out waiting for deletion: pod "bound" is still there after 1s (it is terminating: the node agent of "node-1" has not confirmed`) {
		t.Errorf("graceful delete: %+v", r)
	}
	r = c.tug("delete", "pod", "bound", "--force", "--grace-period=0")
	if r.code != 0 || r.out != "pod \"bound\" force deleted\n" || !strings.HasPrefix(r.err, "Warning: Immediate deletion does not wait") {
		t.Errorf("force delete: %+v", r)
	}
	if _, err := core.Pods("default").Get(ctx, "bound", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("pod still there after force delete: %v", err)
	}
	// --wait=false returns at once.
	if _, err := core.Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := c.tug("delete", "pod", "bound", "--wait=false").must(t, "delete --wait=false"); got != "pod \"bound\" deleted\n" {
		t.Errorf("delete --wait=false printed %q", got)
	}
	live, err := core.Pods("default").Get(ctx, "bound", metav1.GetOptions{})
	if err != nil || live.DeletionTimestamp == nil {
		t.Errorf("bound pod after delete --wait=false: %v, %v", live, err)
	}
}

func TestGetWatch(t *testing.T) {
	c := newCluster(t)
	core := c.env.Client.CoreV1()
	if _, err := core.Pods("default").Create(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "first"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	var getCmd Command
	for _, cmd := range Commands(Options{}) {
		if cmd.Name == "get" {
			getCmd = cmd
		}
	}
	go func() {
		done <- getCmd.Run(ctx, []string{"pods", "-w", "-s", c.env.URL}, Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	}()
	waitFor := func(what string, cond func(string) bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond(out.String()) {
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s; output so far:\n%s\nstderr:\n%s", what, out.String(), errOut.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("the initial list", func(s string) bool { return strings.Contains(s, "first ") })
	if _, err := core.Pods("default").Create(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "second"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor("the new pod's row", func(s string) bool { return strings.Contains(s, "second ") })
	if err := core.Pods("default").Delete(context.Background(), "first", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor("the deleted pod's row", func(s string) bool { return strings.Count(s, "first ") == 2 })
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("get -w exit %d, stderr %q", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if lines[0] != "NAME    READY   STATUS    RESTARTS   AGE" || strings.Count(out.String(), "NAME") != 1 {
		t.Errorf("watch output:\n%s", out.String())
	}
	// Rows print as events arrive; columns only ever widen (like kubectl).
	rowRe := regexp.MustCompile(`^(first|second) +0/1     Pending   0          \S+$`)
	for _, l := range lines[1:] {
		if !rowRe.MatchString(l) {
			t.Errorf("unexpected row %q", l)
		}
	}
	if len(lines) != 4 {
		t.Errorf("want the header and 3 rows (first, second, first deleted):\n%s", out.String())
	}
}

func TestLogsAndExecThroughAgent(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	a := startAgent(t)
	c.registerNode("node-1", a)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.PodSpec{NodeName: "node-1",
		Containers: []corev1.Container{{Name: "web", Image: "busybox"}, {Name: "side", Image: "busybox"}}}}
	if _, err := c.env.Client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// Plain logs, with the container defaulted and the options passed on.
	r := c.tug("logs", "web", "--tail=5", "--timestamps", "--limit-bytes=100", "--since=1m")
	if r.code != 0 || r.out != "line 1\nline 2\n" || r.err != "Defaulted container \"web\" out of: web, side\n" {
		t.Errorf("logs: %+v", r)
	}
	if path := <-a.logPath; path != "/containerLogs/default/web/web" {
		t.Errorf("agent got path %q", path)
	}
	q := <-a.logQuery
	for k, v := range map[string]string{"tailLines": "5", "timestamps": "true", "limitBytes": "100", "sinceSeconds": "60"} {
		if len(q[k]) != 1 || q[k][0] != v {
			t.Errorf("agent got %s=%v, want %s (query %v)", k, q[k], v, q)
		}
	}

	// Followed logs stream: line 1 arrives before the agent sends line 2.
	var out, errOut syncBuffer
	done := make(chan int, 1)
	var logsCmd Command
	for _, cmd := range Commands(Options{}) {
		if cmd.Name == "logs" {
			logsCmd = cmd
		}
	}
	go func() {
		done <- logsCmd.Run(ctx, []string{"web", "-c", "side", "-f", "-s", c.env.URL}, Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	}()
	deadline := time.Now().Add(30 * time.Second)
	for out.String() != "line 1\n" {
		if time.Now().After(deadline) {
			t.Fatalf("followed logs did not stream line 1: %q %q", out.String(), errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if path := <-a.logPath; path != "/containerLogs/default/web/side" {
		t.Errorf("agent got path %q", path)
	}
	if q := <-a.logQuery; len(q["follow"]) != 1 || q["follow"][0] != "true" {
		t.Errorf("follow not passed: %v", q)
	}
	close(a.moreLines)
	if code := <-done; code != 0 || out.String() != "line 1\nline 2\n" {
		t.Errorf("logs -f: exit %d, output %q, stderr %q", code, out.String(), errOut.String())
	}

	// exec through the API server's proxy to the agent: output, stdin and
	// the exit code come through, like kubectl's.
	if r := c.tug("exec", "web", "-c", "web", "--", "echo", "hello", "tug"); r.code != 0 || r.out != "hello tug\n" || r.err != "" {
		t.Errorf("exec echo: %+v", r)
	}
	if r := c.tugIn("from stdin\n", "exec", "-i", "web", "-c", "web", "--", "cat"); r.code != 0 || r.out != "from stdin\n" {
		t.Errorf("exec -i cat: %+v", r)
	}
	r = c.tug("exec", "web", "-c", "web", "--", "fail", "42")
	if r.code != 42 || r.err != "failing on purpose\ncommand terminated with exit code 42\n" {
		t.Errorf("exec fail 42: %+v", r)
	}
	if k := c.kubectlRun("exec", "web", "-c", "web", "--", "fail", "42"); k.code != r.code || k.err != r.err {
		t.Errorf("kubectl exec: exit %d stderr %q; tug: exit %d stderr %q", k.code, k.err, r.code, r.err)
	}
}

func TestVersion(t *testing.T) {
	c := newCluster(t)
	r := c.tug("version")
	if r.code != 0 || !strings.HasPrefix(r.out, "Client Version: v9.9.9-test\nServer Version: v1.") {
		t.Fatalf("version: %+v", r)
	}
	k := c.kubectlRun("version")
	server := strings.Split(r.out, "\n")[1]
	if !strings.Contains(k.out, server+"\n") {
		t.Errorf("kubectl version printed %q, tug %q", k.out, server)
	}
}
