package openapi

import (
	"cmp"
	"encoding/json"
	"maps"
	"slices"
)

// schema is the subset of a Swagger 2.0 Schema Object that Go types need.
type schema struct {
	Description          string             `json:"description,omitempty"`
	Type                 string             `json:"type,omitempty"`
	Format               string             `json:"format,omitempty"`
	Ref                  string             `json:"$ref,omitempty"`
	Items                *schema            `json:"items,omitempty"`
	Properties           map[string]*schema `json:"properties,omitempty"`
	AdditionalProperties *schema            `json:"additionalProperties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	// Extensions are the x-kubernetes-* keys, written next to the others.
	Extensions map[string]any `json:"-"`
}

func (s *schema) MarshalJSON() ([]byte, error) {
	type plain schema // no MarshalJSON: no recursion
	b, err := json.Marshal((*plain)(s))
	if err != nil || len(s.Extensions) == 0 {
		return b, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	maps.Copy(m, s.Extensions)
	return json.Marshal(m)
}

// gvk is one entry of x-kubernetes-group-version-kind.
type gvk struct {
	Group   string `json:"group"`
	Kind    string `json:"kind"`
	Version string `json:"version"`
}

const extGVK = "x-kubernetes-group-version-kind"

// addGVK records that definition s is the schema of kind k (kubectl maps
// kinds to definitions through this extension).
func (s *schema) addGVK(k gvk) {
	if s.Extensions == nil {
		s.Extensions = map[string]any{}
	}
	list, _ := s.Extensions[extGVK].([]gvk)
	if slices.Contains(list, k) {
		return
	}
	list = append(list, k)
	slices.SortFunc(list, func(a, b gvk) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Version, b.Version), cmp.Compare(a.Kind, b.Kind))
	})
	s.Extensions[extGVK] = list
}

func refTo(name string) *schema { return &schema{Ref: "#/definitions/" + name} }
