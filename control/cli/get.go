package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tug-sh/tug/control/cli/printers"
	"github.com/tug-sh/tug/control/client"
)

// listChunk is the page size of list requests, as kubectl's --chunk-size.
const listChunk = 500

type getFlags struct {
	output            string
	selector          string
	fieldSelector     string
	watch             bool
	watchOnly         bool
	allNamespaces     bool
	showLabels        bool
	showKind          bool
	labelColumns      []string
	noHeaders         bool
	ignoreNotFound    bool
	showManagedFields bool
	files             fileFlags
}

func (g *getFlags) register(fs *pflag.FlagSet) {
	fs.StringVarP(&g.output, "output", "o", "", "output format: wide, yaml, json or name")
	fs.StringVarP(&g.selector, "selector", "l", "", "label selector (e.g. app=nginx,tier!=db)")
	fs.StringVar(&g.fieldSelector, "field-selector", "", "field selector (e.g. status.phase=Running)")
	fs.BoolVarP(&g.watch, "watch", "w", false, "after listing, watch for changes")
	fs.BoolVar(&g.watchOnly, "watch-only", false, "watch for changes without listing first")
	fs.BoolVarP(&g.allNamespaces, "all-namespaces", "A", false, "list across all namespaces")
	fs.BoolVar(&g.showLabels, "show-labels", false, "show all labels as the last column")
	fs.BoolVar(&g.showKind, "show-kind", false, "prefix names with their kind")
	fs.StringSliceVarP(&g.labelColumns, "label-columns", "L", nil, "label keys to show as columns")
	fs.BoolVar(&g.noHeaders, "no-headers", false, "do not print the column headers")
	fs.BoolVar(&g.ignoreNotFound, "ignore-not-found", false, "treat \"not found\" as success")
	fs.BoolVar(&g.showManagedFields, "show-managed-fields", false, "keep metadata.managedFields in json and yaml output")
	g.files.register(fs, "naming the objects to get")
}

func getSpec() spec {
	return spec{
		name:    "get",
		summary: "Display one or many resources",
		usage:   "get (TYPE[,TYPE...] [NAME...] | TYPE/NAME... | all | -f FILE) [-l SELECTOR] [--field-selector F] [-o wide|yaml|json|name] [-w] [-A] [--show-labels]",
		setup: func(fs *pflag.FlagSet) func(context.Context, *env, []string) error {
			g := &getFlags{}
			g.register(fs)
			return g.run
		},
	}
}

func (g *getFlags) run(ctx context.Context, e *env, args []string) error {
	switch g.output {
	case "", "wide", "json", "yaml", "name":
	default:
		return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: json,name,wide,yaml", g.output)
	}
	if g.watchOnly {
		g.watch = true
	}
	items, ns, err := e.targets(ctx, args, g.files, "get", g.allNamespaces)
	if err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	if g.watch {
		return g.runWatch(ctx, e, c, items, ns)
	}
	if g.output == "json" || g.output == "yaml" || g.output == "name" {
		return g.printObjects(ctx, e, c, items, ns)
	}
	return g.printTables(ctx, e, c, items, ns, multipleTypesRequested(args))
}

// targets resolves a command's resource arguments, or -f files, to
// resources. With allNamespaces the namespace is "" (every namespace).
func (e *env) targets(ctx context.Context, args []string, files fileFlags, verb string, allNamespaces bool) ([]resolved, string, error) {
	ns, explicit := e.namespace()
	if allNamespaces {
		ns, explicit = "", false
	}
	if len(files.files) > 0 {
		if len(args) > 0 {
			return nil, "", fmt.Errorf("unexpected arguments %q: objects are named either by -f or by arguments, not both", args)
		}
		_, m, err := e.mapper(ctx)
		if err != nil {
			return nil, "", err
		}
		items, err := fileTargets(m, files.files, files.recursive, e.In, ns, explicit)
		if err != nil {
			return nil, "", err
		}
		if len(items) == 0 {
			return nil, "", errors.New("no objects passed to " + verb)
		}
		return items, ns, nil
	}
	ts, err := parseTargets(args)
	if errors.Is(err, errNoResourceType) {
		return nil, "", fmt.Errorf("you must specify the type of resource to %s, e.g. 'tug %s pods' (types: pods (po), replicationcontrollers (rc), services (svc), endpoints (ep), nodes (no), namespaces (ns), events (ev))", verb, verb)
	}
	if err != nil {
		return nil, "", err
	}
	_, m, err := e.mapper(ctx)
	if err != nil {
		return nil, "", err
	}
	items, err := resolveTargets(m, ts)
	if err != nil {
		return nil, "", err
	}
	if allNamespaces {
		for _, it := range items {
			if len(it.names) > 0 && it.mapping.Namespaced {
				return nil, "", errors.New("a resource cannot be retrieved by name across all namespaces")
			}
		}
	}
	return items, ns, nil
}

func (g *getFlags) listOptions() metav1.ListOptions {
	return metav1.ListOptions{LabelSelector: g.selector, FieldSelector: g.fieldSelector, Limit: listChunk}
}

// printTables prints kubectl's human-readable output from server Tables.
// Names get a kind prefix ("pod/x") as kubectl's do: with --show-kind,
// when the arguments ask for several types ("rc,pods", "all"), or when
// objects of several kinds are found.
func (g *getFlags) printTables(ctx context.Context, e *env, c *client.Client, items []resolved, ns string, multiTypes bool) error {
	var errs []error
	tables := make([]*metav1.Table, len(items))
	kinds := map[string]bool{}
	for i, r := range items {
		tbl, err := fetchTable(ctx, c, r, r.namespaceFor(ns), g.listOptions(), e.now)
		errs = append(errs, g.keepErrors(err)...)
		if tbl != nil && len(tbl.Rows) > 0 {
			tables[i] = tbl
			kinds[r.mapping.KindName()] = true
		}
	}
	multi := g.showKind || multiTypes || len(kinds) > 1
	printed := false
	for i, r := range items {
		if tables[i] == nil {
			continue
		}
		if printed {
			fmt.Fprintln(e.Out)
		}
		cols := printers.NewColumns(e.Out)
		g.addRows(cols, tables[i], r, multi, true)
		if err := cols.Flush(); err != nil {
			return err
		}
		printed = true
	}
	if !printed && len(errs) == 0 {
		noResources(e.ErrOut, items, ns)
	}
	return errors.Join(errs...)
}

// multipleTypesRequested reports whether the arguments name several
// resource types at once: a comma list of different types, or "all".
func multipleTypesRequested(args []string) bool {
	if len(args) == 0 || strings.Contains(args[0], "/") {
		return false
	}
	if args[0] == "all" {
		return true
	}
	seen := map[string]bool{}
	for _, t := range strings.Split(args[0], ",") {
		seen[t] = true
	}
	return len(seen) > 1
}

func (g *getFlags) tableOptions(r resolved, multi bool) printers.TableOptions {
	opts := printers.TableOptions{
		Wide:          g.output == "wide",
		WithNamespace: g.allNamespaces && r.mapping.Namespaced,
		ShowLabels:    g.showLabels,
		LabelColumns:  g.labelColumns,
	}
	if multi {
		opts.KindPrefix = r.mapping.KindName()
	}
	return opts
}

// addRows adds a table's rows (and its header first if header is set).
func (g *getFlags) addRows(cols *printers.Columns, tbl *metav1.Table, r resolved, multi, header bool) {
	h, rows := printers.TableRows(tbl, g.tableOptions(r, multi))
	if header && !g.noHeaders {
		cols.Add(h...)
	}
	for _, row := range rows {
		cols.Add(row...)
	}
}

// keepErrors drops "not found" errors with --ignore-not-found.
func (g *getFlags) keepErrors(err error) []error {
	var out []error
	for _, e := range flatten(err) {
		if g.ignoreNotFound && apierrors.IsNotFound(e) {
			continue
		}
		out = append(out, e)
	}
	return out
}

// noResources prints kubectl's message for an empty result.
func noResources(w io.Writer, items []resolved, ns string) {
	namespaced := ns != ""
	for _, r := range items {
		if !r.mapping.Namespaced {
			namespaced = false
		}
	}
	if namespaced {
		fmt.Fprintf(w, "No resources found in %s namespace.\n", ns)
		return
	}
	fmt.Fprintln(w, "No resources found")
}

// fetchTable gets the named objects of r, or lists them, as one Table.
// Errors for single names are returned joined next to what was found.
func fetchTable(ctx context.Context, c *client.Client, r resolved, ns string, opts metav1.ListOptions, now func() time.Time) (*metav1.Table, error) {
	var merged *metav1.Table
	add := func(t *metav1.Table) {
		if merged == nil {
			merged = t
			return
		}
		if len(merged.ColumnDefinitions) == 0 {
			merged.ColumnDefinitions = t.ColumnDefinitions
		}
		merged.Rows = append(merged.Rows, t.Rows...)
	}
	if len(r.names) > 0 {
		var errs []error
		for _, name := range r.names {
			t, err := requestTable(ctx, c, r.mapping.Path(ns, name), nil, now)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			add(t)
		}
		return merged, errors.Join(errs...)
	}
	cont := ""
	for {
		params := listParams(opts)
		if cont != "" {
			params["continue"] = cont
		}
		t, err := requestTable(ctx, c, r.mapping.Path(ns, ""), params, now)
		if err != nil {
			return merged, err
		}
		add(t)
		if t.Continue == "" {
			return merged, nil
		}
		cont = t.Continue
	}
}

func listParams(opts metav1.ListOptions) map[string]string {
	p := map[string]string{}
	if opts.LabelSelector != "" {
		p["labelSelector"] = opts.LabelSelector
	}
	if opts.FieldSelector != "" {
		p["fieldSelector"] = opts.FieldSelector
	}
	if opts.Limit > 0 {
		p["limit"] = fmt.Sprint(opts.Limit)
	}
	if opts.ResourceVersion != "" {
		p["resourceVersion"] = opts.ResourceVersion
	}
	return p
}

// requestTable GETs path asking for a Table. A server that answers with a
// plain object or list gets kubectl's fallback NAME/AGE table.
func requestTable(ctx context.Context, c *client.Client, path string, params map[string]string, now func() time.Time) (*metav1.Table, error) {
	req := c.REST.Get().AbsPath(path).SetHeader("Accept", printers.TableAccept)
	for k, v := range params {
		req = req.Param(k, v)
	}
	res := req.Do(ctx)
	data, err := res.Raw()
	if err != nil {
		return nil, c.Explain(res.Error()) // the Status the server sent, if any
	}
	return tableFromResponse(data, now())
}

func tableFromResponse(data []byte, now time.Time) (*metav1.Table, error) {
	t, err := printers.DecodeTable(data)
	if !errors.Is(err, printers.ErrNotTable) {
		return t, err
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("decoding the server's answer: %w", err)
	}
	var metas []metav1.ObjectMeta
	if obj.IsList() {
		list, err := obj.ToList()
		if err != nil {
			return nil, err
		}
		for i := range list.Items {
			metas = append(metas, objectMeta(&list.Items[i]))
		}
		t = printers.MetadataTable(metas, now)
		t.ResourceVersion, t.Continue = list.GetResourceVersion(), list.GetContinue()
		return t, nil
	}
	return printers.MetadataTable([]metav1.ObjectMeta{objectMeta(obj)}, now), nil
}

func objectMeta(u *unstructured.Unstructured) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: u.GetName(), Namespace: u.GetNamespace(), Labels: u.GetLabels(),
		CreationTimestamp: u.GetCreationTimestamp(), ResourceVersion: u.GetResourceVersion(), UID: u.GetUID(),
	}
}

// printObjects prints -o json, yaml or name.
func (g *getFlags) printObjects(ctx context.Context, e *env, c *client.Client, items []resolved, ns string) error {
	var objs []*unstructured.Unstructured
	var errs []error
	for _, r := range items {
		got, err := fetchObjects(ctx, c, r, r.namespaceFor(ns), g.listOptions())
		objs = append(objs, got...)
		errs = append(errs, g.keepErrors(err)...)
	}
	single := len(items) == 1 && len(items[0].names) == 1
	if err := g.writeObjects(e.Out, objs, single, items); err != nil {
		return err
	}
	if len(objs) == 0 && len(errs) == 0 && g.output == "name" {
		noResources(e.ErrOut, items, ns) // json and yaml print an empty List instead
	}
	return errors.Join(errs...)
}

func (g *getFlags) writeObjects(w io.Writer, objs []*unstructured.Unstructured, single bool, items []resolved) error {
	if g.output == "name" {
		for _, o := range objs {
			fmt.Fprintf(w, "%s/%s\n", kindNameOf(o, items), o.GetName())
		}
		return nil
	}
	var maps []map[string]any
	for _, o := range objs {
		if !g.showManagedFields {
			printers.StripManagedFields(o.Object)
		}
		maps = append(maps, o.Object)
	}
	var out any = printers.List(maps)
	if single {
		if len(maps) == 0 {
			return nil
		}
		out = maps[0]
	}
	if g.output == "json" {
		return printers.WriteJSON(w, out)
	}
	return printers.WriteYAML(w, out)
}

// kindNameOf is "pod", "deployment.apps": the lower-case kind of o.
func kindNameOf(o *unstructured.Unstructured, items []resolved) string {
	gvk := o.GroupVersionKind()
	for _, r := range items {
		if r.mapping.Kind.Kind == gvk.Kind && r.mapping.Kind.Group == gvk.Group {
			return r.mapping.KindName()
		}
	}
	return client.Mapping{Kind: gvk}.KindName()
}

// fetchObjects gets the named objects of r, or lists them.
func fetchObjects(ctx context.Context, c *client.Client, r resolved, ns string, opts metav1.ListOptions) ([]*unstructured.Unstructured, error) {
	res := c.Dynamic.Resource(r.mapping.Resource).Namespace(ns)
	var out []*unstructured.Unstructured
	if len(r.names) > 0 {
		var errs []error
		for _, name := range r.names {
			o, err := res.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				errs = append(errs, c.Explain(err))
				continue
			}
			out = append(out, o)
		}
		return out, errors.Join(errs...)
	}
	for {
		list, err := res.List(ctx, opts)
		if err != nil {
			return out, c.Explain(err)
		}
		for i := range list.Items {
			item := &list.Items[i]
			if item.GetKind() == "" {
				item.SetGroupVersionKind(r.mapping.Kind)
			}
			out = append(out, item)
		}
		if list.GetContinue() == "" {
			return out, nil
		}
		opts.Continue = list.GetContinue()
	}
}
