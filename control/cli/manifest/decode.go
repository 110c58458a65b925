package manifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// ErrInvalid is wrapped by every error about a manifest's content.
var ErrInvalid = errors.New("invalid manifest")

// Object is one API object read from a manifest.
type Object struct {
	// Source names where it came from, as the user wrote it ("nginx.yaml",
	// "dir/a.json", "STDIN"): kubectl's messages quote it.
	Source string
	// Line is the 1-based line of the source where the object's document
	// starts.
	Line int
	// Object is the object itself; apiVersion and kind are always set.
	Object *unstructured.Unstructured
}

// Error is a problem with one document of a manifest.
type Error struct {
	Source string
	Line   int // 0 when unknown
	Msg    string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s: line %d: %s", e.Source, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Source, e.Msg)
}

func (e *Error) Unwrap() error { return ErrInvalid }

// Decode reads every object of one manifest: a YAML stream (documents
// separated by "---" lines) or a stream of JSON objects. Lists (kind List,
// or any kind ending in "List" with items) are flattened into their items.
// It returns the objects it could decode and, joined, an *Error for each
// document it could not; one bad document does not hide the others.
func Decode(source string, data []byte) ([]Object, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // UTF-8 byte order mark
	if trimmed := bytes.TrimLeft(data, " \t\r\n"); len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		return decodeJSONStream(source, data)
	}
	return decodeYAMLStream(source, data)
}

// document is one unparsed document and the line it starts on.
type document struct {
	line int
	data []byte
}

// splitYAML cuts a YAML stream at "---" lines. Like Kubernetes' YAML
// reader it accepts only spaces and a comment after the separator.
func splitYAML(source string, data []byte) ([]document, []error) {
	var docs []document
	var errs []error
	var cur bytes.Buffer
	start := 1
	lineNo := 0
	scanner := bufio.NewScanner(bytes.NewReader(data))
	scanner.Buffer(make([]byte, 0, 64*1024), len(data)+1)
	for scanner.Scan() {
		lineNo++
		line := scanner.Text()
		if rest, ok := strings.CutPrefix(line, "---"); ok {
			rest = strings.TrimSpace(rest)
			if rest == "" || strings.HasPrefix(rest, "#") {
				docs = append(docs, document{line: start, data: bytes.Clone(cur.Bytes())})
				cur.Reset()
				start = lineNo + 1
				continue
			}
			if !strings.HasPrefix(rest, "-") {
				errs = append(errs, &Error{Source: source, Line: lineNo,
					Msg: fmt.Sprintf("unexpected %q after the document separator \"---\" (only a comment may follow it)", rest)})
			}
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	docs = append(docs, document{line: start, data: cur.Bytes()})
	return docs, errs
}

func decodeYAMLStream(source string, data []byte) ([]Object, error) {
	docs, errs := splitYAML(source, data)
	var objs []Object
	for _, doc := range docs {
		if len(bytes.TrimSpace(doc.data)) == 0 {
			continue
		}
		j, err := yaml.YAMLToJSONStrict(doc.data)
		if err != nil {
			errs = append(errs, yamlErrors(source, doc.line, err)...)
			continue
		}
		got, err := objectsFromJSON(source, doc.line, j)
		objs = append(objs, got...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return objs, errors.Join(errs...)
}

var yamlLineRe = regexp.MustCompile(`^line (\d+): (.*)$`)

// yamlErrors rewrites YAML parser messages ("yaml: line 3: did not find
// expected key", "yaml: unmarshal errors:\n  line 2: key ...") into errors
// whose line numbers count from the start of the file.
func yamlErrors(source string, docLine int, err error) []error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "error converting YAML to JSON: ")
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	var out []error
	for _, part := range strings.Split(msg, "\n") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if m := yamlLineRe.FindStringSubmatch(part); m != nil {
			n, _ := strconv.Atoi(m[1])
			out = append(out, &Error{Source: source, Line: docLine + n - 1, Msg: m[2]})
			continue
		}
		out = append(out, &Error{Source: source, Line: docLine, Msg: part})
	}
	return out
}

func decodeJSONStream(source string, data []byte) ([]Object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var objs []Object
	var errs []error
	for {
		start := skipSpace(data, int(dec.InputOffset()))
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, jsonError(source, data, start, err))
			break // the decoder cannot resynchronise after a syntax error
		}
		got, err := objectsFromJSON(source, lineAt(data, start), raw)
		objs = append(objs, got...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return objs, errors.Join(errs...)
}

func skipSpace(data []byte, off int) int {
	for off < len(data) && strings.IndexByte(" \t\r\n", data[off]) >= 0 {
		off++
	}
	return off
}

// lineAt returns the 1-based line of byte offset off.
func lineAt(data []byte, off int) int {
	off = min(max(off, 0), len(data))
	return bytes.Count(data[:off], []byte("\n")) + 1
}

func jsonError(source string, data []byte, start int, err error) error {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return &Error{Source: source, Line: lineAt(data, int(syntax.Offset)), Msg: "invalid JSON: " + syntax.Error()}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &Error{Source: source, Line: lineAt(data, len(data)), Msg: "invalid JSON: unexpected end of input (unclosed { or [ ?)"}
	}
	return &Error{Source: source, Line: lineAt(data, start), Msg: "invalid JSON: " + err.Error()}
}

// objectsFromJSON turns one decoded document into objects, flattening lists.
func objectsFromJSON(source string, line int, j []byte) ([]Object, error) {
	var v any
	if err := utiljson.Unmarshal(j, &v); err != nil {
		return nil, &Error{Source: source, Line: line, Msg: "cannot decode: " + err.Error()}
	}
	if v == nil {
		return nil, nil // an empty document
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &Error{Source: source, Line: line,
			Msg: fmt.Sprintf("expected an object with apiVersion and kind, found %s", describeJSON(v))}
	}
	return objectsFromMap(source, line, m, "")
}

func objectsFromMap(source string, line int, m map[string]any, where string) ([]Object, error) {
	apiVersion, err := stringField(source, line, m, "apiVersion", where)
	if err != nil {
		return nil, err
	}
	kind, err := stringField(source, line, m, "kind", where)
	if err != nil {
		return nil, err
	}
	items, hasItems := m["items"]
	if !(strings.HasSuffix(kind, "List") && hasItems) {
		return []Object{{Source: source, Line: line, Object: &unstructured.Unstructured{Object: m}}}, nil
	}
	if items == nil {
		return nil, nil // an empty list
	}
	list, ok := items.([]any)
	if !ok {
		return nil, &Error{Source: source, Line: line, Msg: fmt.Sprintf("%s%s %q: items must be a list, found %s", where, kind, apiVersion, describeJSON(items))}
	}
	var objs []Object
	var errs []error
	for i, item := range list {
		itemWhere := fmt.Sprintf("%sitems[%d]: ", where, i)
		im, ok := item.(map[string]any)
		if !ok {
			errs = append(errs, &Error{Source: source, Line: line, Msg: fmt.Sprintf("%sexpected an object with apiVersion and kind, found %s", itemWhere, describeJSON(item))})
			continue
		}
		got, err := objectsFromMap(source, line, im, itemWhere)
		objs = append(objs, got...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return objs, errors.Join(errs...)
}

func stringField(source string, line int, m map[string]any, name, where string) (string, error) {
	v, ok := m[name]
	if !ok || v == nil || v == "" {
		return "", &Error{Source: source, Line: line,
			Msg: fmt.Sprintf("%s%q is not set: every object needs apiVersion and kind (for example \"apiVersion: v1\" and \"kind: ReplicationController\")", where, name)}
	}
	s, ok := v.(string)
	if !ok {
		return "", &Error{Source: source, Line: line, Msg: fmt.Sprintf("%s%q must be a string, found %s", where, name, describeJSON(v))}
	}
	return s, nil
}

func describeJSON(v any) string {
	switch v := v.(type) {
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	case string:
		return fmt.Sprintf("the string %q", v)
	case bool:
		return fmt.Sprintf("the boolean %v", v)
	case nil:
		return "null"
	default:
		return fmt.Sprintf("the number %v", v)
	}
}
