package apiserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/tug-sh/tug/control/registry"
	"github.com/tug-sh/tug/control/storage"
)

// Field validation levels (the fieldValidation query parameter).
const (
	validationIgnore = "Ignore"
	validationWarn   = "Warn"
	validationStrict = "Strict"
)

// fieldValidation reads and checks the fieldValidation parameter. The
// default is Warn, as in Kubernetes 1.27+.
func fieldValidation(r *http.Request) (string, error) {
	v := r.URL.Query().Get("fieldValidation")
	switch v {
	case "":
		return validationWarn, nil
	case validationIgnore, validationWarn, validationStrict:
		return v, nil
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("fieldValidation %q is not one of Ignore, Warn, Strict", v))
}

// Media types of request bodies.
const (
	mediaJSON     = "application/json"
	mediaProtobuf = "application/vnd.kubernetes.protobuf"
)

// decodeBody decodes a request body of the given Content-Type into into,
// an empty object of kind gvk. JSON (the default), YAML and Kubernetes
// protobuf (what client-go sends for built-in types) are accepted. Unknown
// or duplicate JSON fields fail the request with 422 under Strict
// validation, become Warning headers under Warn (the returned strings),
// and are dropped under Ignore.
func decodeBody(body []byte, contentType string, into runtime.Object, gvk schema.GroupVersionKind, validation string) ([]string, error) {
	media, _, _ := mime.ParseMediaType(contentType)
	switch media {
	case "", mediaJSON:
	case "application/yaml", "application/x-yaml", "text/yaml":
		j, err := yaml.YAMLToJSON(body)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the request body is not valid YAML: %v", err))
		}
		body = j
	case mediaProtobuf:
		return nil, decodeProtobuf(body, into, gvk)
	default:
		return nil, unsupportedMediaType(fmt.Sprintf("the body of the request was in an unknown format (%q) - accepted media types include: %s, application/yaml, %s", media, mediaJSON, mediaProtobuf))
	}
	return decodeJSON(body, into, gvk, validation)
}

// decodeJSON decodes a JSON object of kind gvk into into (see decodeBody).
func decodeJSON(body []byte, into runtime.Object, gvk schema.GroupVersionKind, validation string) ([]string, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the request body must be a JSON object of kind %s", gvk.Kind))
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(trimmed, &tm); err != nil {
		return nil, cannotHandle(gvk, err)
	}
	if err := checkTypeMeta(tm, gvk); err != nil {
		return nil, err
	}
	strictErrs, err := sigsjson.UnmarshalStrict(trimmed, into, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return nil, cannotHandle(gvk, err)
	}
	into.GetObjectKind().SetGroupVersionKind(gvk)
	if len(strictErrs) == 0 || validation == validationIgnore {
		return nil, nil
	}
	if validation == validationStrict {
		return nil, strictError(into, gvk, strictErrs)
	}
	warnings := make([]string, len(strictErrs))
	for i, e := range strictErrs {
		warnings[i] = e.Error()
	}
	return warnings, nil
}

// protobufMagic starts every Kubernetes protobuf message.
var protobufMagic = []byte("k8s\x00")

// decodeProtobuf decodes a Kubernetes protobuf envelope (runtime.Unknown
// after the "k8s\0" magic) carrying an object of kind gvk into into.
func decodeProtobuf(body []byte, into runtime.Object, gvk schema.GroupVersionKind) error {
	if !bytes.HasPrefix(body, protobufMagic) {
		return apierrors.NewBadRequest("the request body is not a Kubernetes protobuf message (no k8s magic prefix)")
	}
	var unk runtime.Unknown
	if err := unk.Unmarshal(body[len(protobufMagic):]); err != nil {
		return cannotHandle(gvk, err)
	}
	if err := checkTypeMeta(metav1.TypeMeta{APIVersion: unk.APIVersion, Kind: unk.Kind}, gvk); err != nil {
		return err
	}
	m, ok := into.(interface{ Unmarshal([]byte) error })
	if !ok {
		return unsupportedMediaType(fmt.Sprintf("%s cannot be sent as protobuf; use %s", gvk.Kind, mediaJSON))
	}
	if err := m.Unmarshal(unk.Raw); err != nil {
		return cannotHandle(gvk, err)
	}
	into.GetObjectKind().SetGroupVersionKind(gvk)
	return nil
}

// checkTypeMeta rejects a body of another kind or version than expected
// (either may be left out).
func checkTypeMeta(tm metav1.TypeMeta, gvk schema.GroupVersionKind) error {
	if tm.APIVersion != "" && tm.APIVersion != gvk.GroupVersion().String() {
		return apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", tm.APIVersion, gvk.GroupVersion()))
	}
	if tm.Kind != "" && tm.Kind != gvk.Kind {
		return apierrors.NewBadRequest(fmt.Sprintf("the kind in the data (%s) does not match the expected kind (%s)", tm.Kind, gvk.Kind))
	}
	return nil
}

func cannotHandle(gvk schema.GroupVersionKind, err error) error {
	return apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", gvk.Kind, gvk.Version, gvk.Kind, err))
}

// strictError is the 422 for unknown or duplicate fields, with one cause
// per field.
func strictError(obj runtime.Object, gvk schema.GroupVersionKind, errs []error) error {
	name := ""
	if m, ok := obj.(metav1.Object); ok {
		name = m.GetName()
	}
	causes := make([]metav1.StatusCause, 0, len(errs))
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		c := metav1.StatusCause{Type: metav1.CauseTypeFieldValueInvalid, Message: e.Error()}
		if fe, ok := e.(sigsjson.FieldError); ok {
			c.Field = fe.FieldPath()
			if strings.HasPrefix(e.Error(), "duplicate field") {
				c.Type = metav1.CauseTypeFieldValueDuplicate
			}
		}
		causes = append(causes, c)
		msgs = append(msgs, e.Error())
	}
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusUnprocessableEntity,
		Reason:  metav1.StatusReasonInvalid,
		Message: fmt.Sprintf("%s %q is invalid: strict decoding error: %s", gvk.Kind, name, strings.Join(msgs, ", ")),
		Details: &metav1.StatusDetails{Name: name, Group: gvk.Group, Kind: gvk.Kind, Causes: causes},
	}}
}

// decodeStored turns a stored value into an object whose resourceVersion is
// the key's revision.
func (r *resource) decodeStored(kv storage.KV) (registry.Object, error) {
	obj := r.New()
	if err := json.Unmarshal(kv.Value, obj); err != nil {
		return nil, fmt.Errorf("decoding stored %s at %s: %w", r.Kind, kv.Key, err)
	}
	r.setTypeMeta(obj)
	obj.SetResourceVersion(strconv.FormatInt(kv.Revision, 10))
	return obj, nil
}

// encodeStored returns obj's stored form: with kind and apiVersion, without
// resourceVersion (the key's revision is the truth) and managedFields.
func (r *resource) encodeStored(obj registry.Object) ([]byte, error) {
	rv := obj.GetResourceVersion()
	obj.SetResourceVersion("")
	obj.SetManagedFields(nil)
	obj.SetSelfLink("")
	r.setTypeMeta(obj)
	data, err := json.Marshal(obj)
	obj.SetResourceVersion(rv)
	if err != nil {
		return nil, fmt.Errorf("encoding %s %s: %w", r.Kind, obj.GetName(), err)
	}
	return data, nil
}

// parseRV parses a resourceVersion ("" is 0).
func parseRV(rv string) (int64, error) {
	if rv == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return 0, apierrors.NewBadRequest(fmt.Sprintf("invalid resource version %q: must be a non-negative integer", rv))
	}
	return n, nil
}

// writeJSON answers v as JSON with the given status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		data, _ = json.Marshal(apierrors.NewInternalError(err).Status())
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)+1))
	w.WriteHeader(code)
	w.Write(append(data, '\n'))
}

// addWarnings sets kube-style Warning headers.
func addWarnings(w http.ResponseWriter, warnings []string) {
	for _, msg := range warnings {
		w.Header().Add("Warning", "299 - "+strconv.Quote(msg))
	}
}
