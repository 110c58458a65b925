package apiserver_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/tug-sh/tug/control/apiserver/apitest"
)

func testService(name string, typ corev1.ServiceType, clusterIP string, nodePort int32) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			Type:      typ,
			ClusterIP: clusterIP,
			Selector:  map[string]string{"app": name},
			Ports:     []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080), NodePort: nodePort}},
		},
	}
}

func createService(t *testing.T, c kubernetes.Interface, svc *corev1.Service) (*corev1.Service, error) {
	t.Helper()
	return c.CoreV1().Services("default").Create(ctx(t), svc, metav1.CreateOptions{})
}

func TestServiceClusterIPAllocation(t *testing.T) {
	env := apitest.Start(t, apitest.WithServiceClusterIPRange(netip.MustParsePrefix("10.9.0.0/24")))
	svcs := env.Client.CoreV1().Services("default")
	a, err := createService(t, env.Client, testService("a", "", "", 0))
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr(a.Spec.ClusterIP)
	if !netip.MustParsePrefix("10.9.0.0/24").Contains(ip) || len(a.Spec.ClusterIPs) != 1 || a.Spec.ClusterIPs[0] != a.Spec.ClusterIP {
		t.Fatalf("allocated %q %v", a.Spec.ClusterIP, a.Spec.ClusterIPs)
	}
	if a.Spec.Type != corev1.ServiceTypeClusterIP || a.Spec.Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("defaults: %+v", a.Spec)
	}
	if _, err := createService(t, env.Client, testService("b", "", "10.9.0.77", 0)); err != nil {
		t.Fatalf("requested free IP: %v", err)
	}
	tests := []struct {
		name, ip, message string
	}{
		{"taken", "10.9.0.77", "failed to allocate IP 10.9.0.77: provided IP is already allocated"},
		{"outside", "10.10.0.5", "failed to allocate IP 10.10.0.5: the provided IP (10.10.0.5) is not in the valid range. The range of valid IPs is 10.9.0.0/24"},
	}
	for _, tt := range tests {
		_, err := createService(t, env.Client, testService(tt.name, "", tt.ip, 0))
		st, _ := err.(apierrors.APIStatus)
		if !apierrors.IsInvalid(err) || st.Status().Details == nil || len(st.Status().Details.Causes) != 1 ||
			st.Status().Details.Causes[0].Field != "spec.clusterIPs" || !strings.Contains(st.Status().Details.Causes[0].Message, tt.message) {
			t.Errorf("%s: %v", tt.name, err)
		}
		if _, err := svcs.Get(ctx(t), tt.name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s: rejected service stored: %v", tt.name, err)
		}
	}
	headless, err := createService(t, env.Client, testService("headless", "", corev1.ClusterIPNone, 0))
	if err != nil || headless.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Fatalf("headless: %v %q", err, headless.Spec.ClusterIP)
	}
	ext := testService("ext", corev1.ServiceTypeExternalName, "", 0)
	ext.Spec.ExternalName = "example.com"
	ext.Spec.Selector = nil
	if ext, err = createService(t, env.Client, ext); err != nil || ext.Spec.ClusterIP != "" {
		t.Fatalf("ExternalName: %v %q", err, ext.Spec.ClusterIP)
	}
	// The ClusterIP is immutable.
	a.Spec.ClusterIP, a.Spec.ClusterIPs = "10.9.0.99", []string{"10.9.0.99"}
	if _, err := svcs.Update(ctx(t), a, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("changing the ClusterIP: %v", err)
	}
	// A replace without the ClusterIP keeps it.
	a, _ = svcs.Get(ctx(t), "a", metav1.GetOptions{})
	a.Spec.ClusterIP, a.Spec.ClusterIPs = "", nil
	a.Labels = map[string]string{"replaced": "yes"}
	if got, err := svcs.Update(ctx(t), a, metav1.UpdateOptions{}); err != nil || got.Spec.ClusterIP != ip.String() {
		t.Errorf("replace without clusterIP: %v %v", err, got)
	}
	// Deleting releases the address: it can be requested again.
	if err := svcs.Delete(ctx(t), "b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := createService(t, env.Client, testService("b2", "", "10.9.0.77", 0)); err != nil {
		t.Errorf("address of a deleted service: %v", err)
	}
	// ExternalName → ClusterIP allocates; ClusterIP → ExternalName releases.
	ext, _ = svcs.Get(ctx(t), "ext", metav1.GetOptions{})
	ext.Spec.Type, ext.Spec.ExternalName = corev1.ServiceTypeClusterIP, ""
	ext.Spec.ClusterIP = "10.9.0.88"
	if ext, err = svcs.Update(ctx(t), ext, metav1.UpdateOptions{}); err != nil || ext.Spec.ClusterIP != "10.9.0.88" {
		t.Fatalf("to ClusterIP: %v %+v", err, ext)
	}
	ext.Spec.Type, ext.Spec.ExternalName = corev1.ServiceTypeExternalName, "example.org"
	if ext, err = svcs.Update(ctx(t), ext, metav1.UpdateOptions{}); err != nil || ext.Spec.ClusterIP != "" {
		t.Fatalf("to ExternalName: %v %+v", err, ext)
	}
	if _, err := createService(t, env.Client, testService("reuse88", "", "10.9.0.88", 0)); err != nil {
		t.Errorf("address released by the type change: %v", err)
	}
}

func TestServiceNodePortAllocation(t *testing.T) {
	env := apitest.Start(t, apitest.WithServiceNodePortRange("31000-31009"))
	svcs := env.Client.CoreV1().Services("default")
	np, err := createService(t, env.Client, testService("np", corev1.ServiceTypeNodePort, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	if p := np.Spec.Ports[0].NodePort; p < 31000 || p > 31009 {
		t.Fatalf("allocated nodePort %d", p)
	}
	if _, err := createService(t, env.Client, testService("fixed", corev1.ServiceTypeNodePort, "", 31005)); err != nil {
		t.Fatalf("requested nodePort: %v", err)
	}
	for _, tt := range []struct {
		port    int32
		message string
	}{
		{31005, "provided port is already allocated"},
		{30000, "provided port is not in the valid range. The range of valid ports is 31000-31009"},
	} {
		_, err := createService(t, env.Client, testService(fmt.Sprintf("bad%d", tt.port), corev1.ServiceTypeNodePort, "", tt.port))
		st, _ := err.(apierrors.APIStatus)
		if !apierrors.IsInvalid(err) || st.Status().Details.Causes[0].Field != "spec.ports[0].nodePort" || !strings.Contains(err.Error(), tt.message) {
			t.Errorf("nodePort %d: %v", tt.port, err)
		}
	}
	// A failed node port leaves no ClusterIP behind: the transaction is whole.
	list, _ := svcs.List(ctx(t), metav1.ListOptions{})
	if len(list.Items) != 2 {
		t.Errorf("services after rejections: %d", len(list.Items))
	}
	// NodePort → ClusterIP releases the node port.
	fixed, _ := svcs.Get(ctx(t), "fixed", metav1.GetOptions{})
	fixed.Spec.Type = corev1.ServiceTypeClusterIP
	if fixed, err = svcs.Update(ctx(t), fixed, metav1.UpdateOptions{}); err != nil || fixed.Spec.Ports[0].NodePort != 0 {
		t.Fatalf("to ClusterIP: %v %+v", err, fixed.Spec.Ports)
	}
	if _, err := createService(t, env.Client, testService("again", corev1.ServiceTypeNodePort, "", 31005)); err != nil {
		t.Errorf("node port released by the type change: %v", err)
	}
	// Deleting releases it too.
	if err := svcs.Delete(ctx(t), "again", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := createService(t, env.Client, testService("again2", corev1.ServiceTypeNodePort, "", 31005)); err != nil {
		t.Errorf("node port of a deleted service: %v", err)
	}
}

// TestServiceIPExhaustion fills a /29 (six addresses) and checks the
// seventh Service gets an error naming the range and what to do.
func TestServiceIPExhaustion(t *testing.T) {
	env := apitest.Start(t, apitest.WithServiceClusterIPRange(netip.MustParsePrefix("10.7.0.0/29")))
	seen := map[string]bool{}
	for i := 0; i < 6; i++ {
		s, err := createService(t, env.Client, testService(fmt.Sprintf("s%d", i), "", "", 0))
		if err != nil {
			t.Fatalf("service %d: %v", i, err)
		}
		seen[s.Spec.ClusterIP] = true
	}
	if len(seen) != 6 {
		t.Fatalf("addresses %v", seen)
	}
	_, err := createService(t, env.Client, testService("s6", "", "", 0))
	if !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), "10.7.0.0/29 is exhausted") || !strings.Contains(err.Error(), "--service-cluster-ip-range") {
		t.Fatalf("seventh service: %v", err)
	}
	if _, err := env.Client.CoreV1().Services("default").Get(ctx(t), "s6", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("service stored despite exhaustion: %v", err)
	}
	if err := env.Client.CoreV1().Services("default").Delete(ctx(t), "s3", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := createService(t, env.Client, testService("s6", "", "", 0)); err != nil {
		t.Errorf("after freeing an address: %v", err)
	}
}

// TestServiceAllocationTwoServers runs two API servers on one etcd,
// creating Services concurrently from both: no address or node port is
// ever handed out twice, and the stored bitmaps match the Services.
func TestServiceAllocationTwoServers(t *testing.T) {
	rng := apitest.WithServiceClusterIPRange(netip.MustParsePrefix("10.5.0.0/27"))
	ports := apitest.WithServiceNodePortRange("32000-32099")
	one := apitest.Start(t, rng, ports)
	two := apitest.Start(t, rng, ports, apitest.WithStore(one.Store))
	const perServer = 12
	var wg sync.WaitGroup
	errs := make(chan error, 2*perServer)
	for s, env := range []*apitest.Env{one, two} {
		for i := 0; i < perServer; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				svc := testService(fmt.Sprintf("s%d-%d", s, i), corev1.ServiceTypeNodePort, "", 0)
				if _, err := env.Client.CoreV1().Services("default").Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent create: %v", err)
	}
	list, err := one.Client.CoreV1().Services("default").List(ctx(t), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ips, nodePorts := map[string]string{}, map[int32]string{}
	for _, s := range list.Items {
		if other, dup := ips[s.Spec.ClusterIP]; dup {
			t.Errorf("%s and %s share %s", s.Name, other, s.Spec.ClusterIP)
		}
		ips[s.Spec.ClusterIP] = s.Name
		if other, dup := nodePorts[s.Spec.Ports[0].NodePort]; dup {
			t.Errorf("%s and %s share node port %d", s.Name, other, s.Spec.Ports[0].NodePort)
		}
		nodePorts[s.Spec.Ports[0].NodePort] = s.Name
	}
	if len(list.Items) != 2*perServer {
		t.Errorf("%d services, want %d", len(list.Items), 2*perServer)
	}
	// Every address the bitmap holds belongs to a Service: a third server
	// on the same store can have the remaining ones, no more.
	free := 30 - 2*perServer
	for i := 0; i < free; i++ {
		if _, err := createService(t, two.Client, testService(fmt.Sprintf("rest%d", i), "", "", 0)); err != nil {
			t.Fatalf("remaining address %d of %d: %v", i+1, free, err)
		}
	}
	if _, err := createService(t, one.Client, testService("overflow", "", "", 0)); !apierrors.IsInternalError(err) {
		t.Errorf("range should be full: %v", err)
	}
}
