// Package namespace is the namespace controller: it empties namespaces
// being deleted and then lets the API server remove them.
//
// Deleting a namespace sets its deletionTimestamp and phase Terminating;
// its spec.finalizers still holds "kubernetes". For such a namespace the
// controller deletes every object of every namespaced resource the API
// server serves (discovered; pods last, so that controllers are gone before
// their pods are), waits — re-checking every second — until nothing is left
// (pods bound to a node leave only when their node's agent confirms), and
// then PUTs /api/v1/namespaces/NAME/finalize without "kubernetes" in
// spec.finalizers, upon which the API server deletes the namespace.
//
// The decision of what is left to do is the pure function Plan.
package namespace
