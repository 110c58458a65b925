package apiserver_test

import (
	"context"
	"errors"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tug-sh/tug/control/allocator"
	"github.com/tug-sh/tug/control/apiserver"
	"github.com/tug-sh/tug/control/apiserver/apitest"
	"github.com/tug-sh/tug/control/storage/embedetcd"
)

// TestRestartKeepsState stops the server and its etcd, starts both again
// on the same data, and checks objects, allocations and resourceVersions.
func TestRestartKeepsState(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etcd")
	rng := apitest.WithServiceClusterIPRange(netip.MustParsePrefix("10.3.0.0/29"))

	e1, err := embedetcd.Start(context.Background(), embedetcd.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	env := apitest.Start(t, rng, apitest.WithStore(e1.Store))
	rc, err := env.Client.CoreV1().ReplicationControllers("default").Create(ctx(t), testRC("kept", 2), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := createService(t, env.Client, testService("kept", "", "", 0))
	if err != nil {
		t.Fatal(err)
	}
	e1.Close()

	e2, err := embedetcd.Start(context.Background(), embedetcd.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e2.Close)
	env2 := apitest.Start(t, rng, apitest.WithStore(e2.Store))
	got, err := env2.Client.CoreV1().ReplicationControllers("default").Get(ctx(t), "kept", metav1.GetOptions{})
	if err != nil || got.UID != rc.UID || got.ResourceVersion != rc.ResourceVersion {
		t.Fatalf("after restart: %v %+v", err, got.ObjectMeta)
	}
	// Allocations survived: the address is still taken, new ones differ.
	_, err = createService(t, env2.Client, testService("clash", "", svc.Spec.ClusterIP, 0))
	if !apierrors.IsInvalid(err) {
		t.Errorf("address of a Service from before the restart: %v", err)
	}
	next, err := createService(t, env2.Client, testService("next", "", "", 0))
	if err != nil || next.Spec.ClusterIP == svc.Spec.ClusterIP {
		t.Fatalf("new service: %v %v", err, next)
	}
	if rvOf(next.ResourceVersion) <= rvOf(rc.ResourceVersion) {
		t.Errorf("resourceVersion went back: %s after %s", next.ResourceVersion, rc.ResourceVersion)
	}

	// A different range refuses to start, saying how to start again.
	_, err = apiserver.New(context.Background(), apiserver.Config{Store: e2.Store, ServiceClusterIPRange: netip.MustParsePrefix("10.4.0.0/24")})
	if !errors.Is(err, allocator.ErrRangeChanged) || !strings.Contains(err.Error(), "--service-cluster-ip-range=10.3.0.0/29") {
		t.Errorf("changed range: %v", err)
	}
	_, err = apiserver.New(context.Background(), apiserver.Config{Store: e2.Store, ServiceClusterIPRange: netip.MustParsePrefix("10.3.0.0/29"), ServiceNodePortRange: "30000-30100"})
	if !errors.Is(err, allocator.ErrRangeChanged) || !strings.Contains(err.Error(), "--service-node-port-range=30000-32767") {
		t.Errorf("changed node port range: %v", err)
	}
	// The system namespaces are created once, not again.
	list, err := env2.Client.CoreV1().Namespaces().List(ctx(t), metav1.ListOptions{})
	if err != nil || len(list.Items) != 2 {
		t.Errorf("namespaces after restart: %v %d", err, len(list.Items))
	}
}

func rvOf(rv string) int64 {
	n, _ := strconv.ParseInt(rv, 10, 64)
	return n
}
