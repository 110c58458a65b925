package apiserver

import (
	"context"
	"net/http"
	"time"

	"github.com/tug-sh/tug/control/registry"
	"github.com/tug-sh/tug/control/storage"
)

// getObject reads one object; NotFound is kube's 404 for it.
func (s *Server) getObject(ctx context.Context, res *resource, ns, name string) (registry.Object, storage.KV, error) {
	kv, err := s.store.Get(ctx, res.key(ns, name))
	if err != nil {
		return nil, kv, storageError(err, res.gr, name)
	}
	obj, err := res.decodeStored(kv)
	return obj, kv, err
}

// serveGet answers GET of one object (or its status, which is the same
// object in core/v1).
func (s *Server) serveGet(w http.ResponseWriter, r *http.Request, ri *requestInfo) {
	out, err := negotiateOutput(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	obj, _, err := s.getObject(r.Context(), ri.res, ri.namespace, ri.name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, renderObject(ri.res, obj, out, time.Now()))
}
