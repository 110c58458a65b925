package apiserver

import (
	"net/http/httptest"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNegotiateOutput(t *testing.T) {
	const kubectlGet = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
	tests := []struct {
		accept, query string
		want          output
		wantErr       bool
	}{
		{accept: "", want: output{form: formObject}},
		{accept: "application/json", want: output{form: formObject}},
		{accept: "application/vnd.kubernetes.protobuf,application/json", want: output{form: formObject}},
		{accept: kubectlGet, want: output{form: formTable, tableVersion: "v1", includeObject: metav1.IncludeMetadata}},
		{accept: kubectlGet, query: "includeObject=Object", want: output{form: formTable, tableVersion: "v1", includeObject: metav1.IncludeObject}},
		{accept: kubectlGet, query: "includeObject=None", want: output{form: formTable, tableVersion: "v1", includeObject: metav1.IncludeNone}},
		{accept: kubectlGet, query: "includeObject=Everything", wantErr: true},
		{accept: "application/json;as=Table;v=v1beta1;g=meta.k8s.io", want: output{form: formTable, tableVersion: "v1beta1", includeObject: metav1.IncludeMetadata}},
		{accept: "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json",
			want: output{form: formPartial, tableVersion: "v1"}},
		{accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json", want: output{form: formObject}},
		{accept: "application/json;as=Table;v=v9;g=meta.k8s.io", want: output{form: formObject}},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/api/v1/pods?"+tt.query, nil)
		r.Header.Set("Accept", tt.accept)
		got, err := negotiateOutput(r)
		if (err != nil) != tt.wantErr {
			t.Errorf("Accept %q ?%s: err = %v, wantErr %v", tt.accept, tt.query, err, tt.wantErr)
			continue
		}
		if err == nil && got != tt.want {
			t.Errorf("Accept %q ?%s: %+v, want %+v", tt.accept, tt.query, got, tt.want)
		}
	}
}
