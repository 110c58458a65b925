package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/pflag"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/jsonmergepatch"
	"k8s.io/apimachinery/pkg/util/mergepatch"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/tug-sh/tug/control/cli/manifest"
	"github.com/tug-sh/tug/control/client"
)

// applyRetries bounds how often apply re-reads an object that changed
// between its GET and its PATCH (409 Conflict).
const applyRetries = 5

func applySpec() spec {
	return spec{
		name:    "apply",
		summary: "Create or update objects from manifests (client-side apply)",
		usage:   "apply -f FILE|DIR|- [-f ...] [-R]",
		setup: func(fs *pflag.FlagSet) func(context.Context, *env, []string) error {
			var files fileFlags
			files.register(fs, "to apply")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return fmt.Errorf("unexpected arguments %q: apply takes its objects from -f", args)
				}
				if len(files.files) == 0 {
					return errors.New("must specify -f FILE (a manifest file, a directory, or - for standard input)")
				}
				return e.forEachObject(ctx, files, "applying", func(ctx context.Context, c *client.Client, o manifest.Object, mp client.Mapping, ns string) error {
					result, err := applyObject(ctx, c, e, o.Object, mp, ns)
					if err != nil {
						return err
					}
					fmt.Fprintf(e.Out, "%s/%s %s\n", mp.KindName(), o.Object.GetName(), result)
					return nil
				})
			}
		},
	}
}

// applyObject creates obj or patches the live object towards it and says
// which: "created", "configured" or "unchanged".
func applyObject(ctx context.Context, c *client.Client, e *env, obj *unstructured.Unstructured, mp client.Mapping, ns string) (string, error) {
	if obj.GetName() == "" {
		return "", fmt.Errorf("the %s has no metadata.name; apply needs a name to find the object", obj.GetKind())
	}
	if err := setLastApplied(obj); err != nil {
		return "", err
	}
	modified, err := json.Marshal(obj.Object)
	if err != nil {
		return "", err
	}
	res := c.Dynamic.Resource(mp.Resource).Namespace(ns)
	for attempt := 0; ; attempt++ {
		live, err := res.Get(ctx, obj.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			if _, err := res.Create(ctx, obj, metav1.CreateOptions{FieldManager: fieldManager}); err != nil {
				return "", err
			}
			return "created", nil
		}
		if err != nil {
			return "", err
		}
		original, ok := live.GetAnnotations()[lastAppliedAnnotation]
		if !ok {
			fmt.Fprintf(e.ErrOut, "Warning: resource %s/%s is missing the %s annotation which is required by tug apply. "+
				"tug apply should only be used on resources created declaratively by either tug create --save-config or tug apply. "+
				"The missing annotation will be patched automatically.\n", mp.GroupResource(), obj.GetName(), lastAppliedAnnotation)
		}
		current, err := json.Marshal(live.Object)
		if err != nil {
			return "", err
		}
		patch, patchType, err := threeWayPatch([]byte(original), modified, current, obj)
		if err != nil {
			return "", fmt.Errorf("computing the patch for %s/%s: %w", mp.KindName(), obj.GetName(), err)
		}
		if string(patch) == "{}" {
			return "unchanged", nil
		}
		_, err = res.Patch(ctx, obj.GetName(), patchType, patch, metav1.PatchOptions{FieldManager: fieldManager})
		if apierrors.IsConflict(err) && attempt < applyRetries {
			continue
		}
		if err != nil {
			return "", err
		}
		return "configured", nil
	}
}

// threeWayPatch computes the patch from the live object (current) to the
// manifest (modified) that also removes what the previous apply set and
// the manifest no longer has (original). Kinds with a Go type get a
// strategic merge patch (lists merged by their keys: containers by name,
// ports by containerPort, ...); others a JSON merge patch.
func threeWayPatch(original, modified, current []byte, obj *unstructured.Unstructured) ([]byte, types.PatchType, error) {
	// As kubectl: a patch must never change what identifies the object.
	preconditions := []mergepatch.PreconditionFunc{
		mergepatch.RequireKeyUnchanged("apiVersion"),
		mergepatch.RequireKeyUnchanged("kind"),
		mergepatch.RequireMetadataKeyUnchanged("name"),
	}
	typed, err := scheme.Scheme.New(obj.GroupVersionKind())
	if err == nil {
		meta, err := strategicpatch.NewPatchMetaFromStruct(typed)
		if err != nil {
			return nil, "", err
		}
		patch, err := strategicpatch.CreateThreeWayMergePatch(original, modified, current, meta, true, preconditions...)
		return patch, types.StrategicMergePatchType, err
	}
	patch, err := jsonmergepatch.CreateThreeWayJSONMergePatch(original, modified, current, preconditions...)
	return patch, types.MergePatchType, err
}
