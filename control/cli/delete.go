package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tug-sh/tug/control/client"
)

// defaultDeleteWait bounds --wait when --timeout is not given, on top of
// the grace period the objects get.
const defaultDeleteWait = time.Minute

type deleteFlags struct {
	files          fileFlags
	selector       string
	all            bool
	allNamespaces  bool
	gracePeriod    int
	now            bool
	force          bool
	cascade        string
	wait           bool
	timeout        time.Duration
	ignoreNotFound bool
}

func deleteSpec() spec {
	return spec{
		name:    "delete",
		aliases: []string{"stop"},
		summary: "Delete resources by names, files, label selector or --all (stop is the 2015 name)",
		usage:   "delete (TYPE NAME... | TYPE/NAME... | -f FILE | TYPE -l SELECTOR | TYPE --all) [--grace-period N] [--now] [--force] [--cascade background|foreground|orphan] [--wait=false] [--timeout D]",
		setup: func(fs *pflag.FlagSet) func(context.Context, *env, []string) error {
			d := &deleteFlags{}
			d.files.register(fs, "naming the objects to delete")
			fs.StringVarP(&d.selector, "selector", "l", "", "delete the objects matching this label selector")
			fs.BoolVar(&d.all, "all", false, "delete every object of the given types in the namespace")
			fs.BoolVarP(&d.allNamespaces, "all-namespaces", "A", false, "with -l or --all: in every namespace")
			fs.IntVar(&d.gracePeriod, "grace-period", -1, "seconds the objects get to terminate gracefully; -1 uses each object's default, 0 needs --force")
			fs.BoolVar(&d.now, "now", false, "signal the objects to stop at once (grace period 1)")
			fs.BoolVar(&d.force, "force", false, "with --grace-period=0: remove the objects from the API at once, without waiting for their node agent")
			fs.StringVar(&d.cascade, "cascade", "background", "what happens to dependents (e.g. a controller's pods): background, foreground or orphan")
			fs.BoolVar(&d.wait, "wait", true, "wait until the objects are gone before returning")
			fs.DurationVar(&d.timeout, "timeout", 0, "how long --wait waits (0: the grace period plus 1m)")
			fs.BoolVar(&d.ignoreNotFound, "ignore-not-found", false, "treat \"not found\" as success")
			return d.run
		},
	}
}

// deleteOptions turns the flags into the DELETE body, as kubectl does.
func (d *deleteFlags) deleteOptions() (metav1.DeleteOptions, error) {
	var opts metav1.DeleteOptions
	policy, err := propagationPolicy(d.cascade)
	if err != nil {
		return opts, err
	}
	opts.PropagationPolicy = &policy
	grace := d.gracePeriod
	if d.now {
		if grace != -1 {
			return opts, errors.New("--now and --grace-period cannot be specified together")
		}
		grace = 1
	}
	if grace == 0 && !d.force {
		// As kubectl: 0 without --force would bypass graceful deletion by
		// accident, so it means "as fast as possible, gracefully".
		grace = 1
	}
	if d.force && grace < 0 {
		grace = 0
	}
	if grace >= 0 {
		g := int64(grace)
		opts.GracePeriodSeconds = &g
	}
	return opts, nil
}

func propagationPolicy(cascade string) (metav1.DeletionPropagation, error) {
	switch cascade {
	case "background", "true":
		return metav1.DeletePropagationBackground, nil
	case "foreground":
		return metav1.DeletePropagationForeground, nil
	case "orphan", "false":
		return metav1.DeletePropagationOrphan, nil
	}
	return "", fmt.Errorf("invalid --cascade value %q: must be background, foreground or orphan", cascade)
}

// deleted is an object whose deletion was accepted, to wait for.
type deleted struct {
	mapping   client.Mapping
	namespace string
	name      string
	uid       types.UID
}

func (d *deleteFlags) run(ctx context.Context, e *env, args []string) error {
	opts, err := d.deleteOptions()
	if err != nil {
		return err
	}
	if d.all && d.selector != "" {
		return errors.New("cannot set --all and --selector at the same time")
	}
	if d.allNamespaces && !d.all && d.selector == "" {
		return errors.New("--all-namespaces needs --all or --selector")
	}
	items, ns, err := e.targets(ctx, args, d.files, "delete", d.allNamespaces)
	if err != nil {
		return err
	}
	bulk := d.all || d.selector != ""
	for _, it := range items {
		switch {
		case len(it.names) == 0 && !bulk:
			return errors.New("resource(s) were provided, but no name was specified")
		case len(it.names) > 0 && bulk:
			return errors.New("names cannot be provided when a selector or --all is specified")
		}
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	if opts.GracePeriodSeconds != nil && *opts.GracePeriodSeconds == 0 {
		fmt.Fprintln(e.ErrOut, "Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.")
	}
	var errs []error
	var done []deleted
	found := false
	for _, r := range items {
		rns := r.namespaceFor(ns)
		names := r.names
		if bulk {
			objs, err := fetchObjects(ctx, c, r, rns, metav1.ListOptions{LabelSelector: d.selector, Limit: listChunk})
			if err != nil {
				errs = append(errs, err)
				continue
			}
			names = nil
			for _, o := range objs {
				names = append(names, o.GetNamespace()+"/"+o.GetName())
			}
		}
		for _, name := range names {
			objNS := rns
			if bulk {
				objNS, name = splitNamespaced(name)
			}
			found = true
			obj, err := c.Dynamic.Resource(r.mapping.Resource).Namespace(objNS).Get(ctx, name, metav1.GetOptions{})
			if err == nil {
				err = c.Dynamic.Resource(r.mapping.Resource).Namespace(objNS).Delete(ctx, name, opts)
			}
			if err != nil {
				err = c.Explain(err)
				if d.ignoreNotFound && apierrors.IsNotFound(err) {
					continue
				}
				errs = append(errs, client.WithSource("deleting", r.source, err))
				if client.IsUnreachable(err) {
					return errors.Join(errs...)
				}
				continue
			}
			verb := "deleted"
			if opts.GracePeriodSeconds != nil && *opts.GracePeriodSeconds == 0 {
				verb = "force deleted"
			}
			fmt.Fprintf(e.Out, "%s %q %s\n", r.mapping.KindName(), name, verb)
			done = append(done, deleted{mapping: r.mapping, namespace: objNS, name: name, uid: obj.GetUID()})
		}
	}
	if !found && bulk && len(errs) == 0 {
		fmt.Fprintln(e.Out, "No resources found") // kubectl's words and stream for delete
	}
	if d.wait && len(done) > 0 {
		timeout := d.timeout
		if timeout == 0 {
			timeout = defaultDeleteWait
			if opts.GracePeriodSeconds != nil {
				timeout += time.Duration(*opts.GracePeriodSeconds) * time.Second
			} else {
				timeout += 30 * time.Second // the default pod grace period
			}
		}
		if err := waitDeleted(ctx, c, done, timeout); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func splitNamespaced(s string) (string, string) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i], s[i+1:]
		}
	}
	return "", s
}

// errDeleteTimeout is wrapped when --wait gives up.
var errDeleteTimeout = errors.New("timed out waiting for deletion")

// waitDeleted polls until every object is gone (not found, or replaced by
// a new object of the same name), or timeout passes.
func waitDeleted(ctx context.Context, c *client.Client, objs []deleted, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	interval := 50 * time.Millisecond
	pending := objs
	var last *unstructured.Unstructured
	for {
		var still []deleted
		for _, o := range pending {
			live, err := c.Dynamic.Resource(o.mapping.Resource).Namespace(o.namespace).Get(ctx, o.name, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
				continue
			case err != nil && ctx.Err() == nil:
				return c.Explain(err)
			case err == nil && live.GetUID() != o.uid:
				continue
			}
			if err == nil && len(still) == 0 {
				last = live
			}
			still = append(still, o)
		}
		if len(still) == 0 {
			return nil
		}
		pending = still
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.Canceled) {
				return ctx.Err()
			}
			o := pending[0]
			return fmt.Errorf("%w: %s %q is still there after %v (%s). Use --wait=false not to wait",
				errDeleteTimeout, o.mapping.KindName(), o.name, timeout, whyNotGone(last))
		case <-time.After(interval):
			interval = min(2*interval, time.Second)
		}
	}
}

// whyNotGone explains what an object being deleted still waits for.
func whyNotGone(obj *unstructured.Unstructured) string {
	switch {
	case obj == nil:
		return "it could not be read back"
	case len(obj.GetFinalizers()) > 0:
		return fmt.Sprintf("it waits for its finalizers %v: the controller owning each must remove it (for orphan and foreground deletion, the garbage collector)", obj.GetFinalizers())
	case obj.GetKind() == "Pod" && obj.GetDeletionTimestamp() != nil:
		node, _, _ := unstructured.NestedString(obj.Object, "spec", "nodeName")
		return fmt.Sprintf("it is terminating: the node agent of %q has not confirmed that its containers stopped; --force --grace-period=0 removes it from the API at once", node)
	case obj.GetDeletionTimestamp() != nil:
		return "it is marked for deletion but not yet removed"
	}
	return "the server has not started deleting it"
}
