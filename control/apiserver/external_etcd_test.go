package apiserver_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/tug-sh/tug/control/apiserver"
	"github.com/tug-sh/tug/control/apiserver/apitest"
	"github.com/tug-sh/tug/control/storage"
	"github.com/tug-sh/tug/control/storage/etcdtest"
)

// TestExternalEtcdCluster runs the API on a real 3-member etcd cluster
// (Debian's etcd) and kills its leader mid-test: writes go on (client-go
// retries the 503s of the election by itself), the open watch misses
// nothing, and a cluster without quorum is a clear 503.
func TestExternalEtcdCluster(t *testing.T) {
	c := etcdtest.StartCluster(t, 3)
	dialCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := storage.Dial(dialCtx, storage.EtcdConfig{Endpoints: c.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	env := apitest.Start(t, apitest.WithStore(st), apitest.WithConfig(func(cfg *apiserver.Config) { cfg.RequestTimeout = 5 * time.Second }))
	pods := env.Client.CoreV1().Pods("default")

	w := openWatch(t, env, "/api/v1/namespaces/default/pods?watch=true")
	create := func(i int) {
		t.Helper()
		name := fmt.Sprintf("p%02d", i)
		_, err := pods.Create(ctx(t), testPod(name), metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			// A retried create whose first attempt landed.
			_, err = pods.Get(ctx(t), name, metav1.GetOptions{})
		}
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	for i := 0; i < 5; i++ {
		create(i)
	}
	rc, err := env.Client.CoreV1().ReplicationControllers("default").Create(ctx(t), testRC("web", 1), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := createService(t, env.Client, testService("web", corev1.ServiceTypeNodePort, "", 0))
	if err != nil || svc.Spec.ClusterIP == "" || svc.Spec.Ports[0].NodePort == 0 {
		t.Fatalf("service: %v %+v", err, svc)
	}

	c.Kill(c.Leader())
	for i := 5; i < 15; i++ {
		create(i)
	}
	for i := 0; i < 15; i++ {
		w.expect(watch.Added, fmt.Sprintf("p%02d", i))
	}
	// Optimistic concurrency and allocation work on the new leader.
	stale := rc.DeepCopy()
	rc.Spec.Replicas = ptr[int32](2)
	if _, err := env.Client.CoreV1().ReplicationControllers("default").Update(ctx(t), rc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.CoreV1().ReplicationControllers("default").Update(ctx(t), stale, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("stale update: %v", err)
	}
	svc2, err := createService(t, env.Client, testService("web2", corev1.ServiceTypeNodePort, "", 0))
	if err != nil || svc2.Spec.ClusterIP == svc.Spec.ClusterIP || svc2.Spec.Ports[0].NodePort == svc.Spec.Ports[0].NodePort {
		t.Fatalf("second service: %v %+v", err, svc2)
	}

	// Without quorum the API answers 503 with Retry-After, in bounded time.
	c.Kill(c.Leader())
	r := call(t, env, "POST", "/api/v1/namespaces/default/pods", mustJSON(t, testPod("noquorum")))
	if st := r.status(t); r.code != 503 || r.header.Get("Retry-After") != "1" || st.Reason != metav1.StatusReasonServiceUnavailable {
		t.Errorf("write without quorum: %d %s (Retry-After %q)", r.code, r.body, r.header.Get("Retry-After"))
	}
	if r := call(t, env, "GET", "/readyz", nil); r.code != 503 {
		t.Errorf("/readyz without quorum: %d %s", r.code, r.body)
	}
}
