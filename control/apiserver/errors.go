package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tug-sh/tug/control/storage"
)

// conflictMessage is kube's text for a stale resourceVersion.
const conflictMessage = "the object has been modified; please apply your changes to the latest version and try again"

// toStatus turns any error into the Kubernetes Status it is answered with.
// Errors already carrying a Status pass through; storage sentinels map to
// their HTTP meaning; anything else is an internal error.
func toStatus(err error) *apierrors.StatusError {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		if s, ok := se.(*apierrors.StatusError); ok {
			return s
		}
		return &apierrors.StatusError{ErrStatus: se.Status()}
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", mbe.Limit))
	case errors.Is(err, storage.ErrUnavailable):
		return storageUnavailable(fmt.Sprintf("the storage (etcd) is unavailable: %v; retry shortly, and check that etcd is running with a quorum if this persists", err))
	case errors.Is(err, storage.ErrCompacted):
		return apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %v", err))
	case errors.Is(err, context.DeadlineExceeded):
		return storageUnavailable(fmt.Sprintf("the storage (etcd) did not answer in time (%v); retry shortly, and check that etcd is running with a quorum if this persists", err))
	}
	return apierrors.NewInternalError(err)
}

func isAPIStatus(err error) bool {
	var se apierrors.APIStatus
	return errors.As(err, &se)
}

// storageUnavailable is a 503 that asks clients to retry after a second
// (client-go does so by itself when it sees Retry-After).
func storageUnavailable(msg string) *apierrors.StatusError {
	e := apierrors.NewServiceUnavailable(msg)
	e.ErrStatus.Details = &metav1.StatusDetails{RetryAfterSeconds: 1}
	return e
}

// storageError maps a storage error about one object to kube's error for it.
func storageError(err error, gr schema.GroupResource, name string) error {
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return apierrors.NewNotFound(gr, name)
	case errors.Is(err, storage.ErrExists):
		return apierrors.NewAlreadyExists(gr, name)
	case errors.Is(err, storage.ErrConflict):
		return apierrors.NewConflict(gr, name, errors.New(conflictMessage))
	}
	return err
}

// writeError answers err as a Status object.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(r.Context().Err(), context.DeadlineExceeded) && !isAPIStatus(err) {
		// The request timeout ran out in a storage call, whatever error
		// the etcd client made of it.
		err = fmt.Errorf("%w: %v", context.DeadlineExceeded, err)
	}
	st := toStatus(err)
	status := st.Status()
	if status.Code == 0 {
		status.Code = http.StatusInternalServerError
	}
	if status.Code >= 500 {
		s.log.Warn("request failed", "method", r.Method, "path", r.URL.Path, "code", status.Code, "err", err)
	}
	status.Kind, status.APIVersion = "Status", "v1"
	if d := status.Details; d != nil && d.RetryAfterSeconds > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(d.RetryAfterSeconds)))
	}
	writeJSON(w, int(status.Code), &status)
}

// successStatus is the Status kube answers some writes with.
func successStatus(code int32) *metav1.Status {
	return &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusSuccess,
		Code:     code,
	}
}
