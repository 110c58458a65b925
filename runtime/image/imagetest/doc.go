// Package imagetest helps tests that need container images without a
// network: the busybox image of imagebuild, a registry served in-process
// by go-containerregistry's pkg/registry on a loopback port (optionally
// behind basic auth or self-signed TLS), pushing, and a docker config.json
// with credentials.
//
// References to 127.0.0.1:PORT use plain HTTP automatically, so the
// registry needs no insecure-registry setting unless it serves TLS.
package imagetest
