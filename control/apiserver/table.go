package apiserver

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tug-sh/tug/control/registry"
)

// objectList is the JSON form of every list the server answers: kind
// <Kind>List, apiVersion v1, metadata, items.
type objectList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`
	Items           []registry.Object `json:"items"`
}

// renderObject returns what a read of one object answers in the form out.
func renderObject(res *resource, obj registry.Object, out output, now time.Time) any {
	switch out.form {
	case formTable:
		return table(res, []registry.Object{obj}, metav1.ListMeta{ResourceVersion: obj.GetResourceVersion()}, out, now)
	case formPartial:
		return partialMetadata(obj, out.tableVersion)
	}
	return obj
}

// renderList returns what a list answers in the form out.
func renderList(res *resource, objs []registry.Object, lm metav1.ListMeta, out output, now time.Time) any {
	switch out.form {
	case formTable:
		return table(res, objs, lm, out, now)
	case formPartial:
		l := &metav1.PartialObjectMetadataList{
			TypeMeta: metav1.TypeMeta{Kind: "PartialObjectMetadataList", APIVersion: "meta.k8s.io/" + out.tableVersion},
			ListMeta: lm,
			Items:    make([]metav1.PartialObjectMetadata, 0, len(objs)),
		}
		for _, obj := range objs {
			l.Items = append(l.Items, *partialMetadata(obj, out.tableVersion))
		}
		return l
	}
	if objs == nil {
		objs = []registry.Object{}
	}
	return &objectList{TypeMeta: res.listKind(), ListMeta: lm, Items: objs}
}

// table builds the meta.k8s.io Table kubectl prints, from the resource's
// columns and rows.
func table(res *resource, objs []registry.Object, lm metav1.ListMeta, out output, now time.Time) *metav1.Table {
	v := out.tableVersion
	if v == "" {
		v = "v1"
	}
	t := &metav1.Table{
		TypeMeta:          metav1.TypeMeta{Kind: "Table", APIVersion: "meta.k8s.io/" + v},
		ListMeta:          lm,
		ColumnDefinitions: res.Strategy.Columns(),
		Rows:              make([]metav1.TableRow, 0, len(objs)),
	}
	for _, obj := range objs {
		row := metav1.TableRow{Cells: res.Strategy.Row(obj, now)}
		switch out.includeObject {
		case metav1.IncludeObject:
			row.Object = runtime.RawExtension{Object: obj}
		case metav1.IncludeNone:
		default:
			row.Object = runtime.RawExtension{Object: partialMetadata(obj, v)}
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// partialMetadata is obj reduced to its metadata.
func partialMetadata(obj registry.Object, version string) *metav1.PartialObjectMetadata {
	if version == "" {
		version = "v1"
	}
	p := &metav1.PartialObjectMetadata{
		TypeMeta: metav1.TypeMeta{Kind: "PartialObjectMetadata", APIVersion: "meta.k8s.io/" + version},
	}
	if a, ok := obj.(metav1.ObjectMetaAccessor); ok {
		if m, ok := a.GetObjectMeta().(*metav1.ObjectMeta); ok {
			p.ObjectMeta = *m.DeepCopy()
		}
	}
	return p
}
