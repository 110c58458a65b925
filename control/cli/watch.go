package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tug-sh/tug/control/cli/printers"
	"github.com/tug-sh/tug/control/client"
)

// watchEvent is one line of a watch stream.
type watchEvent struct {
	Type   string          `json:"type"`
	Object json.RawMessage `json:"object"`
}

// runWatch is `get -w`: the current objects (unless --watch-only), then a
// row or object per change until the context ends.
func (g *getFlags) runWatch(ctx context.Context, e *env, c *client.Client, items []resolved, ns string) error {
	if len(items) != 1 {
		return fmt.Errorf("watch is only supported on individual resources and resource collections, but %d resources were found", len(items))
	}
	r := items[0]
	if len(r.names) > 1 {
		return errors.New("watch is only supported on individual resources and resource collections, but several names were given")
	}
	ns = r.namespaceFor(ns)
	opts := g.listOptions()
	if len(r.names) == 1 {
		sel := "metadata.name=" + r.names[0]
		if opts.FieldSelector != "" {
			sel += "," + opts.FieldSelector
		}
		opts.FieldSelector = sel
	}
	human := g.output == "" || g.output == "wide"
	p := &watchPrinter{g: g, e: e, r: r, human: human, cols: printers.NewColumns(e.Out)}

	// The list gives the starting resourceVersion (and the first rows).
	tbl, err := fetchTable(ctx, c, resolved{mapping: r.mapping}, ns, opts, e.now)
	if err != nil {
		return err
	}
	rv := tbl.ResourceVersion
	p.columns = tbl.ColumnDefinitions
	if !g.watchOnly {
		if human {
			if err := p.table(tbl); err != nil {
				return err
			}
		} else {
			objs, err := fetchObjects(ctx, c, resolved{mapping: r.mapping}, ns, opts)
			if err != nil {
				return err
			}
			for _, o := range objs {
				if err := p.object(o); err != nil {
					return err
				}
			}
		}
	}
	accept := "application/json"
	if human {
		accept = printers.TableAccept
	}
	opts.Limit = 0
	backoff := time.Duration(0)
	for {
		next, err := watchOnce(ctx, c, r.mapping.Path(ns, ""), opts, rv, accept, p.event)
		if ctx.Err() != nil {
			return nil // interrupted: the normal end of a watch
		}
		if err != nil {
			return err
		}
		if next == rv {
			// The server closed the stream without news: back off a little
			// before asking again so a misbehaving server is not hammered.
			backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
		} else {
			backoff = 0
		}
		rv = next
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
	}
}

// watchOnce streams one watch request from resourceVersion rv and returns
// the last resourceVersion seen when the server ends the stream.
func watchOnce(ctx context.Context, c *client.Client, path string, opts metav1.ListOptions, rv, accept string, onEvent func(typ string, obj json.RawMessage) (string, error)) (string, error) {
	params := listParams(opts)
	params["watch"] = "true"
	params["allowWatchBookmarks"] = "true"
	if rv != "" {
		params["resourceVersion"] = rv
	}
	req := c.REST.Get().AbsPath(path).SetHeader("Accept", accept)
	for k, v := range params {
		req = req.Param(k, v)
	}
	body, err := req.Stream(ctx)
	if err != nil {
		return rv, c.Explain(err)
	}
	defer body.Close()
	dec := json.NewDecoder(body)
	for {
		var ev watchEvent
		if err := dec.Decode(&ev); err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return rv, nil
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return rv, nil // the connection dropped mid-event: resume
			}
			return rv, fmt.Errorf("reading the watch stream: %w", err)
		}
		if ev.Type == "ERROR" {
			var status metav1.Status
			if err := json.Unmarshal(ev.Object, &status); err != nil {
				return rv, fmt.Errorf("watch failed: %s", ev.Object)
			}
			return rv, &apierrors.StatusError{ErrStatus: status}
		}
		next, err := onEvent(ev.Type, ev.Object)
		if err != nil {
			return rv, err
		}
		if next != "" {
			rv = next
		}
	}
}

// watchPrinter prints watch events as table rows or objects.
type watchPrinter struct {
	g       *getFlags
	e       *env
	r       resolved
	human   bool
	cols    *printers.Columns
	columns []metav1.TableColumnDefinition
	header  bool // the header has been printed
	printed int  // objects printed (yaml separators)
}

// table prints the rows of t, with the header before the first row.
func (p *watchPrinter) table(t *metav1.Table) error {
	if len(t.Rows) == 0 {
		return nil
	}
	if len(t.ColumnDefinitions) == 0 {
		t.ColumnDefinitions = p.columns // servers send them in the first event only
	} else {
		p.columns = t.ColumnDefinitions
	}
	p.g.addRows(p.cols, t, p.r, p.g.showKind, !p.header)
	p.header = true
	return p.cols.Flush()
}

func (p *watchPrinter) object(o *unstructured.Unstructured) error {
	if !p.g.showManagedFields {
		printers.StripManagedFields(o.Object)
	}
	w := p.e.Out
	var err error
	switch p.g.output {
	case "name":
		_, err = fmt.Fprintf(w, "%s/%s\n", p.r.mapping.KindName(), o.GetName())
	case "json":
		err = printers.WriteJSON(w, o.Object)
	default:
		if p.printed > 0 {
			fmt.Fprintln(w, "---")
		}
		err = printers.WriteYAML(w, o.Object)
	}
	p.printed++
	return err
}

// event handles one watch event and returns the resourceVersion it carries.
func (p *watchPrinter) event(typ string, raw json.RawMessage) (string, error) {
	if typ == "BOOKMARK" {
		var obj struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
		}
		_ = json.Unmarshal(raw, &obj)
		return obj.Metadata.ResourceVersion, nil
	}
	if !p.human {
		o := &unstructured.Unstructured{}
		if err := o.UnmarshalJSON(raw); err != nil {
			return "", fmt.Errorf("decoding a watch event: %w", err)
		}
		return o.GetResourceVersion(), p.object(o)
	}
	t, err := tableFromResponse(raw, p.e.now())
	if err != nil {
		return "", err
	}
	rv := ""
	for _, row := range t.Rows {
		if m, ok := printers.RowMetadata(row); ok && m.ResourceVersion != "" {
			rv = m.ResourceVersion
		}
	}
	return rv, p.table(t)
}
