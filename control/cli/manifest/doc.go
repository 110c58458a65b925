// Package manifest reads the API objects of manifests given to `tug create
// -f`, `apply -f`, `describe -f`, `delete -f` and `scale -f`: files,
// directories and standard input; multi-document YAML and streams of JSON
// objects; lists flattened into their items.
//
// Every problem names the file and the line of the document it is in
// ("nginx.yaml: line 7: mapping values are not allowed in this context"),
// and one bad document never hides the good ones: Decode and Read return
// what they could decode together with the joined errors of the rest.
// Objects always carry apiVersion and kind; which resource serves them is
// the API server's business (control/client's Mapper).
package manifest
