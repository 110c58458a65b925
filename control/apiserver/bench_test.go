package apiserver_test

import (
	"context"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tug-sh/tug/control/apiserver/apitest"
)

// The benchmarks drive the server over loopback HTTP with client-go, on an
// embedded etcd that syncs to disk: they measure the whole write and read
// paths as a client sees them.

func BenchmarkCreatePod(b *testing.B) {
	env := apitest.Start(b)
	pods := env.Client.CoreV1().Pods("default")
	c := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := pods.Create(c, testPod(fmt.Sprintf("p%d", i)), metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpdatePod(b *testing.B) {
	env := apitest.Start(b)
	pods := env.Client.CoreV1().Pods("default")
	c := context.Background()
	p, err := pods.Create(c, testPod("p"), metav1.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.Labels["n"] = fmt.Sprint(i)
		if p, err = pods.Update(c, p, metav1.UpdateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkList lists 500 pods (kubectl's page size), with and without a
// label selector that matches a tenth of them.
func BenchmarkList(b *testing.B) {
	env := apitest.Start(b)
	pods := env.Client.CoreV1().Pods("default")
	c := context.Background()
	for i := 0; i < 500; i++ {
		p := testPod(fmt.Sprintf("p%03d", i))
		p.Labels["tenth"] = fmt.Sprint(i%10 == 0)
		if _, err := pods.Create(c, p, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	for _, sel := range []string{"", "tenth=true"} {
		b.Run("selector="+sel, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := pods.List(c, metav1.ListOptions{LabelSelector: sel, Limit: 500}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
