// Package cli is the tug command line's kubectl role: create, apply, get,
// describe, delete (and its 2015 name stop), scale, logs, exec and version,
// against any Kubernetes core/v1-compatible API server — tug's own, or a
// real one.
//
// Commands returns the commands; cmd/tug puts them in its command table.
// Each command parses its own flags (pflag; every command also takes
// -s/--server, -n/--namespace and --insecure-skip-tls-verify), does its
// work through control/client, writes to the Streams it is given and
// returns an exit code: 0, 1 after printing errors the way kubectl v1.32
// prints them, or the exit code of a command run with exec.
//
// Output follows kubectl v1.32: human tables come from the server's
// meta.k8s.io/v1 Tables (printers), describe from kubectl's describer
// layouts (describe), manifests are read by manifest. Like kubectl, a
// command that works on several objects goes on after one fails and
// reports every failure at the end.
package cli
