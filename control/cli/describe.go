package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tug-sh/tug/control/cli/describe"
	"github.com/tug-sh/tug/control/client"
)

func describeSpec() spec {
	return spec{
		name:    "describe",
		summary: "Show details of a resource or group of resources",
		usage:   "describe (TYPE [NAME_PREFIX...] | TYPE/NAME... | -f FILE) [-l SELECTOR] [-A]",
		setup: func(fs *pflag.FlagSet) func(context.Context, *env, []string) error {
			var files fileFlags
			files.register(fs, "naming the objects to describe")
			selector := fs.StringP("selector", "l", "", "label selector (e.g. app=nginx)")
			allNamespaces := fs.BoolP("all-namespaces", "A", false, "describe across all namespaces")
			showEvents := fs.Bool("show-events", true, "show the events of each object")
			return func(ctx context.Context, e *env, args []string) error {
				d := &describer{e: e, selector: *selector, allNamespaces: *allNamespaces, showEvents: *showEvents}
				// TYPE NAME is a prefix (kubectl describe pods nginx shows
				// every pod whose name starts with nginx); TYPE/NAME is exact.
				prefix := len(args) > 1 && !strings.Contains(args[0], "/")
				items, ns, err := e.targets(ctx, args, files, "describe", *allNamespaces)
				if err != nil {
					return err
				}
				return d.run(ctx, items, ns, prefix)
			}
		},
	}
}

type describer struct {
	e             *env
	c             *client.Client
	selector      string
	allNamespaces bool
	showEvents    bool
}

func (d *describer) run(ctx context.Context, items []resolved, ns string, prefix bool) error {
	c, err := d.e.connect()
	if err != nil {
		return err
	}
	d.c = c
	var objs []*unstructured.Unstructured
	var errs []error
	for _, r := range items {
		got, err := d.find(ctx, r, r.namespaceFor(ns), prefix)
		objs = append(objs, got...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(objs) == 0 && len(errs) == 0 {
		noResources(d.e.ErrOut, items, ns)
		return nil
	}
	for i, o := range objs {
		text, err := d.describe(ctx, o)
		if err != nil {
			errs = append(errs, c.Explain(err))
			continue
		}
		if i > 0 {
			fmt.Fprint(d.e.Out, "\n")
		}
		fmt.Fprint(d.e.Out, text)
	}
	return errors.Join(errs...)
}

// find gets the objects r names: by exact name, else (prefix) every object
// whose name starts with it, or all of them (optionally by selector).
func (d *describer) find(ctx context.Context, r resolved, ns string, prefix bool) ([]*unstructured.Unstructured, error) {
	opts := metav1.ListOptions{LabelSelector: d.selector, Limit: listChunk}
	if len(r.names) == 0 {
		return fetchObjects(ctx, d.c, r, ns, opts)
	}
	var out []*unstructured.Unstructured
	var errs []error
	var all []*unstructured.Unstructured
	listed := false
	for _, name := range r.names {
		o, err := fetchObjects(ctx, d.c, resolved{mapping: r.mapping, names: []string{name}}, ns, opts)
		if err == nil {
			out = append(out, o...)
			continue
		}
		if !prefix || !apierrors.IsNotFound(err) {
			errs = append(errs, err)
			continue
		}
		if !listed {
			all, err = fetchObjects(ctx, d.c, resolved{mapping: r.mapping}, ns, opts)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			listed = true
		}
		found := false
		for _, o := range all {
			if strings.HasPrefix(o.GetName(), name) {
				out = append(out, o)
				found = true
			}
		}
		if !found {
			errs = append(errs, apierrors.NewNotFound(r.mapping.Resource.GroupResource(), name))
		}
	}
	return out, errors.Join(errs...)
}

// describe renders one object with the describer of its kind.
func (d *describer) describe(ctx context.Context, o *unstructured.Unstructured) (string, error) {
	now := d.e.now()
	gvk := o.GroupVersionKind()
	if gvk.Group != "" || gvk.Version != "v1" {
		return describe.Generic(o, d.events(ctx, o, o.GetKind()), now), nil
	}
	switch gvk.Kind {
	case "Pod":
		var pod corev1.Pod
		if err := fromUnstructured(o, &pod); err != nil {
			return "", err
		}
		return describe.Pod(&pod, d.events(ctx, o, ""), now), nil
	case "ReplicationController":
		var rc corev1.ReplicationController
		if err := fromUnstructured(o, &rc); err != nil {
			return "", err
		}
		pods, err := d.c.Core.Pods(rc.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(rc.Spec.Selector).String()})
		if err != nil {
			return "", err
		}
		return describe.ReplicationController(&rc, describe.CountPods(pods.Items, rc.UID), d.events(ctx, o, rc.Kind), now), nil
	case "Service":
		var svc corev1.Service
		if err := fromUnstructured(o, &svc); err != nil {
			return "", err
		}
		ep, err := d.c.Core.Endpoints(svc.Namespace).Get(ctx, svc.Name, metav1.GetOptions{})
		if err != nil {
			ep = nil // no Endpoints object (yet): "<none>"
		}
		return describe.Service(&svc, ep, d.events(ctx, o, svc.Kind), now), nil
	case "Endpoints":
		var ep corev1.Endpoints
		if err := fromUnstructured(o, &ep); err != nil {
			return "", err
		}
		return describe.Endpoints(&ep, d.events(ctx, o, ep.Kind), now), nil
	case "Node":
		var node corev1.Node
		if err := fromUnstructured(o, &node); err != nil {
			return "", err
		}
		var pods []corev1.Pod
		list, err := d.c.Core.Pods("").List(ctx, metav1.ListOptions{
			FieldSelector: "spec.nodeName=" + node.Name + ",status.phase!=Succeeded,status.phase!=Failed",
		})
		if err == nil {
			pods = list.Items
			if pods == nil {
				pods = []corev1.Pod{}
			}
		}
		events := d.events(ctx, o, node.Kind)
		if events != nil {
			// The node agent reports node events with the node's name as uid.
			byName := d.eventsFor(ctx, node.Name, "", node.Kind, node.Name)
			if byName != nil {
				events.Items = append(events.Items, byName.Items...)
			}
		}
		return describe.Node(&node, pods, events, now), nil
	case "Namespace":
		var ns corev1.Namespace
		if err := fromUnstructured(o, &ns); err != nil {
			return "", err
		}
		return describe.Namespace(&ns), nil
	}
	return describe.Generic(o, d.events(ctx, o, o.GetKind()), now), nil
}

// events lists the events about o (kind "" leaves the kind out of the
// selector, as kubectl does for pods). Failures are not fatal: kubectl
// describes the object without its events.
func (d *describer) events(ctx context.Context, o *unstructured.Unstructured, kind string) *corev1.EventList {
	if o.GetKind() == "Event" {
		return &corev1.EventList{}
	}
	return d.eventsFor(ctx, o.GetName(), o.GetNamespace(), kind, string(o.GetUID()))
}

func (d *describer) eventsFor(ctx context.Context, name, namespace, kind, uid string) *corev1.EventList {
	if !d.showEvents {
		return nil
	}
	list, err := d.c.Core.Events(namespace).List(ctx, metav1.ListOptions{
		FieldSelector: describe.EventSelector(name, namespace, kind, uid),
	})
	if err != nil {
		return &corev1.EventList{}
	}
	return list
}

func fromUnstructured(o *unstructured.Unstructured, into any) error {
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, into); err != nil {
		return fmt.Errorf("decoding %s %q: %w", o.GetKind(), o.GetName(), err)
	}
	return nil
}
