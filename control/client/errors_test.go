package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestUnreachableServer(t *testing.T) {
	server, err := ServerURL(closedPort(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(server, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Mapper(context.Background())
	if !IsUnreachable(err) {
		t.Fatalf("Mapper error = %v, want unreachable", err)
	}
	want := fmt.Sprintf("cannot reach the API server at %s: connection refused (is \"tug server\" or \"tug up\" running? set -s or TUG_SERVER)", server)
	if got := Message(err); got != want {
		t.Fatalf("Message = %q\nwant      %q", got, want)
	}
	_, err = c.ServerVersion(context.Background())
	if got := Message(err); got != want {
		t.Fatalf("ServerVersion Message = %q", got)
	}
	// Requests made directly with the dynamic client are explained too.
	_, err = c.Core.Pods("default").Get(context.Background(), "x", metav1.GetOptions{})
	if got := Message(c.Explain(err)); got != want {
		t.Fatalf("typed client Message = %q", got)
	}
}

func TestMessage(t *testing.T) {
	podsGR := schema.GroupResource{Resource: "pods"}
	rcGK := schema.GroupKind{Kind: "ReplicationController"}
	oneCause := apierrors.NewInvalid(rcGK, "nginxs", field.ErrorList{
		field.Invalid(field.NewPath("spec", "template", "metadata", "labels"), map[string]string{"app": "x"}, "`selector` does not match template `labels`"),
	})
	twoCauses := apierrors.NewInvalid(rcGK, "nginxs", field.ErrorList{
		field.Invalid(field.NewPath("spec", "replicas"), -1, "must be greater than or equal to 0"),
		field.Required(field.NewPath("spec", "template"), ""),
	})
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"not found", apierrors.NewNotFound(podsGR, "x"), `Error from server (NotFound): pods "x" not found`},
		{"already exists", apierrors.NewAlreadyExists(schema.GroupResource{Resource: "replicationcontrollers"}, "nginxs"),
			`Error from server (AlreadyExists): replicationcontrollers "nginxs" already exists`},
		{"wrapped", fmt.Errorf("getting: %w", apierrors.NewNotFound(podsGR, "x")), `Error from server (NotFound): pods "x" not found`},
		{"bad request", apierrors.NewBadRequest("pod x does not have a host assigned"), `Error from server (BadRequest): pod x does not have a host assigned`},
		{"no reason", &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Message: "boom", Code: 500}}, `Error from server: boom`},
		{"unauthorized", apierrors.NewUnauthorized("who are you"), `error: You must be logged in to the server (who are you)`},
		{"invalid one cause", oneCause,
			"The ReplicationController \"nginxs\" is invalid: spec.template.metadata.labels: Invalid value: {\"app\":\"x\"}: `selector` does not match template `labels`"},
		{"invalid two causes", twoCauses,
			"The ReplicationController \"nginxs\" is invalid: \n* spec.replicas: Invalid value: -1: must be greater than or equal to 0\n* spec.template: Required value"},
		{"invalid without details", &apierrors.StatusError{ErrStatus: metav1.Status{Reason: metav1.StatusReasonInvalid, Message: "bad"}}, "The request is invalid: bad"},
		{"plain", errors.New("no objects passed to create"), "error: no objects passed to create"},
		{"already prefixed", errors.New("error: x"), "error: x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Message(tt.err); got != tt.want {
				t.Fatalf("Message = %q\nwant      %q", got, tt.want)
			}
		})
	}
}

func TestWithSource(t *testing.T) {
	err := WithSource("creating", "nginx.yaml", apierrors.NewAlreadyExists(schema.GroupResource{Resource: "replicationcontrollers"}, "nginxs"))
	want := `Error from server (AlreadyExists): error when creating "nginx.yaml": replicationcontrollers "nginxs" already exists`
	if got := Message(err); got != want {
		t.Fatalf("Message = %q, want %q", got, want)
	}
	if !apierrors.IsAlreadyExists(err) {
		t.Fatal("WithSource lost the Status reason")
	}
	invalid := apierrors.NewInvalid(schema.GroupKind{Kind: "Pod"}, "p", field.ErrorList{field.Required(field.NewPath("spec", "containers"), "")})
	if got := Message(WithSource("creating", "p.yaml", invalid)); !strings.HasPrefix(got, `The Pod "p" is invalid: spec.containers: Required value`) {
		t.Fatalf("invalid Message = %q", got)
	}
	if got := Message(WithSource("creating", "x.yaml", errors.New("boom"))); got != `error: error when creating "x.yaml": boom` {
		t.Fatalf("plain Message = %q", got)
	}
}

func TestExplainLeavesOtherErrors(t *testing.T) {
	nf := apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "x")
	if got := Explain("http://h:1", nf); got != error(nf) {
		t.Fatalf("Explain changed a Status error: %v", got)
	}
	plain := errors.New("x")
	if got := Explain("http://h:1", plain); got != plain {
		t.Fatalf("Explain changed a plain error: %v", got)
	}
	if Explain("http://h:1", nil) != nil {
		t.Fatal("Explain(nil) != nil")
	}
}
