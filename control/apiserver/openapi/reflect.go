package openapi

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// The methods Kubernetes' API types carry for OpenAPI generators; the
// generator relies on them instead of knowing types by name.
type (
	// modelNamer names a type's definition ("io.k8s.api.core.v1.Pod").
	modelNamer interface{ OpenAPIModelName() string }
	// schemaTyper marks a type serialized as a primitive: Time (string,
	// date-time), Quantity (string), IntOrString (string, int-or-string),
	// Duration (string), MicroTime.
	schemaTyper interface {
		OpenAPISchemaType() []string
		OpenAPISchemaFormat() string
	}
	// swaggerDoccer documents a type ("" key) and its fields (by JSON name).
	swaggerDoccer interface{ SwaggerDoc() map[string]string }
)

// generator turns Go types into definitions, each named type once.
type generator struct {
	defs  map[string]*schema
	names map[reflect.Type]string
}

func newGenerator() *generator {
	return &generator{defs: map[string]*schema{}, names: map[reflect.Type]string{}}
}

// methods returns a pointer to a zero t, which has both t's value and
// pointer methods.
func methods(t reflect.Type) any { return reflect.New(t).Interface() }

// modelName is the definition name of named type t: its OpenAPIModelName,
// else Kubernetes' convention of the reversed domain plus the package path
// (k8s.io/api/core/v1.Pod -> io.k8s.api.core.v1.Pod).
func modelName(t reflect.Type) (string, error) {
	if n, ok := methods(t).(modelNamer); ok {
		if name := n.OpenAPIModelName(); name != "" {
			return name, nil
		}
	}
	if t.Name() == "" || t.PkgPath() == "" {
		return "", fmt.Errorf("type %s has no package path to name its definition after", t)
	}
	parts := strings.Split(t.PkgPath(), "/")
	domain := strings.Split(parts[0], ".")
	for i, j := 0, len(domain)-1; i < j; i, j = i+1, j-1 {
		domain[i], domain[j] = domain[j], domain[i]
	}
	path := append(domain, parts[1:]...)
	return strings.ReplaceAll(strings.Join(path, "."), "-", "_") + "." + t.Name(), nil
}

// use returns the schema written where a value of type t appears: a
// primitive, an array, a map, or a reference to t's definition.
func (g *generator) use(t reflect.Type) (*schema, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if _, ok := methods(t).(schemaTyper); ok && t.Name() != "" {
		return g.ref(t)
	}
	if t == reflect.TypeFor[time.Time]() {
		return &schema{Type: "string", Format: "date-time"}, nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return &schema{Type: "boolean"}, nil
	// Integer formats as Kubernetes' generator writes them (int is int32).
	case reflect.Int8, reflect.Uint8:
		return &schema{Type: "integer", Format: "byte"}, nil
	case reflect.Int, reflect.Int16, reflect.Int32, reflect.Uint, reflect.Uint16:
		return &schema{Type: "integer", Format: "int32"}, nil
	case reflect.Int64, reflect.Uint32, reflect.Uint64:
		return &schema{Type: "integer", Format: "int64"}, nil
	case reflect.Float32:
		return &schema{Type: "number", Format: "float"}, nil
	case reflect.Float64:
		return &schema{Type: "number", Format: "double"}, nil
	case reflect.String:
		return &schema{Type: "string"}, nil
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return &schema{Type: "string", Format: "byte"}, nil // base64, as encoding/json writes []byte
		}
		items, err := g.use(t.Elem())
		if err != nil {
			return nil, err
		}
		return &schema{Type: "array", Items: items}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map %s: JSON object keys must be strings", t)
		}
		values, err := g.use(t.Elem())
		if err != nil {
			return nil, err
		}
		return &schema{Type: "object", AdditionalProperties: values}, nil
	case reflect.Interface:
		return &schema{}, nil // any JSON value
	case reflect.Struct:
		if t.Name() == "" {
			return g.object(t)
		}
		return g.ref(t)
	}
	return nil, fmt.Errorf("type %s (%s) has no JSON form", t, t.Kind())
}

// ref defines named type t (once) and returns a reference to it.
func (g *generator) ref(t reflect.Type) (*schema, error) {
	name, err := g.define(t)
	if err != nil {
		return nil, err
	}
	return refTo(name), nil
}

// define adds the definition of named type t and returns its name.
func (g *generator) define(t reflect.Type) (string, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if name, ok := g.names[t]; ok {
		return name, nil
	}
	name, err := modelName(t)
	if err != nil {
		return "", err
	}
	for other, n := range g.names {
		if n == name {
			return "", fmt.Errorf("types %s and %s would both be defined as %s", other, t, name)
		}
	}
	// Registered before its fields are walked, so recursive types end.
	g.names[t] = name
	def := &schema{}
	g.defs[name] = def

	var built *schema
	m := methods(t)
	_, marshals := m.(json.Marshaler)
	switch typer, typed := m.(schemaTyper); {
	case typed:
		types := typer.OpenAPISchemaType()
		if len(types) != 1 {
			return "", fmt.Errorf("type %s: OpenAPISchemaType %v is not one type", t, types)
		}
		built = &schema{Type: types[0], Format: typer.OpenAPISchemaFormat()}
	case t.Kind() == reflect.Struct && marshals:
		// Its own JSON encoding (RawExtension, FieldsV1): opaque to us.
		built = &schema{Type: "object"}
	case t.Kind() == reflect.Struct:
		if built, err = g.object(t); err != nil {
			return "", err
		}
	default:
		if built, err = g.use(t); err != nil {
			return "", err
		}
	}
	*def = *built
	if d, ok := m.(swaggerDoccer); ok {
		def.Description = d.SwaggerDoc()[""]
	}
	return name, nil
}

// object is the schema of struct t as encoding/json writes it: exported
// fields under their json names, embedded structs flattened, "-" skipped.
// Fields without omitempty (or omitzero) are required, as in Kubernetes'
// own generator, except pointers.
func (g *generator) object(t reflect.Type) (*schema, error) {
	s := &schema{Type: "object", Properties: map[string]*schema{}}
	if err := g.fields(t, s); err != nil {
		return nil, err
	}
	return s, nil
}

func (g *generator) fields(t reflect.Type, s *schema) error {
	var docs map[string]string
	if d, ok := methods(t).(swaggerDoccer); ok {
		docs = d.SwaggerDoc()
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			if err := g.fields(ft, s); err != nil {
				return fmt.Errorf("%s.%s: %w", t, f.Name, err)
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		prop, err := g.use(f.Type)
		if err != nil {
			return fmt.Errorf("%s.%s: %w", t, f.Name, err)
		}
		if doc := docs[name]; doc != "" {
			prop = withDescription(prop, doc)
		}
		if v := f.Tag.Get("patchStrategy"); v != "" {
			prop = withExtension(prop, "x-kubernetes-patch-strategy", v)
		}
		if v := f.Tag.Get("patchMergeKey"); v != "" {
			prop = withExtension(prop, "x-kubernetes-patch-merge-key", v)
		}
		s.Properties[name] = prop
		// A nil pointer without omitempty encodes as null: such fields are
		// optional in Kubernetes' API (GRPCAction.service,
		// TypedLocalObjectReference.apiGroup).
		if !hasOption(opts, "omitempty") && !hasOption(opts, "omitzero") && f.Type.Kind() != reflect.Pointer {
			s.Required = append(s.Required, name)
		}
	}
	return nil
}

func hasOption(opts, want string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// withDescription and withExtension copy p: a use-site schema may be
// shared (the same reference), its decorations must not be.
func withDescription(p *schema, doc string) *schema {
	c := *p
	c.Description = doc
	return &c
}

func withExtension(p *schema, key string, v any) *schema {
	c := *p
	c.Extensions = map[string]any{}
	for k, x := range p.Extensions {
		c.Extensions[k] = x
	}
	c.Extensions[key] = v
	return &c
}
