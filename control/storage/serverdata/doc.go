// Package serverdata is the on-disk layout of tug server's --data-dir
// (DIR/server under tug up): the embedded etcd's directory, and its removal
// by tug reset. It imports nothing of etcd, so the node build can reset a
// machine that ran tug up.
package serverdata
