package registry

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
)

// The seed manifests: what users try first.
const (
	nginxRC = `
apiVersion: v1
kind: ReplicationController
metadata:
  name: nginxs
spec:
  replicas: 10
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx-single
        image: ruo91/nginx:latest
        ports:
        - containerPort: 80
`
	kubeSystemNS = `
apiVersion: v1
kind: Namespace
metadata:
  name: kube-system
`
	kubeUIRC = `
apiVersion: v1
kind: ReplicationController
metadata:
  name: kube-ui-v3
  namespace: kube-system
  labels:
    k8s-app: kube-ui
    version: v3
    kubernetes.io/cluster-service: "true"
spec:
  replicas: 1
  selector:
    k8s-app: kube-ui
    version: v3
  template:
    metadata:
      labels:
        k8s-app: kube-ui
        version: v3
        kubernetes.io/cluster-service: "true"
    spec:
      containers:
      - name: kube-ui
        image: gcr.io/google_containers/kube-ui:v3
        resources:
          limits:
            cpu: 100m
            memory: 50Mi
        ports:
        - containerPort: 8080
        livenessProbe:
          httpGet:
            path: /
            port: 8080
          initialDelaySeconds: 30
          timeoutSeconds: 5
`
	kubeUISvc = `
apiVersion: v1
kind: Service
metadata:
  name: kube-ui
  namespace: kube-system
  labels:
    k8s-app: kube-ui
    kubernetes.io/cluster-service: "true"
    kubernetes.io/name: "KubeUI"
spec:
  selector:
    k8s-app: kube-ui
  ports:
  - port: 80
    targetPort: 8080
`
)

// The pod spec defaults every template and pod gets.
const defaultedPodSpecFields = `
  restartPolicy: Always
  dnsPolicy: ClusterFirst
  terminationGracePeriodSeconds: 30
  schedulerName: default-scheduler
  securityContext: {}
`

func TestSeedNginxRC(t *testing.T) {
	var rc corev1.ReplicationController
	decode(t, nginxRC, &rc)
	mustValid(t, create(t, "replicationcontrollers", &rc))

	var want corev1.ReplicationControllerSpec
	decode(t, `
replicas: 10
selector:
  app: nginx
template:
  metadata:
    labels:
      app: nginx
  spec:
    containers:
    - name: nginx-single
      image: ruo91/nginx:latest
      imagePullPolicy: Always
      terminationMessagePath: /dev/termination-log
      terminationMessagePolicy: File
      ports:
      - containerPort: 80
        protocol: TCP
`+indent(defaultedPodSpecFields, "  "), &want)
	if !equality.Semantic.DeepEqual(rc.Spec, want) {
		t.Errorf("defaulted spec:\n%s\nwant:\n%s", toYAML(t, rc.Spec), toYAML(t, want))
	}
	if rc.Labels["app"] != "nginx" || len(rc.Labels) != 1 {
		t.Errorf("labels = %v, want the template's", rc.Labels)
	}
	// The defaulted maps are copies: changing the selector must not change
	// the template.
	rc.Spec.Selector["app"] = "other"
	if rc.Spec.Template.Labels["app"] != "nginx" || rc.Labels["app"] != "nginx" {
		t.Error("selector and labels share the template's map")
	}
	if !equality.Semantic.DeepEqual(rc.Status, corev1.ReplicationControllerStatus{}) {
		t.Errorf("status = %+v, want empty", rc.Status)
	}
}

func TestSeedKubeUI(t *testing.T) {
	var ns corev1.Namespace
	decode(t, kubeSystemNS, &ns)
	mustValid(t, create(t, "namespaces", &ns))
	if len(ns.Spec.Finalizers) != 1 || ns.Spec.Finalizers[0] != corev1.FinalizerKubernetes ||
		ns.Status.Phase != corev1.NamespaceActive || ns.Labels[LabelMetadataName] != "kube-system" {
		t.Errorf("namespace after create: %s", toYAML(t, &ns))
	}

	var rc corev1.ReplicationController
	decode(t, kubeUIRC, &rc)
	mustValid(t, create(t, "replicationcontrollers", &rc))
	c := rc.Spec.Template.Spec.Containers[0]
	var wantProbe corev1.Probe
	decode(t, `
httpGet: {path: /, port: 8080, scheme: HTTP}
initialDelaySeconds: 30
timeoutSeconds: 5
periodSeconds: 10
successThreshold: 1
failureThreshold: 3
`, &wantProbe)
	if !equality.Semantic.DeepEqual(*c.LivenessProbe, wantProbe) {
		t.Errorf("probe:\n%s\nwant:\n%s", toYAML(t, c.LivenessProbe), toYAML(t, wantProbe))
	}
	if c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("imagePullPolicy = %s, want IfNotPresent for tag v3", c.ImagePullPolicy)
	}
	// Templates keep requests as written; pods get them from limits.
	if c.Resources.Requests != nil {
		t.Errorf("template requests defaulted: %v", c.Resources.Requests)
	}
	if len(rc.Labels) != 3 {
		t.Errorf("explicit RC labels replaced: %v", rc.Labels)
	}

	// A pod made from the template, as the replication controller does.
	pod := corev1.Pod{ObjectMeta: *rc.Spec.Template.ObjectMeta.DeepCopy(), Spec: *rc.Spec.Template.Spec.DeepCopy()}
	pod.GenerateName, pod.Name, pod.Namespace = "kube-ui-v3-", "kube-ui-v3-abcde", "kube-system"
	mustValid(t, create(t, "pods", &pod))
	req := pod.Spec.Containers[0].Resources.Requests
	if !req.Cpu().Equal(resource.MustParse("100m")) || !req.Memory().Equal(resource.MustParse("50Mi")) {
		t.Errorf("pod requests = %v, want the limits", req)
	}
	if pod.Status.QOSClass != corev1.PodQOSGuaranteed || pod.Status.Phase != corev1.PodPending {
		t.Errorf("pod status = %+v, want Pending Guaranteed", pod.Status)
	}
	if pod.Spec.EnableServiceLinks == nil || !*pod.Spec.EnableServiceLinks {
		t.Error("enableServiceLinks not defaulted to true")
	}

	var svc corev1.Service
	decode(t, kubeUISvc, &svc)
	mustValid(t, create(t, "services", &svc))
	var want corev1.ServiceSpec
	decode(t, `
selector:
  k8s-app: kube-ui
ports:
- port: 80
  targetPort: 8080
  protocol: TCP
type: ClusterIP
sessionAffinity: None
ipFamilies: [IPv4]
ipFamilyPolicy: SingleStack
internalTrafficPolicy: Cluster
`, &want)
	if !equality.Semantic.DeepEqual(svc.Spec, want) {
		t.Errorf("service spec:\n%s\nwant:\n%s", toYAML(t, svc.Spec), toYAML(t, want))
	}
	if !ServiceNeedsClusterIP(&svc) || ServiceNeedsNodePorts(&svc) {
		t.Error("a ClusterIP service needs a cluster IP and no node ports")
	}
}
