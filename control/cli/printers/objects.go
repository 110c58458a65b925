package printers

import (
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"
)

// WriteJSON prints obj as kubectl -o json does: indented by four spaces.
func WriteJSON(w io.Writer, obj any) error {
	data, err := json.MarshalIndent(obj, "", "    ")
	if err != nil {
		return fmt.Errorf("encoding JSON: %w", err)
	}
	data = append(data, '\n')
	_, err = w.Write(data)
	return err
}

// WriteYAML prints obj as kubectl -o yaml does (keys sorted).
func WriteYAML(w io.Writer, obj any) error {
	data, err := yaml.Marshal(obj)
	if err != nil {
		return fmt.Errorf("encoding YAML: %w", err)
	}
	_, err = w.Write(data)
	return err
}

// List wraps objects the way kubectl prints several of them with -o
// json/yaml: a v1 List.
func List(items []map[string]any) map[string]any {
	anyItems := make([]any, 0, len(items))
	for _, it := range items {
		anyItems = append(anyItems, it)
	}
	return map[string]any{
		"apiVersion": "v1",
		"kind":       "List",
		"items":      anyItems,
		"metadata":   map[string]any{"resourceVersion": ""},
	}
}

// StripManagedFields removes metadata.managedFields, which kubectl hides
// from -o json/yaml unless asked (--show-managed-fields).
func StripManagedFields(obj map[string]any) {
	if md, ok := obj["metadata"].(map[string]any); ok {
		delete(md, "managedFields")
	}
}
