// Package loop is the work-queue loop the queue-driven controllers share:
// wait for the informers to sync, run workers that take keys off a
// rate-limited queue and sync them, forget a key that synced, put back with
// backoff a key that failed (logging why), and stop when the context ends.
//
// Each controller keeps its own queue, event handlers and sync function;
// only the loop around them lives here, so that every controller retries,
// logs and shuts down the same way. Run is the whole loop (endpoints,
// replication, namespace); a controller with its own start-up between sync
// and work calls WaitForSync and Work itself (nodeipam, gc). The scheduler
// (its own queue and binders) and the node lifecycle controller (a periodic
// pass, no queue) are not queue-driven in this sense and do not use it.
package loop
