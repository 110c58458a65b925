package openapi_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"

	"github.com/tug-sh/tug/control/apiserver/openapi"
)

func serve(t *testing.T, doc *openapi.Document) *httptest.Server {
	mux := http.NewServeMux()
	mux.Handle("/openapi/v2", doc)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// client-go's discovery client, kubectl's way to fetch the document, gets
// it as protobuf and decodes it.
func TestClientGoFetchesDocument(t *testing.T) {
	doc := build(t)
	srv := serve(t, doc)
	dc, err := discovery.NewDiscoveryClientForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	got, err := dc.OpenAPISchema()
	if err != nil {
		t.Fatalf("OpenAPISchema: %v", err)
	}
	want, err := openapi_v2.ParseDocument(doc.JSON())
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, want) {
		t.Fatal("client-go received a different document")
	}
}

func TestServeHTTP(t *testing.T) {
	doc := build(t)
	srv := serve(t, doc)
	pb, _ := doc.Protobuf()
	get := func(method string, header http.Header) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+"/openapi/v2", nil)
		req.Header = header.Clone()
		if req.Header == nil {
			req.Header = http.Header{}
		}
		if req.Header.Get("Accept-Encoding") == "" {
			req.Header.Set("Accept-Encoding", "identity") // no transparent gzip
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	for _, c := range []struct {
		accept string
		status int
		body   []byte
	}{
		{"", 200, doc.JSON()},
		{"application/json", 200, doc.JSON()},
		{"*/*", 200, doc.JSON()},
		{openapi.ProtobufAccept, 200, pb},
		{openapi.ProtobufContentType, 200, pb},
		{"application/json;q=0.5, " + openapi.ProtobufAccept, 200, pb},
		{openapi.ProtobufAccept + ";q=0, application/json", 200, doc.JSON()},
		{"application/json, " + openapi.ProtobufAccept, 200, doc.JSON()},
		{"application/xml", 406, nil},
		{"application/json;q=0", 406, nil},
	} {
		h := http.Header{}
		if c.accept != "" {
			h.Set("Accept", c.accept)
		}
		resp, body := get("GET", h)
		if resp.StatusCode != c.status {
			t.Errorf("Accept %q: status %d, want %d", c.accept, resp.StatusCode, c.status)
			continue
		}
		if c.body != nil && !bytes.Equal(body, c.body) {
			t.Errorf("Accept %q: wrong form (%s, %d bytes)", c.accept, resp.Header.Get("Content-Type"), len(body))
		}
		if c.status == 200 && resp.Header.Get("Vary") != "Accept, Accept-Encoding" {
			t.Errorf("Accept %q: no Vary: Accept", c.accept)
		}
	}

	// Conditional requests: the ETag of each form answers 304.
	resp, _ := get("GET", http.Header{"Accept": {openapi.ProtobufAccept}})
	pbTag := resp.Header.Get("ETag")
	resp, _ = get("GET", http.Header{"Accept": {"application/json"}})
	jsonTag := resp.Header.Get("ETag")
	if pbTag == "" || jsonTag == "" || pbTag == jsonTag {
		t.Fatalf("ETags %q and %q: want two distinct ones", pbTag, jsonTag)
	}
	resp, body := get("GET", http.Header{"Accept": {openapi.ProtobufAccept}, "If-None-Match": {pbTag}})
	if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Fatalf("If-None-Match with the current ETag: %d with %d bytes, want 304", resp.StatusCode, len(body))
	}
	resp, _ = get("GET", http.Header{"Accept": {"application/json"}, "If-None-Match": {pbTag}})
	if resp.StatusCode != 200 {
		t.Fatalf("If-None-Match with the other form's ETag: %d, want 200", resp.StatusCode)
	}
	resp, body = get("HEAD", nil)
	if resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength != int64(len(doc.JSON())) {
		t.Fatalf("HEAD: %d, %d bytes, length %d", resp.StatusCode, len(body), resp.ContentLength)
	}
	// Compressed on request, with its own ETag.
	resp, body = get("GET", http.Header{"Accept": {openapi.ProtobufAccept}, "Accept-Encoding": {"gzip, deflate"}})
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("ETag") == pbTag {
		t.Fatalf("gzip: Content-Encoding %q, ETag %q", resp.Header.Get("Content-Encoding"), resp.Header.Get("ETag"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unzipped, pb) {
		t.Fatalf("gzipped protobuf does not inflate to the document: %v", err)
	}
	t.Logf("protobuf %d bytes, gzipped %d", len(pb), len(body))
	if resp, _ := get("GET", http.Header{"Accept-Encoding": {"gzip;q=0"}}); resp.Header.Get("Content-Encoding") != "" {
		t.Fatal("gzip;q=0 still got gzip")
	}
	if resp, _ := get("POST", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d, want 405", resp.StatusCode)
	}
}

func BenchmarkBuild(b *testing.B) {
	for b.Loop() {
		if _, err := openapi.Build(tugKinds()); err != nil {
			b.Fatal(err)
		}
	}
}

// Serving is copying cached bytes: the document is never rebuilt.
func BenchmarkServeProtobuf(b *testing.B) {
	doc := build(b)
	req := httptest.NewRequest("GET", "/openapi/v2", nil)
	req.Header.Set("Accept", openapi.ProtobufAccept)
	req.Header.Set("Accept-Encoding", "gzip")
	for b.Loop() {
		w := httptest.NewRecorder()
		doc.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
