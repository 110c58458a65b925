// Package manager runs tug's controllers — scheduler, replication,
// endpoints, nodelifecycle, nodeipam, gc, namespace — inside `tug server`,
// like kube-controller-manager and kube-scheduler together.
//
// All controllers share one informer factory (one watch per resource) and
// talk to the cluster only through the API server, each with its own client
// (own rate limiter, QPS and Burst from Options, user agent
// "tug-controller-manager/NAME", and — for plain-HTTP configs — its own
// connection pool, see client.PoolConnections) and its own event broadcaster.
//
// Several `tug server` processes may serve the same cluster; the
// controllers run in one of them only, the leader. Manager.Run campaigns
// through an Elector (storage.(*Etcd).Elect, adapted with ElectorFrom),
// runs the controllers while it leads, and when the leadership ends
// (Leadership.Done) cancels them all at once, waits until every controller
// goroutine and in-flight request has returned, resigns (when the
// Leadership has a Resign method) so that a successor is elected at once,
// and campaigns again. A new leader starts from scratch: fresh informers, a
// full list, empty replication expectations. Bindings stay safe across a
// change of leader because binding an already bound pod is a conflict.
//
// Usage in tug server:
//
//	m, err := manager.New(manager.Options{
//		Config:      restConfig,               // the local API server
//		Controllers: []string{"*"},            // or "*,-gc", "scheduler,replication"
//		ClusterCIDR: "10.244.0.0/16",          // empty: no nodeipam
//		Identity:    hostname + "/" + pid,
//		Logger:      logger,
//	}, manager.ElectorFrom(etcdStore.Elect))
//	go m.Run(ctx) // returns when ctx ends, after the controllers stopped
//
// RunControllers runs the selected controllers without an election (tests,
// a single-process cluster).
package manager
