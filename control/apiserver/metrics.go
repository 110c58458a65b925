package apiserver

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics, in a private registry (no
// global state: several servers can live in one process).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	watchers *prometheus.GaugeVec

	// The watch cache's, by resource.
	cacheObjects       *prometheus.GaugeVec
	cacheEvents        *prometheus.GaugeVec
	cacheReceived      *prometheus.CounterVec
	cacheDispatched    *prometheus.CounterVec
	terminatedWatchers *prometheus.CounterVec
	cacheInits         *prometheus.CounterVec
	lists              *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_request_total",
			Help: "Counter of API requests by verb, resource, subresource and HTTP response code.",
		}, []string{"verb", "resource", "subresource", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "apiserver_request_duration_seconds",
			Help:    "Latency of API requests (watches and connections excluded), by verb and resource.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.5, 2, 4, 10, 30, 60},
		}, []string{"verb", "resource"}),
		watchers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_registered_watchers",
			Help: "Number of open watches, by resource.",
		}, []string{"resource"}),
	}
	m.cacheObjects = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "apiserver_watch_cache_objects",
		Help: "Number of objects in the watch cache, by resource.",
	}, []string{"resource"})
	m.cacheEvents = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "apiserver_watch_cache_events",
		Help: "Number of recent events the watch cache holds for resuming watches, by resource.",
	}, []string{"resource"})
	m.cacheReceived = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "apiserver_watch_cache_events_received_total",
		Help: "Changes the watch cache received from etcd (each decoded once), by resource.",
	}, []string{"resource"})
	m.cacheDispatched = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "apiserver_watch_events_total",
		Help: "Events the watch cache queued for watchers, by resource.",
	}, []string{"resource"})
	m.terminatedWatchers = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "apiserver_terminated_watchers_total",
		Help: "Watches ended because they fell too far behind (the client resumes), by resource.",
	}, []string{"resource"})
	m.cacheInits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "apiserver_watch_cache_initializations_total",
		Help: "Times the watch cache was filled from a list of etcd (at start and after a rebuild), by resource.",
	}, []string{"resource"})
	m.lists = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "apiserver_list_source_total",
		Help: "Lists (and initial watch states) by resource and where they were read: the watch cache or etcd.",
	}, []string{"resource", "source"})
	m.reg.MustRegister(m.cacheObjects, m.cacheEvents, m.cacheReceived, m.cacheDispatched, m.terminatedWatchers, m.cacheInits, m.lists)
	m.reg.MustRegister(m.requests, m.duration, m.watchers,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// forCache binds the watch cache metrics of one resource.
func (m *metrics) forCache(resource string) cacheMetrics {
	return cacheMetrics{
		objects:         m.cacheObjects.WithLabelValues(resource),
		events:          m.cacheEvents.WithLabelValues(resource),
		received:        m.cacheReceived.WithLabelValues(resource),
		dispatched:      m.cacheDispatched.WithLabelValues(resource),
		slow:            m.terminatedWatchers.WithLabelValues(resource),
		initializations: m.cacheInits.WithLabelValues(resource),
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// instrument counts and times every request. Routing fills in the verb,
// resource and subresource through the request context.
func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		labels := &requestLabels{}
		sw := &statusWriter{ResponseWriter: w}
		start := time.Now()
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), requestLabelsKey{}, labels)))
		verb := metricVerb(r.Method, labels.verb)
		code := sw.code
		if code == 0 {
			code = http.StatusOK
		}
		m.requests.WithLabelValues(verb, labels.resource, labels.subresource, strconv.Itoa(code)).Inc()
		if labels.verb != verbWatch && labels.verb != verbConnect {
			m.duration.WithLabelValues(verb, labels.resource).Observe(time.Since(start).Seconds())
		}
	})
}

// metricVerb is kube's verb label: the HTTP method, except LIST and WATCH
// for collection reads.
func metricVerb(method, verb string) string {
	switch verb {
	case verbList, verbWatch, verbDeleteCollection, verbConnect:
		return strings.ToUpper(verb)
	}
	return method
}

// statusWriter records the response code. It unwraps for
// http.ResponseController (Flush) and hijacks for upgrades.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hands the connection over (to a proxied upgrade: exec); the
// response is then a protocol switch.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.code == 0 {
		w.code = http.StatusSwitchingProtocols
	}
	return c, rw, err
}
