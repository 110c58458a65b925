package apiserver

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tug-sh/tug/control/registry"
	"github.com/tug-sh/tug/control/storage"
)

// listOptions are the query parameters of list and watch.
type listOptions struct {
	labels        labels.Selector
	fields        fields.Selector
	rv            string
	rvMatch       metav1.ResourceVersionMatch
	limit         int64
	continueToken string
	// watch only
	bookmarks         bool
	sendInitialEvents *bool
	timeout           time.Duration
}

// parseListOptions reads and checks list/watch parameters. Field
// selectors may only name the resource's supported fields, as in kube.
func parseListOptions(r *http.Request, ri *requestInfo) (listOptions, error) {
	q := r.URL.Query()
	lo := listOptions{
		rv:            q.Get("resourceVersion"),
		rvMatch:       metav1.ResourceVersionMatch(q.Get("resourceVersionMatch")),
		continueToken: q.Get("continue"),
		bookmarks:     q.Get("allowWatchBookmarks") == "true",
	}
	var err error
	if lo.labels, err = labels.Parse(q.Get("labelSelector")); err != nil {
		return lo, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
	}
	fs := q.Get("fieldSelector")
	if ri.name != "" { // a watch on one object
		if fs != "" {
			fs += ","
		}
		fs += "metadata.name=" + ri.name
	}
	if lo.fields, err = fields.ParseSelector(fs); err != nil {
		return lo, apierrors.NewBadRequest(fmt.Sprintf("invalid field selector %q: %v", fs, err))
	}
	for _, req := range lo.fields.Requirements() {
		if !ri.res.fieldKeys[req.Field] {
			return lo, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", req.Field))
		}
	}
	if v := q.Get("limit"); v != "" {
		if lo.limit, err = strconv.ParseInt(v, 10, 64); err != nil || lo.limit < 0 {
			return lo, apierrors.NewBadRequest(fmt.Sprintf("limit %q is not a non-negative integer", v))
		}
	}
	if v := q.Get("timeoutSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return lo, apierrors.NewBadRequest(fmt.Sprintf("timeoutSeconds %q is not a non-negative integer", v))
		}
		lo.timeout = time.Duration(n) * time.Second
	}
	if v := q.Get("sendInitialEvents"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return lo, apierrors.NewBadRequest(fmt.Sprintf("sendInitialEvents %q is not a boolean", v))
		}
		lo.sendInitialEvents = &b
	}
	switch lo.rvMatch {
	case "", metav1.ResourceVersionMatchExact, metav1.ResourceVersionMatchNotOlderThan:
	default:
		return lo, apierrors.NewBadRequest(fmt.Sprintf("resourceVersionMatch %q is not one of Exact, NotOlderThan", lo.rvMatch))
	}
	if lo.rvMatch == metav1.ResourceVersionMatchExact && (lo.rv == "" || lo.rv == "0") {
		return lo, apierrors.NewBadRequest("resourceVersionMatch Exact needs a resourceVersion other than 0")
	}
	if lo.continueToken != "" && lo.rv != "" && lo.rv != "0" {
		return lo, apierrors.NewBadRequest("specifying resource version is not allowed when using continue")
	}
	if _, err := parseRV(lo.rv); err != nil {
		return lo, err
	}
	return lo, nil
}

// matches applies the selectors to obj.
func (lo listOptions) matches(res *resource, obj registry.Object) bool {
	if !lo.labels.Empty() && !lo.labels.Matches(labels.Set(obj.GetLabels())) {
		return false
	}
	if lo.fields.Empty() {
		return true
	}
	set := res.Strategy.Fields(obj)
	set["metadata.name"] = obj.GetName()
	if res.Namespaced {
		set["metadata.namespace"] = obj.GetNamespace()
	}
	return lo.fields.Matches(set)
}

// continueToken is the opaque continue parameter of a paged list, as kube
// encodes it: the revision of the first page and the key to resume at.
type continueToken struct {
	APIVersion string `json:"v"`
	RV         int64  `json:"rv"`
	Start      string `json:"start"`
}

func encodeContinue(rev int64, nextKey, prefix string) string {
	data, _ := json.Marshal(continueToken{APIVersion: "meta.k8s.io/v1", RV: rev, Start: strings.TrimPrefix(nextKey, prefix)})
	return base64.RawURLEncoding.EncodeToString(data)
}

func decodeContinue(token, prefix string) (int64, string, error) {
	bad := apierrors.NewBadRequest("continue key is not valid: start a new list without the continue parameter")
	data, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, "", bad
	}
	var t continueToken
	if err := json.Unmarshal(data, &t); err != nil || t.APIVersion != "meta.k8s.io/v1" || t.RV <= 0 ||
		strings.Contains(t.Start, "..") || strings.HasPrefix(t.Start, "/") {
		return 0, "", bad
	}
	return t.RV, prefix + t.Start, nil
}

// tooLargeResourceVersion is kube's 504 for a resourceVersion the store
// has not reached; clients retry.
func tooLargeResourceVersion(min, cur int64) error {
	msg := fmt.Sprintf("Too large resource version: %d, current: %d", min, cur)
	e := apierrors.NewTimeoutError(msg, 1)
	e.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: metav1.CauseTypeResourceVersionTooLarge, Message: msg}}
	return e
}

const continueExpiredMessage = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter."

// listFromStore reads the objects of res in ns that match lo from etcd,
// honouring resourceVersion semantics and paging. It returns them with
// the list's metadata (resourceVersion, continue).
func (s *Server) listFromStore(ctx context.Context, res *resource, ns string, lo listOptions) ([]registry.Object, metav1.ListMeta, error) {
	s.metrics.lists.WithLabelValues(res.Name, "etcd").Inc()
	prefix := res.prefix(ns)
	start := prefix
	var rev int64
	switch {
	case lo.continueToken != "":
		var err error
		if rev, start, err = decodeContinue(lo.continueToken, prefix); err != nil {
			return nil, metav1.ListMeta{}, err
		}
	case lo.rv == "" || lo.rv == "0":
	case lo.rvMatch == metav1.ResourceVersionMatchExact:
		rev, _ = parseRV(lo.rv)
	default: // NotOlderThan: any state at least as new as rv
		min, _ := parseRV(lo.rv)
		cur, err := s.store.Revision(ctx)
		if err != nil {
			return nil, metav1.ListMeta{}, err
		}
		if min > cur {
			return nil, metav1.ListMeta{}, tooLargeResourceVersion(min, cur)
		}
	}
	var out []registry.Object
	var lm metav1.ListMeta
	for {
		page, err := s.store.List(ctx, prefix, storage.ListOptions{Revision: rev, KeysFrom: start, Limit: lo.limit})
		if err != nil {
			if errors.Is(err, storage.ErrCompacted) {
				if lo.continueToken != "" {
					return nil, lm, apierrors.NewResourceExpired(continueExpiredMessage)
				}
				return nil, lm, apierrors.NewResourceExpired("The resourceVersion for the provided list is too old.")
			}
			return nil, lm, err
		}
		rev = page.Revision
		for i, kv := range page.Items {
			obj, err := res.decodeStored(kv)
			if err != nil {
				return nil, lm, err
			}
			if !lo.matches(res, obj) {
				continue
			}
			out = append(out, obj)
			if lo.limit > 0 && int64(len(out)) == lo.limit {
				if i < len(page.Items)-1 || page.More {
					lm.Continue = encodeContinue(rev, kv.Key+"\x00", prefix)
				}
				lm.ResourceVersion = strconv.FormatInt(rev, 10)
				return out, lm, nil
			}
		}
		if !page.More || len(page.Items) == 0 {
			break
		}
		start = page.Items[len(page.Items)-1].Key + "\x00"
	}
	lm.ResourceVersion = strconv.FormatInt(rev, 10)
	return out, lm, nil
}

// serveList answers GET on a collection.
func (s *Server) serveList(w http.ResponseWriter, r *http.Request, ri *requestInfo) {
	out, err := negotiateOutput(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	lo, err := parseListOptions(r, ri)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if c := s.caches[ri.res.Name]; c != nil {
		objs, lm, err := s.listFromCache(r.Context(), c, ri.namespace, lo)
		switch {
		case err == nil:
			s.serveCachedList(w, r, ri.res, objs, lm, out)
			return
		case !errors.Is(err, errCacheNotReady) && !errors.Is(err, errCacheStale):
			s.writeError(w, r, err)
			return
		}
	}
	items, lm, err := s.listFromStore(r.Context(), ri.res, ri.namespace, lo)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, renderList(ri.res, items, lm, out, time.Now()))
}
