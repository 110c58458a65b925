package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	"log/slog"
	"net/http"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Errors a Backend returns, wrapped, to choose the HTTP status.
var (
	// ErrNotFound: no such pod or container on this node (404).
	ErrNotFound = errors.New("not found")
	// ErrBadRequest: the request cannot be served in the container's
	// current state, e.g. it has not started (400).
	ErrBadRequest = errors.New("bad request")
)

// LogSource locates a container's log.
type LogSource struct {
	// Dir holds the log instances (runtime/logs layout).
	Dir string
	// Done is closed once the newest instance's output is complete (the
	// instance ended): a following reader then stops. Nil means never.
	Done <-chan struct{}
}

// TerminalSize is a terminal's size in characters.
type TerminalSize struct{ Width, Height uint16 }

// ExecRequest is a command to run in a container.
type ExecRequest struct {
	Command []string
	TTY     bool
	// Stdin, Stdout and Stderr are nil when not requested.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Resize <-chan TerminalSize
}

// Backend is what the server serves from.
type Backend interface {
	// ContainerLog locates the log of a container of a pod.
	ContainerLog(namespace, pod, container string) (LogSource, error)
	// Exec runs req in the container and returns its exit code.
	Exec(ctx context.Context, namespace, pod, container string, req ExecRequest) (int, error)
	// Summary returns the node's and its pods' statistics.
	Summary(ctx context.Context) (*statsapi.Summary, error)
	// Healthy reports a problem that makes the agent unhealthy.
	Healthy() error
}

// Handler returns the agent's HTTP handler.
func Handler(b Backend, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &server{b: b, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", s.serveLogs)
	mux.HandleFunc("GET /exec/{namespace}/{pod}/{container}", s.serveExec)
	mux.HandleFunc("POST /exec/{namespace}/{pod}/{container}", s.serveExec)
	mux.HandleFunc("GET /stats/summary", s.serveSummary)
	mux.HandleFunc("GET /healthz", s.serveHealthz)
	return mux
}

type server struct {
	b   Backend
	log *slog.Logger
}

// writeStatus answers an error as a metav1.Status.
func writeStatus(w http.ResponseWriter, code int, message string) {
	reason := metav1.StatusReasonBadRequest
	switch code {
	case http.StatusNotFound:
		reason = metav1.StatusReasonNotFound
	case http.StatusInternalServerError:
		reason = metav1.StatusReasonInternalError
	}
	st := metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure,
		Message:  message,
		Reason:   reason,
		Code:     int32(code),
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(st)
}

// writeError maps a Backend error to a status code.
func writeError(w http.ResponseWriter, err error) {
	msg := err.Error()
	switch {
	case errors.Is(err, ErrNotFound):
		writeStatus(w, http.StatusNotFound, trimSentinel(msg, ErrNotFound))
	case errors.Is(err, ErrBadRequest):
		writeStatus(w, http.StatusBadRequest, trimSentinel(msg, ErrBadRequest))
	default:
		writeStatus(w, http.StatusInternalServerError, msg)
	}
}

// trimSentinel drops a trailing ": not found" style suffix a wrapped
// sentinel adds to a message meant for users.
func trimSentinel(msg string, sentinel error) string {
	return strings.TrimSuffix(msg, ": "+sentinel.Error())
}

func (s *server) serveHealthz(w http.ResponseWriter, r *http.Request) {
	if err := s.b.Healthy(); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = io.WriteString(w, "ok")
}

func (s *server) serveSummary(w http.ResponseWriter, r *http.Request) {
	sum, err := s.b.Summary(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(sum)
}
