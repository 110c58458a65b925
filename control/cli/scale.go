package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tug-sh/tug/control/client"
)

func scaleSpec() spec {
	return spec{
		name:    "scale",
		summary: "Set a new size for a replication controller (or anything with a scale subresource)",
		usage:   "scale (TYPE NAME | TYPE/NAME | -f FILE) --replicas=N [--current-replicas=N] [--resource-version=RV]",
		setup: func(fs *pflag.FlagSet) func(context.Context, *env, []string) error {
			var files fileFlags
			files.register(fs, "naming the objects to scale")
			replicas := fs.Int("replicas", -1, "the new number of replicas (required)")
			current := fs.Int("current-replicas", -1, "precondition: scale only if the current size is this")
			resourceVersion := fs.String("resource-version", "", "precondition: scale only if the object's resourceVersion is this")
			return func(ctx context.Context, e *env, args []string) error {
				if *replicas < 0 {
					return errors.New("the --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0")
				}
				items, ns, err := e.targets(ctx, args, files, "scale", false)
				if err != nil {
					return err
				}
				c, err := e.connect()
				if err != nil {
					return err
				}
				var errs []error
				for _, r := range items {
					if len(r.names) == 0 {
						return errors.New("resource(s) were provided, but no name was specified")
					}
					for _, name := range r.names {
						err := scaleOne(ctx, c, r.mapping, r.namespaceFor(ns), name, int32(*replicas), *current, *resourceVersion)
						if err != nil {
							errs = append(errs, client.WithSource("scaling", r.source, c.Explain(err)))
							continue
						}
						fmt.Fprintf(e.Out, "%s/%s scaled\n", r.mapping.KindName(), name)
					}
				}
				return errors.Join(errs...)
			}
		},
	}
}

// errPrecondition is wrapped when --current-replicas or --resource-version
// does not hold.
var errPrecondition = errors.New("scale precondition failed")

// scaleOne sets the replicas through the scale subresource: a merge patch,
// or, with preconditions, a read-check-update of the Scale object (the
// update fails with a conflict if the object changed in between).
func scaleOne(ctx context.Context, c *client.Client, mp client.Mapping, ns, name string, replicas int32, current int, resourceVersion string) error {
	if !mp.HasSubresource("scale") {
		return fmt.Errorf("%s %q cannot be scaled: the server has no scale subresource for %s", mp.GroupResource(), name, mp.GroupResource())
	}
	res := c.Dynamic.Resource(mp.Resource).Namespace(ns)
	if current < 0 && resourceVersion == "" {
		patch, err := json.Marshal(map[string]any{"spec": map[string]any{"replicas": replicas}})
		if err != nil {
			return err
		}
		_, err = res.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: fieldManager}, "scale")
		return err
	}
	scale, err := res.Get(ctx, name, metav1.GetOptions{}, "scale")
	if err != nil {
		return err
	}
	if current >= 0 {
		got, _, _ := unstructured.NestedInt64(scale.Object, "spec", "replicas")
		if got != int64(current) {
			return fmt.Errorf("%w: expected replicas to be %d, was %d", errPrecondition, current, got)
		}
	}
	if resourceVersion != "" && scale.GetResourceVersion() != resourceVersion {
		return fmt.Errorf("%w: expected resourceVersion to be %s, was %s", errPrecondition, resourceVersion, scale.GetResourceVersion())
	}
	if err := unstructured.SetNestedField(scale.Object, int64(replicas), "spec", "replicas"); err != nil {
		return err
	}
	_, err = res.Update(ctx, scale, metav1.UpdateOptions{FieldManager: fieldManager}, "scale")
	return err
}
