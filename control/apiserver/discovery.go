package apiserver

import (
	"net/http"
	"runtime"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"

	"github.com/tug-sh/tug/control/registry"
)

// serverVersion is the Kubernetes version tug's API answers to (kubectl checks
// the skew against it).
var serverVersion = version.Info{
	Major:      "1",
	Minor:      "32",
	GitVersion: "v1.32.0-tug",
	GitCommit:  "tug",
	Compiler:   runtime.Compiler,
	GoVersion:  runtime.Version(),
	Platform:   runtime.GOOS + "/" + runtime.GOARCH,
}

func (s *Server) serveVersion(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		s.writeError(w, r, methodNotSupported(versionGR, r.Method))
		return
	}
	writeJSON(w, http.StatusOK, serverVersion)
}

var versionGR = schema.GroupResource{Resource: "version"}

// serveAPIVersions answers /api: only v1.
func (s *Server) serveAPIVersions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, &metav1.APIVersions{
		TypeMeta: metav1.TypeMeta{Kind: "APIVersions"},
		Versions: []string{"v1"},
		ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{
			{ClientCIDR: "0.0.0.0/0", ServerAddress: r.Host},
		},
	})
}

// serveAPIGroups answers /apis: the resource metrics API,
// metrics.k8s.io (the core group lives at /api). Plain JSON makes newer
// clients fall back from aggregated discovery.
func (s *Server) serveAPIGroups(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, &metav1.APIGroupList{
		TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"},
		Groups:   []metav1.APIGroup{metricsAPIGroup()},
	})
}

// serveResourceList answers /api/v1.
func (s *Server) serveResourceList(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.apiResourceList())
}

// apiResourceList describes every resource and subresource for discovery.
func (s *Server) apiResourceList() *metav1.APIResourceList {
	all := metav1.Verbs{verbCreate, verbDelete, verbDeleteCollection, verbGet, verbList, verbPatch, verbUpdate, verbWatch}
	l := &metav1.APIResourceList{
		TypeMeta:     metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
		GroupVersion: "v1",
	}
	l.APIResources = append(l.APIResources, metav1.APIResource{
		Name: "bindings", SingularName: "binding", Namespaced: true, Kind: "Binding", Verbs: metav1.Verbs{verbCreate},
	})
	for _, res := range s.ordered {
		verbs := all
		if res.Name == "namespaces" {
			verbs = metav1.Verbs{verbCreate, verbDelete, verbGet, verbList, verbPatch, verbUpdate, verbWatch}
		}
		l.APIResources = append(l.APIResources, metav1.APIResource{
			Name:         res.Name,
			SingularName: res.SingularName,
			Namespaced:   res.Namespaced,
			Kind:         res.Kind,
			Verbs:        verbs,
			ShortNames:   res.ShortNames,
			Categories:   res.Categories,
		})
		for _, sub := range res.Subresources {
			l.APIResources = append(l.APIResources, subresourceDiscovery(res, sub))
		}
	}
	return l
}

// subresourceDiscovery describes res/sub as kube-apiserver does.
func subresourceDiscovery(res *resource, sub string) metav1.APIResource {
	d := metav1.APIResource{Name: res.Name + "/" + sub, Namespaced: res.Namespaced, Kind: res.Kind}
	switch sub {
	case registry.SubStatus:
		d.Verbs = metav1.Verbs{verbGet, verbPatch, verbUpdate}
	case registry.SubScale:
		d.Group, d.Version, d.Kind = "autoscaling", "v1", "Scale"
		d.Verbs = metav1.Verbs{verbGet, verbPatch, verbUpdate}
	case registry.SubBinding:
		d.Kind = "Binding"
		d.Verbs = metav1.Verbs{verbCreate}
	case registry.SubLog:
		d.Verbs = metav1.Verbs{verbGet}
	case registry.SubExec:
		d.Kind = "PodExecOptions"
		d.Verbs = metav1.Verbs{verbCreate, verbGet}
	case registry.SubFinalize:
		d.Verbs = metav1.Verbs{verbUpdate}
	case subProxy:
		d.Kind = "NodeProxyOptions"
		d.Verbs = metav1.Verbs{verbGet}
	default:
		d.Verbs = metav1.Verbs{verbGet}
	}
	return d
}
