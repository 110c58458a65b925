package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tug-sh/tug/control/storage"
)

func TestToStatus(t *testing.T) {
	pods := schema.GroupResource{Resource: "pods"}
	wrap := func(err error) error { return &storage.KeyError{Key: "/registry/pods/a/b", Err: err} }
	tests := []struct {
		err        error
		code       int32
		retryAfter int32
	}{
		{apierrors.NewNotFound(pods, "x"), 404, 0},
		{storageError(wrap(storage.ErrNotFound), pods, "b"), 404, 0},
		{storageError(wrap(storage.ErrExists), pods, "b"), 409, 0},
		{storageError(wrap(storage.ErrConflict), pods, "b"), 409, 0},
		{wrap(fmt.Errorf("%w: no leader", storage.ErrUnavailable)), 503, 1},
		{fmt.Errorf("get: %w", context.DeadlineExceeded), 503, 1},
		{wrap(fmt.Errorf("%w: rev 3", storage.ErrCompacted)), 410, 0},
		{&http.MaxBytesError{Limit: 10}, 413, 0},
		{fmt.Errorf("something broke"), 500, 0},
	}
	for _, tt := range tests {
		st := toStatus(tt.err).Status()
		var retry int32
		if st.Details != nil {
			retry = st.Details.RetryAfterSeconds
		}
		if st.Code != tt.code || retry != tt.retryAfter {
			t.Errorf("%v: %d (retry after %d), want %d (%d)", tt.err, st.Code, retry, tt.code, tt.retryAfter)
		}
	}
}
