// Package etcdtest runs a real multi-member etcd cluster for tests: Debian's
// etcd binary (/usr/bin/etcd, package etcd-server), one process per member,
// on free loopback ports (drawn below the kernel's ephemeral range, so a
// killed member's ports are still free when it restarts), with data and
// logs in the test's temporary directory.
//
//	c := etcdtest.StartCluster(t, 3)
//	st, err := storage.Dial(ctx, storage.EtcdConfig{Endpoints: c.Endpoints()})
//	...
//	c.Kill(c.Leader())    // SIGKILL one member; the others keep quorum
//	c.Restart(i)          // start it again on its old data and ports
//
// StartCluster returns once every member answers and the cluster has a
// leader. Everything it starts is killed (by PID, only the processes it
// started) and removed by t.Cleanup, even when the test fails; the members'
// logs are printed then. Without /usr/bin/etcd the test is skipped with a
// message naming the package to install.
package etcdtest
