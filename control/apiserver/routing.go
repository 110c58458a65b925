package apiserver

import (
	"context"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tug-sh/tug/control/registry"
)

// Verbs, as Kubernetes names them in discovery, audit and metrics.
const (
	verbGet              = "get"
	verbList             = "list"
	verbWatch            = "watch"
	verbCreate           = "create"
	verbUpdate           = "update"
	verbPatch            = "patch"
	verbDelete           = "delete"
	verbDeleteCollection = "deletecollection"
	verbConnect          = "connect"
)

// requestInfo is what the path and method of an API request say.
type requestInfo struct {
	verb        string
	namespace   string
	res         *resource
	name        string
	subresource string
}

// routes wires every path the server answers.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/api", s.serveAPIVersions)
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/apis", s.serveAPIGroups)
	mux.HandleFunc("/apis/", s.serveAPIGroupPaths)
	mux.HandleFunc("/version", s.serveVersion)
	mux.HandleFunc("/version/", s.serveVersion)
	mux.HandleFunc("/openapi/v2", s.serveOpenAPIV2)
	mux.HandleFunc("/healthz", s.serveLive)
	mux.HandleFunc("/livez", s.serveLive)
	mux.HandleFunc("/readyz", s.serveReady)
	mux.Handle("/metrics", s.metrics.handler())
	mux.HandleFunc("/", s.serveNotFound)
	return mux
}

// notFoundStatus is kube's answer for a path it does not serve.
func notFoundStatus() error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusNotFound,
		Reason:  metav1.StatusReasonNotFound,
		Message: "the server could not find the requested resource",
		Details: &metav1.StatusDetails{},
	}}
}

func (s *Server) serveNotFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, notFoundStatus())
}

// serveAPI handles everything under /api/.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	parts := splitPath(strings.TrimPrefix(r.URL.Path, "/api"))
	switch {
	case len(parts) == 0:
		s.serveAPIVersions(w, r)
		return
	case parts[0] != "v1":
		s.serveNotFound(w, r)
		return
	case len(parts) == 1:
		s.serveResourceList(w, r)
		return
	}
	ri, err := s.parseRequest(r, parts[1:])
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setRequestLabels(r.Context(), ri)
	if ri.verb != verbWatch && ri.verb != verbConnect {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		r = r.WithContext(ctx)
	}
	s.dispatch(w, r, ri)
}

// splitPath splits a URL path into its non-empty segments.
func splitPath(p string) []string {
	var out []string
	for _, seg := range strings.Split(p, "/") {
		if seg != "" {
			out = append(out, seg)
		}
	}
	return out
}

// namespaceSubresources are the segments after /namespaces/{name} that
// address the namespace itself rather than a resource inside it.
var namespaceSubresources = map[string]bool{registry.SubStatus: true, registry.SubFinalize: true}

// parseRequest resolves the segments after /api/v1 into a requestInfo.
func (s *Server) parseRequest(r *http.Request, parts []string) (*requestInfo, error) {
	watchPath := false
	if parts[0] == "watch" {
		watchPath, parts = true, parts[1:]
		if len(parts) == 0 {
			return nil, notFoundStatus()
		}
	}
	ri := &requestInfo{}
	var resName string
	var rest []string
	if parts[0] == "namespaces" && len(parts) >= 3 && !namespaceSubresources[parts[2]] {
		ri.namespace, resName, rest = parts[1], parts[2], parts[3:]
	} else {
		resName, rest = parts[0], parts[1:]
	}
	if len(rest) > 2 && !(resName == "nodes" && rest[1] == subProxy) {
		// Only nodes/{name}/proxy/{path...} goes deeper.
		return nil, notFoundStatus()
	}
	if len(rest) > 0 {
		ri.name = rest[0]
	}
	if len(rest) > 1 {
		ri.subresource = rest[1]
	}
	if resName == "bindings" {
		return s.parseBindings(r, ri, watchPath)
	}
	res, ok := s.resources[resName]
	if !ok {
		return nil, notFoundStatus()
	}
	ri.res = res
	switch {
	case res.Namespaced && ri.namespace == "" && ri.name != "":
		// Namespaced objects are only addressed inside their namespace.
		return nil, notFoundStatus()
	case !res.Namespaced && ri.namespace != "":
		return nil, notFoundStatus()
	case ri.subresource != "" && !res.HasSubresource(ri.subresource):
		return nil, notFoundStatus()
	}
	if watchPath {
		if r.Method != http.MethodGet || ri.subresource != "" {
			return nil, methodNotSupported(res.gr, r.Method)
		}
		ri.verb = verbWatch
		return ri, nil
	}
	verb, ok := verbFor(r, ri)
	if !ok || (res.Namespaced && ri.namespace == "" && verb != verbList && verb != verbWatch) {
		// Across namespaces, namespaced resources are only read.
		return nil, methodNotSupported(res.gr, r.Method)
	}
	ri.verb = verb
	return ri, nil
}

// parseBindings handles POST /api/v1/namespaces/{ns}/bindings, the older
// form of pods/{name}/binding.
func (s *Server) parseBindings(r *http.Request, ri *requestInfo, watchPath bool) (*requestInfo, error) {
	gr := schema.GroupResource{Resource: "bindings"}
	if ri.namespace == "" || ri.name != "" {
		return nil, notFoundStatus()
	}
	if watchPath || r.Method != http.MethodPost {
		return nil, methodNotSupported(gr, r.Method)
	}
	ri.res = s.resources["pods"]
	ri.subresource = registry.SubBinding
	ri.verb = verbCreate
	return ri, nil
}

// verbFor maps the method and path shape to a verb; false means the method
// is not allowed there.
func verbFor(r *http.Request, ri *requestInfo) (string, bool) {
	m := r.Method
	if ri.subresource != "" {
		allowed := map[string][]string{
			registry.SubStatus:   {http.MethodGet, http.MethodPut, http.MethodPatch},
			registry.SubScale:    {http.MethodGet, http.MethodPut, http.MethodPatch},
			registry.SubBinding:  {http.MethodPost},
			registry.SubLog:      {http.MethodGet},
			registry.SubExec:     {http.MethodGet, http.MethodPost},
			registry.SubFinalize: {http.MethodPut},
			subProxy:             {http.MethodGet},
		}[ri.subresource]
		ok := false
		for _, a := range allowed {
			ok = ok || a == m
		}
		if !ok {
			return "", false
		}
		switch {
		case ri.subresource == registry.SubLog || ri.subresource == registry.SubExec || ri.subresource == subProxy:
			return verbConnect, true
		case ri.subresource == registry.SubBinding:
			return verbCreate, true
		}
	}
	switch {
	case m == http.MethodGet && ri.name == "":
		if isWatch(r) {
			return verbWatch, true
		}
		return verbList, true
	case m == http.MethodGet:
		if isWatch(r) {
			return verbWatch, true
		}
		return verbGet, true
	case m == http.MethodPost && ri.name == "":
		return verbCreate, true
	case m == http.MethodPut && ri.name != "":
		return verbUpdate, true
	case m == http.MethodPatch && ri.name != "":
		return verbPatch, true
	case m == http.MethodDelete && ri.name == "":
		return verbDeleteCollection, true
	case m == http.MethodDelete:
		return verbDelete, true
	}
	return "", false
}

func isWatch(r *http.Request) bool {
	v := r.URL.Query().Get("watch")
	return v == "true" || v == "1"
}

func methodNotSupported(gr schema.GroupResource, method string) error {
	return apierrors.NewMethodNotSupported(gr, method)
}

// dispatch runs the handler for a resolved request.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, ri *requestInfo) {
	switch ri.subresource {
	case registry.SubLog, registry.SubExec:
		s.serveNodeProxy(w, r, ri)
		return
	case subProxy:
		s.serveNodeAgentProxy(w, r, ri)
		return
	case registry.SubBinding:
		s.serveBinding(w, r, ri)
		return
	case registry.SubScale:
		s.serveScale(w, r, ri)
		return
	case registry.SubFinalize:
		s.serveFinalize(w, r, ri)
		return
	}
	switch ri.verb {
	case verbGet:
		s.serveGet(w, r, ri)
	case verbList:
		s.serveList(w, r, ri)
	case verbWatch:
		s.serveWatch(w, r, ri)
	case verbCreate:
		s.serveCreate(w, r, ri)
	case verbUpdate:
		s.serveUpdate(w, r, ri)
	case verbPatch:
		s.servePatch(w, r, ri)
	case verbDelete:
		s.serveDelete(w, r, ri)
	case verbDeleteCollection:
		s.serveDeleteCollection(w, r, ri)
	}
}

// requestLabels carries the metric labels of a request from routing to the
// instrumenting wrapper.
type requestLabels struct {
	verb, resource, subresource string
}

type requestLabelsKey struct{}

func setRequestLabels(ctx context.Context, ri *requestInfo) {
	if l, ok := ctx.Value(requestLabelsKey{}).(*requestLabels); ok {
		l.verb, l.resource, l.subresource = ri.verb, ri.res.Name, ri.subresource
	}
}
