package openapi

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The media types a client may ask the protobuf form with.
var protobufTypes = []string{ProtobufAccept, ProtobufContentType}

// ServeHTTP serves the document at /openapi/v2: protobuf when the Accept
// header asks for ProtobufAccept (or ProtobufContentType), JSON for
// application/json (or no preference), 406 otherwise; gzipped when the
// client accepts it. It answers conditional requests (If-None-Match
// against the ETag) with 304 and HEAD without a body.
func (d *Document) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	form, contentType := d.json, "application/json"
	switch negotiate(r.Header.Values("Accept")) {
	case formatProtobuf:
		form, contentType = d.protobuf, ProtobufContentType
	case formatNone:
		http.Error(w, "the OpenAPI document is available as application/json or "+ProtobufAccept, http.StatusNotAcceptable)
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Vary", "Accept, Accept-Encoding")
	h.Set("Cache-Control", "no-cache, private")
	body, tag := form.plain, form.plainTag
	if acceptsGzip(r.Header.Values("Accept-Encoding")) {
		body, tag = form.gzipped, form.gzipTag
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", tag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether Accept-Encoding lists gzip with a q above 0.
func acceptsGzip(values []string) bool {
	for _, v := range values {
		for enc := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(enc), ";")
			if strings.EqualFold(strings.TrimSpace(name), "gzip") && qValue(params) > 0 {
				return true
			}
		}
	}
	return false
}

func qValue(params string) float64 {
	q := 1.0
	for p := range strings.SplitSeq(params, ";") {
		if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.TrimSpace(k) == "q" {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				q = f
			}
		}
	}
	return q
}

type format int

const (
	formatJSON format = iota
	formatProtobuf
	formatNone
)

// negotiate picks the form for an Accept header: the acceptable media
// range with the highest q, the earliest on a tie.
func negotiate(accept []string) format {
	best, bestQ := formatNone, 0.0
	seen := false
	for _, header := range accept {
		for entry := range strings.SplitSeq(header, ",") {
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			seen = true
			mediaType, params, _ := strings.Cut(entry, ";")
			mediaType = strings.ToLower(strings.TrimSpace(mediaType))
			q := qValue(params)
			f := formatNone
			switch {
			case slices.Contains(protobufTypes, mediaType):
				f = formatProtobuf
			case mediaType == "application/json", mediaType == "application/*", mediaType == "*/*":
				f = formatJSON
			}
			if f != formatNone && q > bestQ {
				best, bestQ = f, q
			}
		}
	}
	if !seen {
		return formatJSON
	}
	return best
}
