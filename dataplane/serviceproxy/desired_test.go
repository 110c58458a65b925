package serviceproxy

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/tug-sh/tug/bpf/lb"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func ptr[T any](v T) *T { return &v }

func fe(addr string, port uint16, proto lb.Protocol) lb.Frontend {
	return lb.Frontend{Address: netip.MustParseAddr(addr), Port: port, Protocol: proto}
}

func be(addr string, port uint16) lb.Backend {
	return lb.Backend{Address: netip.MustParseAddr(addr), Port: port}
}

func service(name, clusterIP string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: clusterIP, ClusterIPs: []string{clusterIP}, Ports: ports},
	}
}

func endpoints(name string, subsets ...corev1.EndpointSubset) *corev1.Endpoints {
	return &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}, Subsets: subsets}
}

func subset(ports []corev1.EndpointPort, ready []string, notReady ...string) corev1.EndpointSubset {
	ss := corev1.EndpointSubset{Ports: ports}
	for _, ip := range ready {
		ss.Addresses = append(ss.Addresses, corev1.EndpointAddress{IP: ip, NodeName: ptr("node-" + ip[len(ip)-1:])})
	}
	for _, ip := range notReady {
		ss.NotReadyAddresses = append(ss.NotReadyAddresses, corev1.EndpointAddress{IP: ip})
	}
	return ss
}

func TestDesiredFrontends(t *testing.T) {
	web := corev1.ServicePort{Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}
	webEP := []corev1.EndpointPort{{Port: 8080, Protocol: corev1.ProtocolTCP}}
	http := corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}
	dns := corev1.ServicePort{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}
	dnsTCP := corev1.ServicePort{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP}
	nodeAddrs := node{name: "node-1", addresses: []netip.Addr{netip.MustParseAddr("192.168.0.10")}}

	for _, tc := range []struct {
		name     string
		svc      *corev1.Service
		eps      *corev1.Endpoints
		want     map[lb.Frontend]lb.Service
		problems int
	}{
		{
			name: "cluster IP, ready addresses only, sorted",
			svc:  service("web", "10.96.0.10", web),
			eps:  endpoints("web", subset(webEP, []string{"10.244.0.3", "10.244.0.1"}, "10.244.0.9")),
			want: map[lb.Frontend]lb.Service{
				fe("10.96.0.10", 80, lb.TCP): {Frontend: fe("10.96.0.10", 80, lb.TCP), Backends: []lb.Backend{be("10.244.0.1", 8080), be("10.244.0.3", 8080)}},
			},
		},
		{
			name: "no endpoints yet: frontend without backends",
			svc:  service("web", "10.96.0.10", web),
			want: map[lb.Frontend]lb.Service{fe("10.96.0.10", 80, lb.TCP): {Frontend: fe("10.96.0.10", 80, lb.TCP)}},
		},
		{
			name: "ports resolved by name and protocol across subsets",
			svc:  service("dns", "10.96.0.53", dns, dnsTCP),
			eps: endpoints("dns",
				subset([]corev1.EndpointPort{{Name: "dns", Port: 5353, Protocol: corev1.ProtocolUDP}, {Name: "dns-tcp", Port: 5354, Protocol: corev1.ProtocolTCP}}, []string{"10.244.1.1"}),
				subset([]corev1.EndpointPort{{Name: "dns", Port: 5353, Protocol: corev1.ProtocolUDP}}, []string{"10.244.2.1"}),
				subset([]corev1.EndpointPort{{Name: "dns", Port: 9999, Protocol: corev1.ProtocolTCP}}, []string{"10.244.3.1"}), // same name, other protocol
			),
			want: map[lb.Frontend]lb.Service{
				fe("10.96.0.53", 53, lb.UDP): {Frontend: fe("10.96.0.53", 53, lb.UDP), Backends: []lb.Backend{be("10.244.1.1", 5353), be("10.244.2.1", 5353)}},
				fe("10.96.0.53", 53, lb.TCP): {Frontend: fe("10.96.0.53", 53, lb.TCP), Backends: []lb.Backend{be("10.244.1.1", 5354)}},
			},
		},
		{
			name: "node port on every node address, same backends",
			svc: func() *corev1.Service {
				s := service("web", "10.96.0.10", corev1.ServicePort{Name: "http", Port: 80, NodePort: 30080, Protocol: corev1.ProtocolTCP})
				s.Spec.Type = corev1.ServiceTypeNodePort
				return s
			}(),
			eps: endpoints("web", subset([]corev1.EndpointPort{{Name: "http", Port: 8080}}, []string{"10.244.0.1"})),
			want: map[lb.Frontend]lb.Service{
				fe("10.96.0.10", 80, lb.TCP):      {Frontend: fe("10.96.0.10", 80, lb.TCP), Backends: []lb.Backend{be("10.244.0.1", 8080)}},
				fe("192.168.0.10", 30080, lb.TCP): {Frontend: fe("192.168.0.10", 30080, lb.TCP), Backends: []lb.Backend{be("10.244.0.1", 8080)}},
			},
		},
		{
			name: "session affinity ClientIP, default timeout",
			svc: func() *corev1.Service {
				s := service("web", "10.96.0.10", http)
				s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
				return s
			}(),
			want: map[lb.Frontend]lb.Service{fe("10.96.0.10", 80, lb.TCP): {Frontend: fe("10.96.0.10", 80, lb.TCP), AffinityTimeout: 10800 * time.Second}},
		},
		{
			name: "session affinity ClientIP, own timeout",
			svc: func() *corev1.Service {
				s := service("web", "10.96.0.10", http)
				s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
				s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr[int32](60)}}
				return s
			}(),
			want: map[lb.Frontend]lb.Service{fe("10.96.0.10", 80, lb.TCP): {Frontend: fe("10.96.0.10", 80, lb.TCP), AffinityTimeout: time.Minute}},
		},
		{
			name: "internalTrafficPolicy Local keeps this node's endpoints",
			svc: func() *corev1.Service {
				s := service("web", "10.96.0.10", web)
				s.Spec.InternalTrafficPolicy = ptr(corev1.ServiceInternalTrafficPolicyLocal)
				return s
			}(),
			eps: endpoints("web", subset(webEP, []string{"10.244.0.1", "10.244.0.2"})),
			want: map[lb.Frontend]lb.Service{
				fe("10.96.0.10", 80, lb.TCP): {Frontend: fe("10.96.0.10", 80, lb.TCP), Backends: []lb.Backend{be("10.244.0.1", 8080)}},
			},
		},
		{name: "headless", svc: service("db", corev1.ClusterIPNone, web), want: map[lb.Frontend]lb.Service{}},
		{
			name: "external name",
			svc:  &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "ext"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"}},
			want: map[lb.Frontend]lb.Service{},
		},
		{name: "deleted service", want: map[lb.Frontend]lb.Service{}},
		{name: "IPv6 cluster IP is skipped with a problem", svc: service("v6", "fd00::10", web), want: map[lb.Frontend]lb.Service{}, problems: 1},
		{
			name:     "SCTP port is skipped with a problem",
			svc:      service("sctp", "10.96.0.10", corev1.ServicePort{Port: 99, Protocol: corev1.ProtocolSCTP}),
			want:     map[lb.Frontend]lb.Service{},
			problems: 1,
		},
		{
			name:     "bad endpoint address is skipped with a problem",
			svc:      service("web", "10.96.0.10", web),
			eps:      endpoints("web", subset(webEP, []string{"10.244.0.1", "fd00::1"})),
			want:     map[lb.Frontend]lb.Service{fe("10.96.0.10", 80, lb.TCP): {Frontend: fe("10.96.0.10", 80, lb.TCP), Backends: []lb.Backend{be("10.244.0.1", 8080)}}},
			problems: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, problems := desiredFrontends(tc.svc, tc.eps, nodeAddrs)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %v\nwant %v", got, tc.want)
			}
			if len(problems) != tc.problems {
				t.Fatalf("problems %v, want %d", problems, tc.problems)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	a, b, c := fe("10.96.0.1", 80, lb.TCP), fe("10.96.0.2", 80, lb.TCP), fe("10.96.0.3", 80, lb.TCP)
	svc := func(f lb.Frontend, bs ...lb.Backend) lb.Service { return lb.Service{Frontend: f, Backends: bs} }
	b1, b2, b3 := be("10.244.0.1", 80), be("10.244.0.2", 80), be("10.244.0.3", 80)
	current := map[lb.Frontend]lb.Service{
		a: svc(a, b2, b1),     // same set, other order: unchanged
		b: svc(b, b1, b1, b2), // a repeated backend: rewrite
		c: svc(c, b1),         // not desired: delete
	}
	desired := map[lb.Frontend]lb.Service{
		a:                           svc(a, b1, b2),
		b:                           svc(b, b1, b2),
		fe("10.96.0.4", 80, lb.TCP): svc(fe("10.96.0.4", 80, lb.TCP), b3),
	}
	ups, dels := diff(current, desired)
	if want := []lb.Service{desired[b], desired[fe("10.96.0.4", 80, lb.TCP)]}; !reflect.DeepEqual(ups, want) {
		t.Errorf("upserts %v, want %v", ups, want)
	}
	if want := []lb.Frontend{c}; !reflect.DeepEqual(dels, want) {
		t.Errorf("deletes %v, want %v", dels, want)
	}
	aff := svc(a, b1, b2)
	aff.AffinityTimeout = time.Hour
	if ups, _ := diff(map[lb.Frontend]lb.Service{a: svc(a, b1, b2)}, map[lb.Frontend]lb.Service{a: aff}); len(ups) != 1 {
		t.Errorf("an affinity change is not an upsert: %v", ups)
	}
	if ups, dels := diff(desired, desired); len(ups)+len(dels) != 0 {
		t.Errorf("diff of equal states: %v %v", ups, dels)
	}
}
