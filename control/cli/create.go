package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tug-sh/tug/control/cli/manifest"
	"github.com/tug-sh/tug/control/client"
)

// fieldManager names tug's writes in managedFields.
const fieldManager = "tug"

type fileFlags struct {
	files     []string
	recursive bool
}

func (f *fileFlags) register(fs *pflag.FlagSet, what string) {
	fs.StringArrayVarP(&f.files, "filename", "f", nil, "manifest file, directory or - (stdin) "+what+" (repeatable)")
	fs.BoolVarP(&f.recursive, "recursive", "R", false, "read directories given with -f recursively")
}

func createSpec() spec {
	return spec{
		name:    "create",
		summary: "Create objects from manifests",
		usage:   "create -f FILE|DIR|- [-f ...] [-R] [--save-config]",
		setup: func(fs *pflag.FlagSet) func(context.Context, *env, []string) error {
			var files fileFlags
			files.register(fs, "to create")
			saveConfig := fs.Bool("save-config", false, "record the object in the last-applied-configuration annotation, so later `tug apply` can patch it")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return fmt.Errorf("unexpected arguments %q: create takes its objects from -f", args)
				}
				if len(files.files) == 0 {
					return errors.New("must specify -f FILE (a manifest file, a directory, or - for standard input)")
				}
				return e.forEachObject(ctx, files, "creating", func(ctx context.Context, c *client.Client, o manifest.Object, mp client.Mapping, ns string) error {
					obj := o.Object
					if *saveConfig {
						if err := setLastApplied(obj); err != nil {
							return err
						}
					}
					created, err := c.Dynamic.Resource(mp.Resource).Namespace(ns).Create(ctx, obj, metav1.CreateOptions{FieldManager: fieldManager})
					if err != nil {
						return err
					}
					fmt.Fprintf(e.Out, "%s/%s created\n", mp.KindName(), created.GetName())
					return nil
				})
			}
		},
	}
}

// objectFunc acts on one object read from a manifest.
type objectFunc func(ctx context.Context, c *client.Client, o manifest.Object, mp client.Mapping, namespace string) error

// forEachObject reads the manifests of files, maps each object to its
// resource and namespace, and calls fn for it. Like kubectl it goes on after
// a failing object and reports every failure at the end (the command then
// exits 1); verb ("creating") prefixes server errors with the source file.
func (e *env) forEachObject(ctx context.Context, files fileFlags, verb string, fn objectFunc) error {
	objs, readErr := manifest.Read(files.files, files.recursive, e.In)
	if len(objs) == 0 && readErr == nil {
		return errors.New("no objects passed to " + verbName(verb))
	}
	var errs []error
	if readErr != nil {
		errs = append(errs, readErr)
	}
	if len(objs) > 0 {
		c, m, err := e.mapper(ctx)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		cmdNS, explicit := e.namespace()
		for _, o := range objs {
			mp, err := m.KindFor(o.Object.GroupVersionKind())
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", o.Source, err))
				continue
			}
			ns, err := objectNamespace(mp, o.Object.GetNamespace(), cmdNS, explicit)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if mp.Namespaced {
				o.Object.SetNamespace(ns)
			} else {
				o.Object.SetNamespace("")
			}
			if err := fn(ctx, c, o, mp, ns); err != nil {
				err = c.Explain(err)
				if client.IsUnreachable(err) {
					return errors.Join(append(errs, err)...) // every other object would fail the same way
				}
				errs = append(errs, client.WithSource(verb, o.Source, err))
			}
		}
	}
	return errors.Join(errs...)
}

func verbName(verb string) string {
	switch verb {
	case "creating":
		return "create"
	case "applying":
		return "apply"
	case "deleting":
		return "delete"
	}
	return verb
}

// lastAppliedAnnotation holds the configuration `apply` last applied.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// setLastApplied records obj (without the annotation itself) in its
// last-applied-configuration annotation, byte for byte as kubectl does (an
// empty annotations map included), so kubectl apply and tug apply agree on
// what was applied last.
func setLastApplied(obj *unstructured.Unstructured) error {
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	delete(ann, lastAppliedAnnotation)
	clean := obj.DeepCopy()
	clean.SetAnnotations(ann)
	if len(ann) == 0 {
		// SetAnnotations drops an empty map; kubectl's encoding keeps it.
		if err := unstructured.SetNestedMap(clean.Object, map[string]any{}, "metadata", "annotations"); err != nil {
			return err
		}
	}
	data, err := json.Marshal(clean.Object)
	if err != nil {
		return fmt.Errorf("encoding the last-applied configuration: %w", err)
	}
	ann[lastAppliedAnnotation] = string(data) + "\n"
	obj.SetAnnotations(ann)
	return nil
}
