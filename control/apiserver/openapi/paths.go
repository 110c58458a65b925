package openapi

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// pathItem is a Swagger 2.0 Path Item: the operations on one URL.
type pathItem struct {
	Get        *operation  `json:"get,omitempty"`
	Put        *operation  `json:"put,omitempty"`
	Post       *operation  `json:"post,omitempty"`
	Delete     *operation  `json:"delete,omitempty"`
	Patch      *operation  `json:"patch,omitempty"`
	Parameters []parameter `json:"parameters,omitempty"`
}

func (p *pathItem) slot(method string) **operation {
	switch method {
	case "GET":
		return &p.Get
	case "PUT":
		return &p.Put
	case "POST":
		return &p.Post
	case "DELETE":
		return &p.Delete
	case "PATCH":
		return &p.Patch
	}
	panic("openapi: unexpected method " + method)
}

type operation struct {
	Description string              `json:"description,omitempty"`
	Consumes    []string            `json:"consumes,omitempty"`
	Produces    []string            `json:"produces,omitempty"`
	Tags        []string            `json:"tags,omitempty"`
	OperationID string              `json:"operationId"`
	Parameters  []parameter         `json:"parameters,omitempty"`
	Responses   map[string]response `json:"responses"`
	// Action and GVK are how clients find the operations of a kind.
	Action string `json:"x-kubernetes-action"`
	GVK    gvk    `json:"x-kubernetes-group-version-kind"`
}

type parameter struct {
	Name        string  `json:"name"`
	In          string  `json:"in"`
	Description string  `json:"description,omitempty"`
	Required    bool    `json:"required,omitempty"`
	Type        string  `json:"type,omitempty"`
	UniqueItems bool    `json:"uniqueItems,omitempty"`
	Schema      *schema `json:"schema,omitempty"`
}

type response struct {
	Description string  `json:"description"`
	Schema      *schema `json:"schema,omitempty"`
}

func query(name, typ, desc string) parameter {
	return parameter{Name: name, In: "query", Type: typ, UniqueItems: true, Description: desc}
}

func body(ref *schema, required bool) parameter {
	return parameter{Name: "body", In: "body", Required: required, Schema: ref}
}

// The query parameters of each action, as the API documents them.
var (
	pathParams = map[string]parameter{
		"namespace": {Name: "namespace", In: "path", Required: true, Type: "string", UniqueItems: true, Description: "object name and auth scope, such as for teams and projects"},
		"name":      {Name: "name", In: "path", Required: true, Type: "string", UniqueItems: true, Description: "name of the object"},
	}
	pretty     = query("pretty", "string", "If 'true', then the output is pretty printed.")
	listParams = []parameter{
		query("allowWatchBookmarks", "boolean", "Request watch events with type BOOKMARK."),
		query("continue", "string", "The continue token of a previous list call with a limit."),
		query("fieldSelector", "string", "Restrict the returned objects by their fields."),
		query("labelSelector", "string", "Restrict the returned objects by their labels."),
		query("limit", "integer", "Maximum number of objects to return; the response carries a continue token when there are more."),
		query("resourceVersion", "string", "The resource version to list or watch from."),
		query("resourceVersionMatch", "string", "How resourceVersion applies to a list: Exact or NotOlderThan."),
		query("sendInitialEvents", "boolean", "With watch, start with synthetic ADDED events for the current state."),
		query("timeoutSeconds", "integer", "Timeout for the list or watch call."),
		query("watch", "boolean", "Watch for changes and return them as a stream of add, update and remove notifications."),
	}
	// deleteCollectionParams select what a deletecollection deletes.
	deleteCollectionParams = slices.DeleteFunc(slices.Clone(listParams), func(p parameter) bool {
		return p.Name == "allowWatchBookmarks" || p.Name == "sendInitialEvents" || p.Name == "watch"
	})
	writeParams = []parameter{
		query("dryRun", "string", "When present (All), the modification is not persisted."),
		query("fieldManager", "string", "The name of the actor making the change."),
	}
	fieldValidation = query("fieldValidation", "string", "How unknown or duplicate fields are handled: Ignore, Warn or Strict.")
	deleteParams    = []parameter{
		query("dryRun", "string", "When present (All), the deletion is not persisted."),
		query("gracePeriodSeconds", "integer", "Seconds before the object should be deleted."),
		query("orphanDependents", "boolean", "Deprecated: use propagationPolicy."),
		query("propagationPolicy", "string", "Whether and how garbage collection is performed: Orphan, Background or Foreground."),
	}
	jsonOnly   = []string{"application/json"}
	listOutput = []string{"application/json", "application/json;stream=watch"}
	anyInput   = []string{"*/*"}
	patchInput = []string{
		"application/json-patch+json",
		"application/merge-patch+json",
		"application/strategic-merge-patch+json",
		"application/apply-patch+yaml",
	}
	unauthorized = response{Description: "Unauthorized"}
)

// refs are the definitions operations point at.
type refs struct {
	object, list, status, deleteOptions, watchEvent, patch *schema
}

// paths adds the operations of k under its URLs. Names follow the
// Kubernetes API (listCoreV1NamespacedPod, /api/v1/namespaces/{namespace}/pods),
// so documentation and clients find what they expect.
func (b *builder) paths(k *resolvedKind, r refs) error {
	ns := ""
	nsInfix := ""
	if k.Namespaced {
		ns = "namespaces/{namespace}/"
		nsInfix = "Namespaced"
	}
	gv := gvName(k.pathGroup, k.pathVer)
	tag := strings.NewReplacer(".", "_", "-", "_").Replace(k.pathGroup)
	if tag == "" {
		tag = "core"
	}
	tag += "_" + k.pathVer
	kindName := b.parentKind(k) + upperFirst(k.sub)
	collection := k.prefix + "/" + ns + k.parent
	item := collection + "/{name}"
	if k.sub != "" {
		item += "/" + k.sub
	}
	add := func(path, method, verb, opID string, op operation) error {
		op.Tags = []string{tag}
		op.OperationID = verb + gv + opID
		op.GVK = k.gvk()
		op.Responses["401"] = unauthorized
		return b.addOperation(path, method, &op)
	}
	ok := func(s *schema) map[string]response { return map[string]response{"200": {Description: "OK", Schema: s}} }

	var errs []error
	if k.has("list") {
		errs = append(errs, add(collection, "GET", "list", nsInfix+kindName, operation{
			Description: "list or watch objects of kind " + k.Kind.Kind, Consumes: anyInput, Produces: listOutput,
			Parameters: listParams, Responses: ok(r.list), Action: "list",
		}))
		if k.Namespaced {
			errs = append(errs, add(k.prefix+"/"+k.parent, "GET", "list", kindName+"ForAllNamespaces", operation{
				Description: "list or watch objects of kind " + k.Kind.Kind + " in all namespaces", Consumes: anyInput, Produces: listOutput,
				Parameters: listParams, Responses: ok(r.list), Action: "list",
			}))
		}
	}
	if k.has("watch") {
		watchRoot := k.prefix + "/watch/"
		errs = append(errs,
			add(watchRoot+ns+k.parent, "GET", "watch", nsInfix+kindName+"List", operation{
				Description: "deprecated: use the 'watch' parameter with a list operation instead", Consumes: anyInput, Produces: listOutput,
				Parameters: listParams, Responses: ok(r.watchEvent), Action: "watchlist",
			}),
			add(watchRoot+ns+k.parent+"/{name}", "GET", "watch", nsInfix+kindName, operation{
				Description: "deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter", Consumes: anyInput, Produces: listOutput,
				Parameters: listParams, Responses: ok(r.watchEvent), Action: "watch",
			}))
		if k.Namespaced {
			errs = append(errs, add(watchRoot+k.parent, "GET", "watch", kindName+"ListForAllNamespaces", operation{
				Description: "deprecated: use the 'watch' parameter with a list operation instead", Consumes: anyInput, Produces: listOutput,
				Parameters: listParams, Responses: ok(r.watchEvent), Action: "watchlist",
			}))
		}
	}
	if k.has("create") {
		path := collection
		if k.sub != "" {
			path = item // pods/{name}/binding
		}
		errs = append(errs, add(path, "POST", "create", nsInfix+kindName, operation{
			Description: "create " + article(k.Kind.Kind), Consumes: anyInput, Produces: jsonOnly,
			Parameters: b.writeParams(body(r.object, true)),
			Responses: map[string]response{
				"200": {Description: "OK", Schema: r.object},
				"201": {Description: "Created", Schema: r.object},
				"202": {Description: "Accepted", Schema: r.object},
			},
			Action: "post",
		}))
	}
	if k.has("deletecollection") {
		errs = append(errs, add(collection, "DELETE", "delete", "Collection"+nsInfix+kindName, operation{
			Description: "delete a collection of " + k.Kind.Kind, Consumes: anyInput, Produces: jsonOnly,
			Parameters: append(append([]parameter{body(r.deleteOptions, false)}, deleteParams...), deleteCollectionParams...),
			Responses:  ok(r.status), Action: "deletecollection",
		}))
	}
	if k.has("get") {
		errs = append(errs, add(item, "GET", "read", nsInfix+kindName, operation{
			Description: "read the specified " + k.Kind.Kind, Consumes: anyInput, Produces: jsonOnly,
			Responses: ok(r.object), Action: "get",
		}))
	}
	if k.has("update") {
		errs = append(errs, add(item, "PUT", "replace", nsInfix+kindName, operation{
			Description: "replace the specified " + k.Kind.Kind, Consumes: anyInput, Produces: jsonOnly,
			Parameters: b.writeParams(body(r.object, true)),
			Responses: map[string]response{
				"200": {Description: "OK", Schema: r.object},
				"201": {Description: "Created", Schema: r.object},
			},
			Action: "put",
		}))
	}
	if k.has("patch") {
		errs = append(errs, add(item, "PATCH", "patch", nsInfix+kindName, operation{
			Description: "partially update the specified " + k.Kind.Kind, Consumes: patchInput, Produces: jsonOnly,
			Parameters: append(b.writeParams(body(r.patch, true)),
				query("force", "boolean", "Force an apply request to take over conflicting fields.")),
			Responses: map[string]response{
				"200": {Description: "OK", Schema: r.object},
				"201": {Description: "Created", Schema: r.object},
			},
			Action: "patch",
		}))
	}
	if k.has("delete") {
		errs = append(errs, add(item, "DELETE", "delete", nsInfix+kindName, operation{
			Description: "delete " + article(k.Kind.Kind), Consumes: anyInput, Produces: jsonOnly,
			Parameters: append([]parameter{body(r.deleteOptions, false)}, deleteParams...),
			Responses: map[string]response{
				"200": {Description: "OK", Schema: r.object},
				"202": {Description: "Accepted", Schema: r.object},
			},
			Action: "delete",
		}))
	}
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("kind %s, resource %s: %w", k.Kind.Kind, k.Resource, err)
		}
	}
	return nil
}

// writeParams are the parameters of create, update and patch. The
// fieldValidation parameter is only documented when the server enforces
// it: kubectl (1.24+) checks for it and, when present, leaves validation
// to the server instead of validating against this document.
func (b *builder) writeParams(body parameter) []parameter {
	ps := append([]parameter{body}, writeParams...)
	if b.opts.serverFieldValidation {
		ps = append(ps, fieldValidation)
	}
	return ps
}

// addOperation places op at path, with the path's own parameters.
func (b *builder) addOperation(path, method string, op *operation) error {
	p := b.doc.Paths[path]
	if p == nil {
		p = &pathItem{}
		for _, name := range []string{"name", "namespace"} {
			if strings.Contains(path, "{"+name+"}") {
				p.Parameters = append(p.Parameters, pathParams[name])
			}
		}
		p.Parameters = append(p.Parameters, pretty)
		b.doc.Paths[path] = p
	}
	slot := p.slot(method)
	if *slot != nil {
		return fmt.Errorf("%s %s is defined twice (operations %s and %s)", method, path, (*slot).OperationID, op.OperationID)
	}
	if other, dup := b.opIDs[op.OperationID]; dup {
		return fmt.Errorf("operation id %s of %s %s is already used by %s", op.OperationID, method, path, other)
	}
	b.opIDs[op.OperationID] = method + " " + path
	*slot = op
	return nil
}

// parentKind is the kind of the resource a subresource belongs to
// (ReplicationController for replicationcontrollers/scale), for names.
func (b *builder) parentKind(k *resolvedKind) string {
	if k.sub == "" {
		return k.Kind.Kind
	}
	for _, o := range b.kinds {
		if o.sub == "" && o.parent == k.parent && o.prefix == k.prefix {
			return o.Kind.Kind
		}
	}
	return upperFirst(k.parent)
}

// gvName is the group-version part of operation ids: CoreV1,
// AutoscalingV1, NetworkingV1 (networking.k8s.io), RbacAuthorizationV1.
func gvName(group, version string) string {
	if group == "" {
		return "Core" + upperFirst(version)
	}
	var sb strings.Builder
	for part := range strings.SplitSeq(strings.TrimSuffix(group, ".k8s.io"), ".") {
		for word := range strings.SplitSeq(part, "-") {
			sb.WriteString(upperFirst(word))
		}
	}
	return sb.String() + upperFirst(version)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

func article(kind string) string {
	if kind != "" && strings.ContainsRune("AEIOU", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}
