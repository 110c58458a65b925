package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tug-sh/tug/control/registry"
	"github.com/tug-sh/tug/control/storage"
)

// immortalNamespaces cannot be deleted, as in Kubernetes.
var immortalNamespaces = map[string]bool{metav1.NamespaceDefault: true, metav1.NamespaceSystem: true}

// delete runs DELETE on one object and returns the object as the response
// shows it: as it was when removed, or with its deletion marks.
func (s *Server) delete(ctx context.Context, res *resource, ns, name string, opts *metav1.DeleteOptions) (registry.Object, error) {
	if res.Name == "namespaces" && immortalNamespaces[name] {
		return nil, apierrors.NewForbidden(namespacesGR, name, errors.New("this namespace may not be deleted"))
	}
	dryRun := len(opts.DryRun) > 0
	key := res.key(ns, name)
	for attempt := 1; ; attempt++ {
		cur, kv, err := s.getObject(ctx, res, ns, name)
		if err != nil {
			return nil, err
		}
		if err := checkPreconditions(res, cur, opts.Preconditions); err != nil {
			return nil, err
		}
		d, err := decideDelete(cur, opts, time.Now())
		if err != nil {
			return nil, err
		}
		result := cur
		var ops []storage.Op
		switch {
		case d.remove:
			if ops, err = s.removeOps(ctx, res, cur, kv.Revision); err != nil {
				return nil, err
			}
		case d.updated != nil:
			result = d.updated
			data, err := res.encodeStored(d.updated)
			if err != nil {
				return nil, err
			}
			op := storage.Update(key, data, kv.Revision)
			op.TTL = res.ttl
			ops = []storage.Op{op}
		}
		if dryRun || len(ops) == 0 {
			return result, nil
		}
		rev, err := s.store.Apply(ctx, ops...)
		if err == nil {
			if !d.remove {
				result.SetResourceVersion(strconv.FormatInt(rev, 10))
			}
			return result, nil
		}
		if retryable(res, err, key) && attempt < maxWriteAttempts {
			continue
		}
		return nil, storageError(err, res.gr, name)
	}
}

// deleteOptions reads DeleteOptions from the body or, failing that, the
// query (gracePeriodSeconds, propagationPolicy, orphanDependents, dryRun).
func (s *Server) deleteOptions(w http.ResponseWriter, r *http.Request) (*metav1.DeleteOptions, error) {
	opts := &metav1.DeleteOptions{}
	body, err := s.readBody(w, r)
	if err != nil {
		return nil, err
	}
	if len(body) > 0 {
		if err := decodeDeleteOptions(body, r.Header.Get("Content-Type"), opts); err != nil {
			return nil, err
		}
	}
	q := r.URL.Query()
	if v := q.Get("gracePeriodSeconds"); v != "" && opts.GracePeriodSeconds == nil {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("gracePeriodSeconds %q is not a number", v))
		}
		opts.GracePeriodSeconds = &n
	}
	if v := q.Get("propagationPolicy"); v != "" && opts.PropagationPolicy == nil {
		p := metav1.DeletionPropagation(v)
		opts.PropagationPolicy = &p
	}
	if v := q.Get("orphanDependents"); v != "" && opts.OrphanDependents == nil {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("orphanDependents %q is not a boolean", v))
		}
		opts.OrphanDependents = &b
	}
	if len(opts.DryRun) == 0 {
		opts.DryRun = q["dryRun"]
	}
	for _, v := range opts.DryRun {
		if v != metav1.DryRunAll {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("unsupported dryRun value %q: the only value is All", v))
		}
	}
	return opts, nil
}

// decodeDeleteOptions reads a DeleteOptions body, which clients send as
// kind DeleteOptions in apiVersion v1 or meta.k8s.io/v1.
func decodeDeleteOptions(body []byte, contentType string, opts *metav1.DeleteOptions) error {
	media, _, _ := mime.ParseMediaType(contentType)
	if media == mediaProtobuf {
		var tm metav1.TypeMeta
		if bytes.HasPrefix(body, protobufMagic) {
			var unk runtime.Unknown
			if err := unk.Unmarshal(body[len(protobufMagic):]); err == nil {
				tm = metav1.TypeMeta{APIVersion: unk.APIVersion, Kind: unk.Kind}
			}
		}
		gvk := metav1.SchemeGroupVersion.WithKind("DeleteOptions")
		if tm.APIVersion == "v1" {
			gvk.Group = ""
		}
		return decodeProtobuf(body, opts, gvk)
	}
	if err := json.Unmarshal(body, opts); err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("the request body is not valid DeleteOptions: %v", err))
	}
	return nil
}

// serveDelete answers DELETE of one object.
func (s *Server) serveDelete(w http.ResponseWriter, r *http.Request, ri *requestInfo) {
	opts, err := s.deleteOptions(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	obj, err := s.delete(r.Context(), ri.res, ri.namespace, ri.name, opts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, obj)
}

// serveDeleteCollection answers DELETE on a collection: every object the
// selectors match is deleted as by DELETE; the answer lists them.
func (s *Server) serveDeleteCollection(w http.ResponseWriter, r *http.Request, ri *requestInfo) {
	opts, err := s.deleteOptions(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if ri.res.Name == "namespaces" {
		s.writeError(w, r, methodNotSupported(ri.res.gr, verbDeleteCollection))
		return
	}
	lo, err := parseListOptions(r, ri)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	lo.limit, lo.continueToken = 0, ""
	items, lm, err := s.list(r.Context(), ri.res, ri.namespace, lo)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	deleted := make([]registry.Object, 0, len(items))
	for _, item := range items {
		obj, err := s.delete(r.Context(), ri.res, item.GetNamespace(), item.GetName(), opts)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		deleted = append(deleted, obj)
	}
	writeJSON(w, http.StatusOK, renderList(ri.res, deleted, lm, output{}, time.Now()))
}
