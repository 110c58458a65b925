package apitest_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tug-sh/tug/control/apiserver/apitest"
)

// TestStart checks that the environment serves the API through its
// clientset and that the system namespaces exist.
func TestStart(t *testing.T) {
	env := apitest.Start(t)
	ctx := context.Background()
	for _, ns := range []string{"default", "kube-system"} {
		if _, err := env.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
			t.Fatalf("namespace %s: %v", ns, err)
		}
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p1"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	created, err := env.Client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod: %v", err)
	}
	if created.UID == "" || created.ResourceVersion == "" {
		t.Fatalf("created pod lacks uid or resourceVersion: %+v", created.ObjectMeta)
	}
	list, err := env.Client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list pods: %v", err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "p1" {
		t.Fatalf("list = %+v, want one pod p1", list.Items)
	}
}
