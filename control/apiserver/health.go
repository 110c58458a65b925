package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// readyTimeout bounds the store check of /readyz.
const readyTimeout = 3 * time.Second

// serveLive answers /healthz and /livez: the process serves HTTP.
func (s *Server) serveLive(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, "ok")
}

// serveReady answers /readyz: the store answers within readyTimeout.
func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if _, err := s.store.Revision(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "[-]etcd failed: %v\nreadyz check failed\n", err)
		return
	}
	if _, verbose := r.URL.Query()["verbose"]; verbose {
		fmt.Fprint(w, "[+]etcd ok\nreadyz check passed\n")
		return
	}
	fmt.Fprint(w, "ok")
}
