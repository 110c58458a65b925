// Package apitest starts a real tug API server for tests: an embedded etcd
// in the test's temporary directory (or a store the test brings) and the
// server on a random loopback port, with a client-go config and clientset
// pointed at it. Start returns once /readyz answers 200, so the server's
// watch caches are filled and serve lists and watches from the first
// request. Everything stops when the test ends.
//
//	env := apitest.Start(t)
//	pods, err := env.Client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
package apitest
