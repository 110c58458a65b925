package apiserver

import (
	"fmt"
	"net/http"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/tug-sh/tug/control/apiserver/openapi"
	"github.com/tug-sh/tug/control/registry"
)

// buildOpenAPI generates the /openapi/v2 document from what discovery
// lists. The server rejects unknown fields under fieldValidation=Strict,
// so the document says so and kubectl leaves validation to the server.
// pods/log and pods/exec stream rather than exchange objects and are left
// out, as are the verbs they would need.
func (s *Server) buildOpenAPI() (http.Handler, error) {
	var kinds []openapi.Kind
	for _, r := range s.apiResourceList().APIResources {
		k := openapi.Kind{Version: "v1", Kind: r.Kind, Resource: r.Name, Namespaced: r.Namespaced, Verbs: r.Verbs}
		parent, sub := splitResource(r.Name)
		switch {
		case r.Name == "bindings" || sub == registry.SubBinding:
			k.Object = &corev1.Binding{}
		case sub == registry.SubScale:
			k.Group, k.Version, k.Object, k.PathPrefix = r.Group, r.Version, &autoscalingv1.Scale{}, "/api/v1"
		case sub == registry.SubLog || sub == registry.SubExec:
			continue
		default:
			res, ok := s.resources[parent]
			if !ok {
				return nil, fmt.Errorf("openapi: discovery lists unknown resource %q", r.Name)
			}
			k.Object = res.New()
			if sub == "" {
				k.List = res.NewList()
			}
		}
		kinds = append(kinds, k)
	}
	doc, err := openapi.Build(kinds, openapi.WithServerFieldValidation())
	if err != nil {
		return nil, fmt.Errorf("building the OpenAPI document: %w", err)
	}
	return doc, nil
}

// splitResource splits "pods/status" into "pods", "status".
func splitResource(name string) (string, string) {
	for i := 0; i < len(name); i++ {
		if name[i] == '/' {
			return name[:i], name[i+1:]
		}
	}
	return name, ""
}

// serveOpenAPIV2 answers /openapi/v2 (JSON or protobuf, as asked).
func (s *Server) serveOpenAPIV2(w http.ResponseWriter, r *http.Request) {
	s.openapi.ServeHTTP(w, r)
}
