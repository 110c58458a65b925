package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/tug-sh/tug/control/client"
)

// metricsCreationDelay is how long kubectl top lets a pod go without
// metrics before it calls that an error rather than "not available yet".
const metricsCreationDelay = 2 * time.Minute

type topFlags struct {
	selector      string
	sortBy        string
	noHeaders     bool
	allNamespaces bool
	containers    bool
}

func topSpec() spec {
	return spec{
		name:    "top",
		summary: "Display resource (CPU/memory) usage of nodes or pods",
		usage:   "top (nodes [NAME] | pods [NAME] [-A] [--containers]) [-l SELECTOR] [--sort-by cpu|memory] [--no-headers]",
		setup: func(fs *pflag.FlagSet) func(context.Context, *env, []string) error {
			f := &topFlags{}
			fs.StringVarP(&f.selector, "selector", "l", "", "label selector (e.g. app=nginx,tier!=db)")
			fs.StringVar(&f.sortBy, "sort-by", "", "sort by cpu or memory (highest first)")
			fs.BoolVar(&f.noHeaders, "no-headers", false, "do not print the column headers")
			fs.BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "pods: across all namespaces")
			fs.BoolVar(&f.containers, "containers", false, "pods: a row per container")
			return f.run
		},
	}
}

func (f *topFlags) run(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return errors.New("you must say what to show: tug top nodes [NAME] or tug top pods [NAME]")
	}
	if f.sortBy != "" && f.sortBy != "cpu" && f.sortBy != "memory" {
		return errors.New("--sort-by accepts only cpu or memory")
	}
	if len(args) > 2 {
		return fmt.Errorf("unexpected arguments %q: tug top %s takes at most one name", args[2:], args[0])
	}
	name := ""
	if len(args) == 2 {
		name = args[1]
	}
	if name != "" && f.selector != "" {
		return errors.New("only one of NAME or --selector can be provided")
	}
	switch args[0] {
	case "nodes", "node", "no":
		if f.allNamespaces || f.containers {
			return errors.New("-A and --containers are for pods: tug top pods -A --containers")
		}
		return f.runNodes(ctx, e, name)
	case "pods", "pod", "po":
		return f.runPods(ctx, e, name)
	}
	return fmt.Errorf("tug top shows nodes or pods, not %q", args[0])
}

// metricsClient connects and checks that the server serves the resource
// metrics API (tug's API server does; Kubernetes with metrics-server).
func (e *env) metricsClient(ctx context.Context) (*client.Client, metricsclient.Interface, error) {
	c, err := e.connect()
	if err != nil {
		return nil, nil, err
	}
	groups, err := c.Discovery.ServerGroupsWithContext(ctx)
	if err != nil {
		return nil, nil, c.Explain(err)
	}
	available := false
	for _, g := range groups.Groups {
		for _, v := range g.Versions {
			available = available || v.GroupVersion == metricsv1beta1.SchemeGroupVersion.String()
		}
	}
	if !available {
		return nil, nil, fmt.Errorf("Metrics API not available: %s does not serve %s (on Kubernetes, install metrics-server)",
			c.Server, metricsv1beta1.SchemeGroupVersion)
	}
	mc, err := metricsclient.NewForConfig(c.Config)
	if err != nil {
		return nil, nil, fmt.Errorf("metrics client for %s: %w", c.Server, err)
	}
	return c, mc, nil
}

// runNodes is `top nodes`, as kubectl top node: the nodes' metrics with
// their share of each node's allocatable.
func (f *topFlags) runNodes(ctx context.Context, e *env, name string) error {
	c, mc, err := e.metricsClient(ctx)
	if err != nil {
		return err
	}
	nm := mc.MetricsV1beta1().NodeMetricses()
	var items []metricsv1beta1.NodeMetrics
	if name != "" {
		m, err := nm.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return c.Explain(err)
		}
		items = []metricsv1beta1.NodeMetrics{*m}
	} else {
		l, err := nm.List(ctx, metav1.ListOptions{LabelSelector: f.selector})
		if err != nil {
			return c.Explain(err)
		}
		items = l.Items
	}
	if len(items) == 0 {
		return errors.New("metrics not available yet")
	}
	var nodes []corev1.Node
	if name != "" {
		n, err := c.Core.Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return c.Explain(err)
		}
		nodes = []corev1.Node{*n}
	} else {
		l, err := c.Core.Nodes().List(ctx, metav1.ListOptions{LabelSelector: f.selector})
		if err != nil {
			return c.Explain(err)
		}
		nodes = l.Items
	}
	allocatable := map[string]corev1.ResourceList{}
	for _, n := range nodes {
		allocatable[n.Name] = n.Status.Allocatable
	}
	return printNodeMetrics(e.Out, items, allocatable, f.noHeaders, f.sortBy)
}

// runPods is `top pods`, as kubectl top pod.
func (f *topFlags) runPods(ctx context.Context, e *env, name string) error {
	c, mc, err := e.metricsClient(ctx)
	if err != nil {
		return err
	}
	ns, _ := e.namespace()
	if f.allNamespaces {
		if name != "" {
			return errors.New("a pod name and -A do not go together: name the pod's namespace with -n")
		}
		ns = metav1.NamespaceAll
	}
	pm := mc.MetricsV1beta1().PodMetricses(ns)
	var items []metricsv1beta1.PodMetrics
	if name != "" {
		m, err := pm.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return c.Explain(err)
		}
		items = []metricsv1beta1.PodMetrics{*m}
	} else {
		l, err := pm.List(ctx, metav1.ListOptions{LabelSelector: f.selector})
		if err != nil {
			return c.Explain(err)
		}
		items = l.Items
	}
	if len(items) == 0 {
		if err := f.whyNoPodMetrics(ctx, e, c, ns); err != nil {
			return err
		}
		if f.allNamespaces {
			fmt.Fprintln(e.ErrOut, "No resources found")
		} else {
			fmt.Fprintf(e.ErrOut, "No resources found in %s namespace.\n", ns)
		}
		return nil
	}
	return printPodMetrics(e.Out, items, f.containers, f.allNamespaces, f.noHeaders, f.sortBy)
}

// whyNoPodMetrics explains an empty answer as kubectl does: nothing when
// there are no such pods, "not available yet" for young pods, and an
// error naming a pod that has gone without metrics for a while.
func (f *topFlags) whyNoPodMetrics(ctx context.Context, e *env, c *client.Client, ns string) error {
	pods, err := c.Core.Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: f.selector})
	if err != nil {
		return c.Explain(err)
	}
	if len(pods.Items) == 0 {
		return nil
	}
	for _, p := range pods.Items {
		if age := e.now().Sub(p.CreationTimestamp.Time); age > metricsCreationDelay {
			return fmt.Errorf("Metrics not available for pod %s/%s, age: %s", p.Namespace, p.Name, age)
		}
	}
	return errors.New("metrics not available yet")
}
