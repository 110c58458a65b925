package openapi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The media types of the protobuf form. Clients (client-go, so kubectl)
// ask for ProtobufAccept; the answer is labelled ProtobufContentType, as
// Kubernetes labels it, because Go's mime parser rejects the "@" in the
// former.
const (
	ProtobufAccept      = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
	ProtobufContentType = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
)

// Document is a built OpenAPI v2 document in its wire forms (JSON and
// protobuf, each also gzipped), computed once by Build and shared by
// every request.
type Document struct {
	json, protobuf encoded
}

// encoded is one form of the document, plain and gzipped, with ETags.
type encoded struct {
	plain, gzipped    []byte
	plainTag, gzipTag string
}

func encode(b []byte) (encoded, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return encoded{}, err
	}
	if _, err := zw.Write(b); err != nil {
		return encoded{}, err
	}
	if err := zw.Close(); err != nil {
		return encoded{}, err
	}
	tag := etag(b)
	return encoded{plain: b, gzipped: buf.Bytes(), plainTag: `"` + tag + `"`, gzipTag: `"` + tag + `-gzip"`}, nil
}

// document is the Swagger 2.0 root object.
type document struct {
	Swagger     string               `json:"swagger"`
	Info        info                 `json:"info"`
	Paths       map[string]*pathItem `json:"paths"`
	Definitions map[string]*schema   `json:"definitions"`
}

type info struct {
	Title   string `json:"title"`
	Version string `json:"version"`
}

// Option adjusts Build.
type Option func(*options)

type options struct {
	serverFieldValidation bool
}

// WithServerFieldValidation documents the fieldValidation parameter on
// create, update and patch. Use it only when the server rejects unknown
// and duplicate fields for fieldValidation=Strict: kubectl then skips its
// own validation and relies on the server. Without it kubectl validates
// manifests against this document before sending them.
func WithServerFieldValidation() Option {
	return func(o *options) { o.serverFieldValidation = true }
}

type builder struct {
	opts  options
	gen   *generator
	doc   *document
	kinds []*resolvedKind
	opIDs map[string]string
}

// Build generates the document for kinds: a definition for every Go type
// reachable from them (named as Kubernetes names them, so
// io.k8s.api.core.v1.Pod), x-kubernetes-group-version-kind on each kind's
// and list's definition, and the REST operations of each resource. The
// result is immutable; build it once and serve it from there.
func Build(kinds []Kind, opts ...Option) (*Document, error) {
	if len(kinds) == 0 {
		return nil, fmt.Errorf("openapi: no kinds to document")
	}
	b := &builder{
		gen:   newGenerator(),
		doc:   &document{Swagger: "2.0", Info: info{Title: "tug", Version: "v1"}, Paths: map[string]*pathItem{}},
		opIDs: map[string]string{},
	}
	for _, o := range opts {
		o(&b.opts)
	}
	for _, k := range kinds {
		r, err := resolve(k)
		if err != nil {
			return nil, fmt.Errorf("openapi: %w", err)
		}
		b.kinds = append(b.kinds, r)
	}
	shared, err := b.sharedRefs()
	if err != nil {
		return nil, err
	}
	for _, k := range b.kinds {
		r := shared
		if r.object, err = b.kindDefinition(k.objectType, k.gvk()); err != nil {
			return nil, err
		}
		if k.listType != nil {
			if r.list, err = b.kindDefinition(k.listType, gvk{Group: k.Group, Version: k.Version, Kind: k.listType.Name()}); err != nil {
				return nil, err
			}
		}
		if err := b.paths(k, r); err != nil {
			return nil, fmt.Errorf("openapi: %w", err)
		}
	}
	b.doc.Definitions = b.gen.defs
	return newDocument(b.doc)
}

// sharedRefs defines the meta types every group-version uses: Status
// (errors, deletecollection), DeleteOptions, WatchEvent and Patch.
func (b *builder) sharedRefs() (refs, error) {
	var r refs
	var err error
	if r.status, err = b.kindDefinition(reflect.TypeFor[metav1.Status](), gvk{Group: "", Version: "v1", Kind: "Status"}); err != nil {
		return r, err
	}
	if r.patch, err = b.kindDefinition(reflect.TypeFor[metav1.Patch](), gvk{}); err != nil {
		return r, err
	}
	for _, k := range b.kinds {
		if r.deleteOptions, err = b.kindDefinition(reflect.TypeFor[metav1.DeleteOptions](), gvk{Group: k.Group, Version: k.Version, Kind: "DeleteOptions"}); err != nil {
			return r, err
		}
		if r.watchEvent, err = b.kindDefinition(reflect.TypeFor[metav1.WatchEvent](), gvk{Group: k.Group, Version: k.Version, Kind: "WatchEvent"}); err != nil {
			return r, err
		}
	}
	return r, nil
}

// kindDefinition defines t and, unless k is zero, marks it as kind k.
func (b *builder) kindDefinition(t reflect.Type, k gvk) (*schema, error) {
	name, err := b.gen.define(t)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	if k != (gvk{}) {
		b.gen.defs[name].addGVK(k)
	}
	return refTo(name), nil
}

func newDocument(doc *document) (*Document, error) {
	js, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: encoding the document: %w", err)
	}
	// The protobuf form goes through gnostic, as kube-openapi does: the
	// parse also checks the JSON is a well-formed OpenAPI v2 document.
	parsed, err := openapi_v2.ParseDocument(js)
	if err != nil {
		return nil, fmt.Errorf("openapi: the generated document does not parse as OpenAPI v2: %w", err)
	}
	pb, err := proto.MarshalOptions{Deterministic: true}.Marshal(parsed)
	if err != nil {
		return nil, fmt.Errorf("openapi: encoding the document as protobuf: %w", err)
	}
	d := &Document{}
	if d.json, err = encode(js); err != nil {
		return nil, fmt.Errorf("openapi: compressing the document: %w", err)
	}
	if d.protobuf, err = encode(pb); err != nil {
		return nil, fmt.Errorf("openapi: compressing the document: %w", err)
	}
	return d, nil
}

func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// JSON is the document as JSON. The slice is shared: do not modify it.
func (d *Document) JSON() []byte { return d.json.plain }

// Protobuf is the document as gnostic's openapi_v2.Document protobuf.
// The slice is shared: do not modify it.
func (d *Document) Protobuf() ([]byte, error) { return d.protobuf.plain, nil }
