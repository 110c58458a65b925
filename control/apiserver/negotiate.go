package apiserver

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// outputForm is the shape a read is answered in.
type outputForm int

const (
	// formObject: the objects themselves (and their List).
	formObject outputForm = iota
	// formTable: a meta.k8s.io Table, as kubectl's human output asks.
	formTable
	// formPartial: PartialObjectMetadata(List), as metadata informers ask.
	formPartial
)

// output is the negotiated response form of a read.
type output struct {
	form outputForm
	// tableVersion is the Table's meta.k8s.io version ("v1" or "v1beta1").
	tableVersion string
	// includeObject says what Table rows carry (None, Metadata, Object).
	includeObject metav1.IncludeObjectPolicy
}

// negotiateOutput reads the Accept header. It picks the first acceptable
// entry: plain JSON (protobuf and CBOR are answered as JSON too), a Table or
// PartialObjectMetadata. Entries asking for other shapes (aggregated
// discovery) are skipped; when nothing matches, plain JSON is answered, as
// clients always list it last anyway.
func negotiateOutput(r *http.Request) (output, error) {
	out := output{form: formObject}
	for _, entry := range strings.Split(r.Header.Get("Accept"), ",") {
		media, params, err := mime.ParseMediaType(strings.TrimSpace(entry))
		if err != nil {
			continue
		}
		as := params["as"]
		if as == "" {
			break // plain JSON, protobuf, */*: the object itself
		}
		if params["g"] != "meta.k8s.io" || media != "application/json" {
			continue
		}
		v := params["v"]
		switch {
		case as == "Table" && (v == "v1" || v == "v1beta1"):
			out = output{form: formTable, tableVersion: v, includeObject: metav1.IncludeMetadata}
		case (as == "PartialObjectMetadata" || as == "PartialObjectMetadataList") && (v == "v1" || v == "v1beta1"):
			out = output{form: formPartial, tableVersion: v}
		default:
			continue
		}
		break
	}
	if out.form == formTable {
		switch inc := metav1.IncludeObjectPolicy(r.URL.Query().Get("includeObject")); inc {
		case "":
		case metav1.IncludeNone, metav1.IncludeMetadata, metav1.IncludeObject:
			out.includeObject = inc
		default:
			return out, apierrors.NewBadRequest(fmt.Sprintf("includeObject %q is not one of None, Metadata, Object", inc))
		}
	}
	return out, nil
}

// readBody reads the request body, failing with 413 as soon as it exceeds
// the limit (before reading the rest).
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	limit := s.cfg.MaxRequestBodyBytes
	if r.ContentLength > limit {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", limit))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return nil, toStatus(err)
	}
	return body, nil
}
