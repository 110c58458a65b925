package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tug-sh/tug/runtime/logs"
)

// logQuery parses the kubelet's containerLogs query parameters.
func logQuery(q url.Values) (logs.ReadOptions, error) {
	var opts logs.ReadOptions
	var err error
	boolean := func(name string) bool {
		if err != nil {
			return false
		}
		v := q.Get(name)
		if v == "" {
			return false
		}
		b, perr := strconv.ParseBool(v)
		if perr != nil {
			err = fmt.Errorf("%s=%q is not a boolean", name, v)
		}
		return b
	}
	integer := func(name string, min int64) (int64, bool) {
		v := q.Get(name)
		if err != nil || v == "" {
			return 0, false
		}
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil || n < min {
			err = fmt.Errorf("%s=%q must be an integer of at least %d", name, v, min)
			return 0, false
		}
		return n, true
	}
	opts.Follow = boolean("follow")
	opts.Timestamps = boolean("timestamps")
	opts.Previous = boolean("previous")
	if n, ok := integer("tailLines", 0); ok {
		opts.TailLines = &n
	}
	if n, ok := integer("limitBytes", 1); ok {
		opts.LimitBytes = n
	}
	if n, ok := integer("sinceSeconds", 1); ok {
		opts.SinceSeconds = n
	}
	if v := q.Get("sinceTime"); v != "" && err == nil {
		t, perr := time.Parse(time.RFC3339, v)
		if perr != nil {
			err = fmt.Errorf("sinceTime=%q is not an RFC 3339 time", v)
		}
		opts.SinceTime = t
	}
	if err == nil && opts.SinceSeconds > 0 && !opts.SinceTime.IsZero() {
		err = errors.New("at most one of sinceTime or sinceSeconds may be specified")
	}
	return opts, err
}

func (s *server) serveLogs(w http.ResponseWriter, r *http.Request) {
	ns, pod, ctr := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	opts, err := logQuery(r.URL.Query())
	if err != nil {
		writeStatus(w, http.StatusBadRequest, err.Error())
		return
	}
	src, err := s.b.ContainerLog(ns, pod, ctr)
	if err != nil {
		writeError(w, err)
		return
	}
	if opts.Follow && !opts.Previous {
		opts.StopFollowing = src.Done
	} else {
		opts.Follow = false
	}
	// Resolve the instance first so that a missing log is an error
	// status, not an empty 200.
	path, err := logs.ResolveInstance(src.Dir, opts.Previous)
	if err != nil {
		if opts.Previous {
			writeStatus(w, http.StatusBadRequest, fmt.Sprintf("previous terminated container %q in pod %q not found", ctr, pod))
		} else {
			writeStatus(w, http.StatusBadRequest, fmt.Sprintf("container %q in pod %q has no log yet", ctr, pod))
		}
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	out := &flushWriter{w: w}
	if f, ok := w.(http.Flusher); ok && opts.Follow {
		out.flush = f.Flush
		w.WriteHeader(http.StatusOK)
		f.Flush()
	}
	if err := logs.ReadFile(r.Context(), path, opts, out); err != nil && r.Context().Err() == nil {
		s.log.Warn("reading container log failed", "pod", ns+"/"+pod, "container", ctr, "err", err)
		if !out.wrote {
			writeError(w, err)
		}
	}
}

// flushWriter flushes after every write when following, so each log line
// reaches the client at once.
type flushWriter struct {
	w     http.ResponseWriter
	flush func()
	wrote bool
}

func (f *flushWriter) Write(p []byte) (int, error) {
	f.wrote = true
	n, err := f.w.Write(p)
	if f.flush != nil {
		f.flush()
	}
	return n, err
}
