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

// serveReady answers /readyz: the store answers within readyTimeout and,
// once Run runs them, every watch cache is filled.
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
	if res := s.unreadyCache(); res != "" {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "[+]etcd ok\n[-]watch-cache failed: the watch cache of %s is not filled yet\nreadyz check failed\n", res)
		return
	}
	if _, verbose := r.URL.Query()["verbose"]; verbose {
		fmt.Fprint(w, "[+]etcd ok\n")
		if s.cachesRunning.Load() {
			fmt.Fprint(w, "[+]watch-cache ok\n")
		}
		fmt.Fprint(w, "readyz check passed\n")
		return
	}
	fmt.Fprint(w, "ok")
}

// unreadyCache names a resource whose watch cache Run started but that is
// not serving yet ("" when there is none).
func (s *Server) unreadyCache() string {
	if !s.cachesRunning.Load() {
		return ""
	}
	for _, res := range s.ordered {
		if c := s.caches[res.Name]; c != nil && !c.isReady() {
			return res.Name
		}
	}
	return ""
}
