package registry

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Object is what every stored API object satisfies.
type Object interface {
	runtime.Object
	metav1.Object
}

// Subresource names a resource may serve besides the object itself.
const (
	SubStatus  = "status"
	SubScale   = "scale"
	SubBinding = "binding"
	SubLog     = "log"
	SubExec    = "exec"
	// SubFinalize is namespaces/finalize, the only way to change a
	// namespace's spec.finalizers (see PrepareForFinalize).
	SubFinalize = "finalize"
)

// Resource describes one REST resource: everything the API server's
// generic handlers need to know about it.
type Resource struct {
	// Name is the plural lower-case resource name ("pods").
	Name         string
	SingularName string
	Kind         string
	ShortNames   []string
	Categories   []string
	Namespaced   bool
	// Subresources lists the subresources served (SubStatus, ...).
	Subresources []string
	// New and NewList allocate an empty object and list (with an Items
	// field) of this resource's Go type from k8s.io/api.
	New     func() Object
	NewList func() runtime.Object
	// Strategy holds the resource's rules.
	Strategy Strategy
}

// HasSubresource reports whether r serves sub.
func (r Resource) HasSubresource(sub string) bool {
	for _, s := range r.Subresources {
		if s == sub {
			return true
		}
	}
	return false
}

// Strategy is the per-resource behaviour of the API server, as pure
// functions of the objects involved. The generic handlers call, on create:
// PrepareForCreate, Default, Validate; on update of the object:
// PrepareForUpdate, Default, ValidateUpdate; on update of /status:
// PrepareForStatusUpdate, ValidateStatusUpdate. Server-managed metadata
// (uid, resourceVersion, creationTimestamp, generation, namespace from the
// URL) is handled by the server, not here.
type Strategy interface {
	// PrepareForCreate clears what a client may not set on create (status,
	// for most resources) and sets server-owned initial values (a pod's
	// phase Pending, a namespace's finalizer).
	PrepareForCreate(obj Object)
	// PrepareForUpdate copies from old what the main resource may not
	// change (status, for resources with a status subresource).
	PrepareForUpdate(obj, old Object)
	// PrepareForStatusUpdate copies everything but status from old.
	PrepareForStatusUpdate(obj, old Object)
	// Default applies server-side defaults, as the Kubernetes API server
	// does for core/v1 (port protocol TCP, restartPolicy Always, an RC's
	// selector from its template labels, ...).
	Default(obj Object)
	// Validate checks a new object; field paths as Kubernetes reports them.
	Validate(obj Object) field.ErrorList
	// ValidateUpdate checks an update of the object (immutable fields).
	ValidateUpdate(obj, old Object) field.ErrorList
	// ValidateStatusUpdate checks an update of /status.
	ValidateStatusUpdate(obj, old Object) field.ErrorList
	// SpecChanged reports whether an update changes the desired state, so
	// that the server bumps metadata.generation.
	SpecChanged(obj, old Object) bool
	// Fields returns the values field selectors may match (always
	// metadata.name and, when namespaced, metadata.namespace).
	Fields(obj Object) fields.Set
	// Columns are the Table columns kubectl prints for this resource
	// (priority 1 columns only with -o wide).
	Columns() []metav1.TableColumnDefinition
	// Row returns one Table row's cells, in Columns order, as of now.
	Row(obj Object, now time.Time) []interface{}
}

// The package's entry points, implemented in resources.go:
//
//	func Resources() []Resource       // tug's resources, in discovery order
//	func NewScheme() *runtime.Scheme  // core/v1, meta/v1, autoscaling/v1 registered
