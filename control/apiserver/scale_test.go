package apiserver_test

import (
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tug-sh/tug/control/apiserver/apitest"
)

func TestScaleSubresource(t *testing.T) {
	env := apitest.Start(t)
	rcs := env.Client.CoreV1().ReplicationControllers("default")
	rc, err := rcs.Create(ctx(t), testRC("web", 10), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rc.Status.Replicas = 4
	if rc, err = rcs.UpdateStatus(ctx(t), rc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	var sc autoscalingv1.Scale
	call(t, env, "GET", "/api/v1/namespaces/default/replicationcontrollers/web/scale", nil).into(t, &sc)
	if sc.Kind != "Scale" || sc.APIVersion != "autoscaling/v1" || sc.Spec.Replicas != 10 || sc.Status.Replicas != 4 ||
		sc.Status.Selector != "app=web" || sc.ResourceVersion != rc.ResourceVersion || sc.UID != rc.UID {
		t.Fatalf("scale: %+v", sc)
	}
	// PUT at the current resourceVersion.
	sc.Spec.Replicas = 3
	got, err := rcs.UpdateScale(ctx(t), "web", &sc, metav1.UpdateOptions{})
	if err != nil || got.Spec.Replicas != 3 {
		t.Fatalf("update scale: %v %+v", err, got)
	}
	rc, _ = rcs.Get(ctx(t), "web", metav1.GetOptions{})
	if *rc.Spec.Replicas != 3 || rc.Generation != 2 {
		t.Errorf("after scale: replicas %d generation %d", *rc.Spec.Replicas, rc.Generation)
	}
	// PUT of the stale Scale conflicts.
	sc.Spec.Replicas = 7
	if _, err := rcs.UpdateScale(ctx(t), "web", &sc, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("stale scale: %v", err)
	}
	// kubectl scale's merge patch.
	r := call(t, env, "PATCH", "/api/v1/namespaces/default/replicationcontrollers/web/scale", []byte(`{"spec":{"replicas":5}}`),
		"Content-Type", string(types.MergePatchType))
	r.into(t, &sc)
	if r.code != 200 || sc.Spec.Replicas != 5 || sc.Kind != "Scale" {
		t.Fatalf("patch scale: %d %s", r.code, r.body)
	}
	r = call(t, env, "PATCH", "/api/v1/namespaces/default/replicationcontrollers/web/scale", []byte(`{"spec":{"replicas":-2}}`),
		"Content-Type", string(types.MergePatchType))
	if st := r.status(t); r.code != 422 || st.Details == nil || st.Details.Kind != "Scale" {
		t.Errorf("negative scale: %d %s", r.code, r.body)
	}
	if r := call(t, env, "GET", "/api/v1/namespaces/default/replicationcontrollers/none/scale", nil); r.code != 404 {
		t.Errorf("scale of a missing rc: %d", r.code)
	}
}
