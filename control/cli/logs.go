package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tug-sh/tug/control/client"
)

// defaultContainerAnnotation names a pod's default container for logs and
// exec, as kubectl reads it.
const defaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

type logsFlags struct {
	container  string
	follow     bool
	tail       int64
	timestamps bool
	previous   bool
	since      time.Duration
	sinceTime  string
	limitBytes int64
}

func logsSpec() spec {
	return spec{
		name:    "logs",
		summary: "Print the logs of a container in a pod",
		usage:   "logs (POD | TYPE/NAME) [CONTAINER] [-c CONTAINER] [-f] [--tail N] [--timestamps] [--previous] [--since D] [--since-time T] [--limit-bytes N]",
		setup: func(fs *pflag.FlagSet) func(context.Context, *env, []string) error {
			l := &logsFlags{}
			fs.StringVarP(&l.container, "container", "c", "", "the container (default: the pod's only or default container)")
			fs.BoolVarP(&l.follow, "follow", "f", false, "stream the logs as they are written")
			fs.Int64Var(&l.tail, "tail", -1, "only the last N lines (-1: all)")
			fs.BoolVar(&l.timestamps, "timestamps", false, "prefix each line with its RFC3339 timestamp")
			fs.BoolVarP(&l.previous, "previous", "p", false, "the logs of the previous instance of the container (before its last restart)")
			fs.DurationVar(&l.since, "since", 0, "only logs newer than this duration (e.g. 5s, 2m, 3h)")
			fs.StringVar(&l.sinceTime, "since-time", "", "only logs after this RFC3339 time")
			fs.Int64Var(&l.limitBytes, "limit-bytes", 0, "stop after this many bytes (0: no limit)")
			return l.run
		},
	}
}

// podLogOptions turns the flags into the pods/log query.
func (l *logsFlags) podLogOptions(container string) (*corev1.PodLogOptions, error) {
	opts := &corev1.PodLogOptions{Container: container, Follow: l.follow, Timestamps: l.timestamps, Previous: l.previous}
	if l.since != 0 && l.sinceTime != "" {
		return nil, errors.New("at most one of --since and --since-time may be given")
	}
	if l.since < 0 {
		return nil, errors.New("--since must be positive")
	}
	if l.since > 0 {
		secs := int64((l.since + time.Second - 1) / time.Second)
		opts.SinceSeconds = &secs
	}
	if l.sinceTime != "" {
		t, err := time.Parse(time.RFC3339, l.sinceTime)
		if err != nil {
			return nil, fmt.Errorf("--since-time must be an RFC3339 time such as 2015-07-08T10:00:00Z: %w", err)
		}
		mt := metav1.NewTime(t)
		opts.SinceTime = &mt
	}
	if l.tail >= 0 {
		opts.TailLines = &l.tail
	}
	if l.limitBytes < 0 {
		return nil, errors.New("--limit-bytes must be positive")
	}
	if l.limitBytes > 0 {
		opts.LimitBytes = &l.limitBytes
	}
	return opts, nil
}

func (l *logsFlags) run(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || len(args) > 2 {
		return errors.New("expected a pod (or TYPE/NAME) and at most one container: tug logs POD [-c CONTAINER]")
	}
	if len(args) == 2 {
		if l.container != "" {
			return errors.New("give the container either as an argument or with -c, not both")
		}
		l.container = args[1]
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	ns, _ := e.namespace()
	pod, err := findPod(ctx, e, c, args[0], ns)
	if err != nil {
		return err
	}
	container, err := pickContainer(pod, l.container, e.ErrOut)
	if err != nil {
		return err
	}
	opts, err := l.podLogOptions(container)
	if err != nil {
		return err
	}
	stream, err := c.Core.Pods(pod.Namespace).GetLogs(pod.Name, opts).Stream(ctx)
	if err != nil {
		return c.Explain(err)
	}
	defer stream.Close()
	if _, err := io.Copy(e.Out, stream); err != nil && ctx.Err() == nil {
		return fmt.Errorf("reading the logs of pod %q: %w", pod.Name, err)
	}
	return nil
}

// findPod resolves a pod argument: a pod name, pod/NAME, or TYPE/NAME of a
// replication controller or service, whose pods are chosen from like
// kubectl does (scheduled, running and ready first, then the oldest).
func findPod(ctx context.Context, e *env, c *client.Client, arg, ns string) (*corev1.Pod, error) {
	typ, name, typed := strings.Cut(arg, "/")
	if !typed {
		pod, err := c.Core.Pods(ns).Get(ctx, arg, metav1.GetOptions{})
		return pod, c.Explain(err)
	}
	m, err := c.Mapper(ctx)
	if err != nil {
		return nil, err
	}
	mp, err := m.ResourceFor(typ)
	if err != nil {
		return nil, err
	}
	var selector map[string]string
	switch {
	case mp.Resource.Group == "" && mp.Resource.Resource == "pods":
		pod, err := c.Core.Pods(ns).Get(ctx, name, metav1.GetOptions{})
		return pod, c.Explain(err)
	case mp.Resource.Group == "" && mp.Resource.Resource == "replicationcontrollers":
		rc, err := c.Core.ReplicationControllers(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, c.Explain(err)
		}
		selector = rc.Spec.Selector
	case mp.Resource.Group == "" && mp.Resource.Resource == "services":
		svc, err := c.Core.Services(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, c.Explain(err)
		}
		selector = svc.Spec.Selector
	default:
		return nil, fmt.Errorf("cannot pick a pod of %s %q: only pods, replicationcontrollers and services have pods", mp.GroupResource(), name)
	}
	if len(selector) == 0 {
		return nil, fmt.Errorf("%s %q has no selector, so it has no pods", mp.KindName(), name)
	}
	pods, err := c.Core.Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(selector).String()})
	if err != nil {
		return nil, c.Explain(err)
	}
	if len(pods.Items) == 0 {
		return nil, fmt.Errorf("no pods of %s/%s found", mp.KindName(), name)
	}
	sort.SliceStable(pods.Items, func(i, j int) bool { return betterForLogs(&pods.Items[i], &pods.Items[j]) })
	chosen := &pods.Items[0]
	if len(pods.Items) > 1 {
		fmt.Fprintf(e.ErrOut, "Found %d pods, using pod/%s\n", len(pods.Items), chosen.Name)
	}
	return chosen, nil
}

// betterForLogs orders pods the way kubectl picks one: scheduled before
// unscheduled, running before pending, ready before not, then the oldest.
func betterForLogs(a, b *corev1.Pod) bool {
	if (a.Spec.NodeName != "") != (b.Spec.NodeName != "") {
		return a.Spec.NodeName != ""
	}
	if ar, br := a.Status.Phase == corev1.PodRunning, b.Status.Phase == corev1.PodRunning; ar != br {
		return ar
	}
	if ar, br := podReady(a), podReady(b); ar != br {
		return ar
	}
	return a.CreationTimestamp.Before(&b.CreationTimestamp)
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// pickContainer chooses the container for logs and exec: the one asked
// for, else the pod's default-container annotation, else its first
// container, saying so when the pod has several (as kubectl does).
func pickContainer(pod *corev1.Pod, name string, errOut io.Writer) (string, error) {
	if name != "" {
		return name, nil
	}
	if len(pod.Spec.Containers) == 0 {
		return "", fmt.Errorf("pod %q has no containers", pod.Name)
	}
	if def := pod.Annotations[defaultContainerAnnotation]; def != "" {
		for _, c := range pod.Spec.Containers {
			if c.Name == def {
				return def, nil
			}
		}
		fmt.Fprintf(errOut, "Default container name %q not found in pod %s\n", def, pod.Name)
	}
	chosen := pod.Spec.Containers[0].Name
	total := len(pod.Spec.Containers) + len(pod.Spec.InitContainers) + len(pod.Spec.EphemeralContainers)
	if total > 1 {
		var names []string
		for _, c := range pod.Spec.Containers {
			names = append(names, c.Name)
		}
		for _, c := range pod.Spec.InitContainers {
			names = append(names, c.Name+" (init)")
		}
		for _, c := range pod.Spec.EphemeralContainers {
			names = append(names, c.Name+" (ephem)")
		}
		fmt.Fprintf(errOut, "Defaulted container %q out of: %s\n", chosen, strings.Join(names, ", "))
	}
	return chosen, nil
}
