// Package podstate answers the questions every controller asks about a pod —
// is it ready, is it still active, is it being deleted — as pure functions of
// the pod object, so that the scheduler, the replication controller, the
// endpoints controller and the node lifecycle controller agree on them.
package podstate
