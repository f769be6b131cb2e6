package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// Timeline is the shifted chronology of one bundle: the facts the
// Kubernetes objects are synthesised from.
type Timeline struct {
	PodCreated time.Time
	// Runs are the incarnations, shifted.
	Runs []Incarnation
	// Captured is when kubectl would have been run (the alert time).
	Captured time.Time
}

// containerPaths maps the runner's local file names to in-container paths
// for the Pod spec. Only the GC log path appears in the JVM's arguments.
const gcLogPath = "/var/log/jvm/gc.log"

// podArgs is the container's args as the Deployment would carry them: the
// scenario's JVM options, the GC log option, the classpath and main class.
func podArgs(s *Scenario) []string {
	args := append([]string{}, s.JVMArgs...)
	args = append(args, "-Xlog:gc*:file="+gcLogPath+":time,uptime,level,tags", "-cp", "/app/classes:/app/lib/*", s.Main)
	return args
}

func podTemplate(s *Scenario, id Identity, image string, rsHash string) corev1.PodTemplateSpec {
	labels := map[string]string{"app": s.App, "pod-template-hash": rsHash}
	c := corev1.Container{
		Name:    s.Container,
		Image:   image,
		Command: []string{"java"},
		Args:    podArgs(s),
		Ports:   []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
		Resources: corev1.ResourceRequirements{
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(s.Limit), corev1.ResourceCPU: resource.MustParse("2")},
			Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(orDefault(s.Request, s.Limit)), corev1.ResourceCPU: resource.MustParse("500m")},
		},
		TerminationMessagePath:   "/dev/termination-log",
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		ImagePullPolicy:          corev1.PullIfNotPresent,
		VolumeMounts:             []corev1.VolumeMount{{Name: "jvm-logs", MountPath: "/var/log/jvm"}},
	}
	if s.ToolOptions != "" {
		c.Env = []corev1.EnvVar{{Name: "JAVA_TOOL_OPTIONS", Value: s.ToolOptions}}
	}
	if p := s.Liveness; p != nil {
		c.LivenessProbe = &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: p.Path, Port: intstr.FromInt32(8080), Scheme: corev1.URISchemeHTTP,
			}},
			InitialDelaySeconds: int32(p.InitialDelaySeconds),
			PeriodSeconds:       int32(p.PeriodSeconds),
			TimeoutSeconds:      int32(max(p.TimeoutSeconds, 1)),
			FailureThreshold:    int32(p.FailureThreshold),
			SuccessThreshold:    1,
		}
	}
	grace := int64(30)
	if s.Liveness != nil && s.Liveness.GraceSeconds > 0 {
		grace = int64(s.Liveness.GraceSeconds)
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{
			Containers:                    []corev1.Container{c},
			Volumes:                       []corev1.Volume{{Name: "jvm-logs", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			RestartPolicy:                 corev1.RestartPolicyAlways,
			TerminationGracePeriodSeconds: &grace,
			DNSPolicy:                     corev1.DNSClusterFirst,
			SchedulerName:                 corev1.DefaultSchedulerName,
			SecurityContext:               &corev1.PodSecurityContext{},
		},
	}
}

// BuildPod synthesises the Pod as kubectl get pod -o yaml prints it at tl.Captured.
func BuildPod(s *Scenario, id Identity, tl Timeline) *corev1.Pod {
	tmpl := podTemplate(s, id, s.Image(), id.TemplateHash)
	spec := tmpl.Spec
	spec.NodeName = s.Node
	spec.ServiceAccountName = "default"
	spec.DeprecatedServiceAccount = "default"
	spec.EnableServiceLinks = ptr.To(true)
	spec.Priority = ptr.To(int32(0))
	spec.PreemptionPolicy = ptr.To(corev1.PreemptLowerPriority)
	spec.Tolerations = []corev1.Toleration{
		{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To(int64(300))},
		{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To(int64(300))},
	}
	apiVol := "kube-api-access-" + id.Name("kube-api-access", 5)
	spec.Volumes = append(spec.Volumes, corev1.Volume{Name: apiVol, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		DefaultMode: ptr.To(int32(420)),
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{ExpirationSeconds: ptr.To(int64(3607)), Path: "token"}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
				Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "namespace",
				FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}},
		},
	}}})
	spec.Containers[0].VolumeMounts = append(spec.Containers[0].VolumeMounts, corev1.VolumeMount{
		Name: apiVol, MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true})

	last := len(s.Revisions) - 1
	pod := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name:              id.PodName,
			GenerateName:      id.ReplicaSet + "-",
			Namespace:         s.Namespace,
			UID:               typesUID(id.PodUID),
			ResourceVersion:   id.ResourceVersion("pod"),
			CreationTimestamp: metav1.NewTime(tl.PodCreated),
			Labels:            tmpl.Labels,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "ReplicaSet", Name: id.ReplicaSet, UID: typesUID(id.ReplicaSetUIDs[last]),
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: spec,
	}

	cs := corev1.ContainerStatus{
		Name:         s.Container,
		Image:        s.Image(),
		ImageID:      imageRepo(s.Image()) + "@" + id.ImageDigest,
		RestartCount: int32(s.PriorRestarts + len(tl.Runs) - 1),
	}
	cur := tl.Runs[len(tl.Runs)-1]
	running := !cur.SamplingEndedAt.IsZero()
	if running {
		cs.ContainerID = "containerd://" + cur.ContainerID
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(cur.StartedAt)}
		cs.Ready = true
		cs.Started = ptr.To(true)
		if len(tl.Runs) > 1 {
			cs.LastTerminationState.Terminated = terminated(tl.Runs[len(tl.Runs)-2])
		}
	} else {
		// The last run ended and nothing restarted it within the bundle: the
		// kubelet is backing off before the next restart.
		cs.ContainerID = "containerd://" + cur.ContainerID
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
			Message: fmt.Sprintf("back-off 10s restarting failed container=%s pod=%s_%s(%s)", s.Container, id.PodName, s.Namespace, id.PodUID)}
		cs.LastTerminationState.Terminated = terminated(cur)
		cs.Started = ptr.To(false)
		cs.RestartCount = int32(s.PriorRestarts + len(tl.Runs) - 1)
	}
	cs.VolumeMounts = nil
	ready := corev1.ConditionTrue
	if !cs.Ready {
		ready = corev1.ConditionFalse
	}
	readySince := cur.StartedAt.Add(time.Duration(readyDelay) * time.Second)
	if !running {
		readySince = cur.FinishedAt
	}
	scheduled := tl.PodCreated
	started := tl.PodCreated.Add(time.Second)
	pod.Status = corev1.PodStatus{
		Phase: corev1.PodRunning,
		Conditions: []corev1.PodCondition{
			{Type: "PodReadyToStartContainers", Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(started.Add(time.Second))},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(started)},
			{Type: corev1.PodReady, Status: ready, LastTransitionTime: metav1.NewTime(readySince)},
			{Type: corev1.ContainersReady, Status: ready, LastTransitionTime: metav1.NewTime(readySince)},
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(scheduled)},
		},
		HostIP:            id.HostIP,
		HostIPs:           []corev1.HostIP{{IP: id.HostIP}},
		PodIP:             id.PodIP,
		PodIPs:            []corev1.PodIP{{IP: id.PodIP}},
		StartTime:         ptr.To(metav1.NewTime(started)),
		QOSClass:          qosClass(s),
		ContainerStatuses: []corev1.ContainerStatus{cs},
	}
	if !running {
		pod.Status.Conditions[2].Reason = "ContainersNotReady"
		pod.Status.Conditions[2].Message = "containers with unready status: [" + s.Container + "]"
		pod.Status.Conditions[3].Reason = "ContainersNotReady"
		pod.Status.Conditions[3].Message = pod.Status.Conditions[2].Message
	}
	return pod
}

// readyDelay is how long after start the (synthetic) readiness probe passed.
const readyDelay = 5

func terminated(r Incarnation) *corev1.ContainerStateTerminated {
	return &corev1.ContainerStateTerminated{
		ExitCode:    int32(r.ExitCode),
		Reason:      TerminationReason(r),
		StartedAt:   metav1.NewTime(r.StartedAt),
		FinishedAt:  metav1.NewTime(r.FinishedAt),
		ContainerID: "containerd://" + r.ContainerID,
	}
}

// TerminationReason is what the kubelet reports for a run: OOMKilled when the
// kernel's memory-cgroup OOM killer ended it, else Error or Completed.
func TerminationReason(r Incarnation) string {
	switch {
	case r.KernelOOMKills > 0 && r.Signal == 9:
		return "OOMKilled"
	case r.ExitCode == 0:
		return "Completed"
	default:
		return "Error"
	}
}

func qosClass(s *Scenario) corev1.PodQOSClass {
	// CPU request and limit differ, so the pod is never Guaranteed.
	return corev1.PodQOSBurstable
}

// BuildEvents synthesises the events kubectl would still list at tl.Captured
// (events live one hour), from the real start, kill and probe times.
func BuildEvents(s *Scenario, id Identity, tl Timeline) (*corev1.List, error) {
	var items []corev1.Event
	seq := 0
	add := func(typ, reason, msg, component string, count int, first, last time.Time, fieldPath string) {
		if tl.Captured.Sub(last) > time.Hour {
			return // expired
		}
		seq++
		involved := corev1.ObjectReference{Kind: "Pod", Namespace: s.Namespace, Name: id.PodName, UID: typesUID(id.PodUID),
			APIVersion: "v1", ResourceVersion: id.ResourceVersion("pod-at-event"), FieldPath: fieldPath}
		items = append(items, corev1.Event{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
			ObjectMeta: metav1.ObjectMeta{
				Name:              fmt.Sprintf("%s.%x", id.PodName, first.UnixNano()+int64(seq)),
				Namespace:         s.Namespace,
				UID:               typesUID(uid(fmt.Sprintf("%s/event/%d", id.seed, seq))),
				ResourceVersion:   id.ResourceVersion(fmt.Sprintf("event-%d", seq)),
				CreationTimestamp: metav1.NewTime(first),
			},
			InvolvedObject:      involved,
			Reason:              reason,
			Message:             msg,
			Source:              corev1.EventSource{Component: component, Host: hostFor(component, s.Node)},
			FirstTimestamp:      metav1.NewTime(first),
			LastTimestamp:       metav1.NewTime(last),
			Count:               int32(count),
			Type:                typ,
			ReportingController: reporting(component),
			ReportingInstance:   hostFor(component, s.Node),
		})
	}
	container := "spec.containers{" + s.Container + "}"
	starts := s.PriorRestarts + len(tl.Runs)
	firstStart := tl.Runs[0].StartedAt
	if s.PriorRestarts > 0 {
		firstStart = tl.PodCreated.Add(2 * time.Second)
	}
	lastStart := tl.Runs[len(tl.Runs)-1].StartedAt
	add("Normal", "Scheduled", fmt.Sprintf("Successfully assigned %s/%s to %s", s.Namespace, id.PodName, s.Node),
		"default-scheduler", 1, tl.PodCreated, tl.PodCreated, "")
	add("Normal", "Pulled", fmt.Sprintf("Container image %q already present on machine", s.Image()),
		"kubelet", starts, firstStart.Add(-400*time.Millisecond), lastStart.Add(-400*time.Millisecond), container)
	add("Normal", "Created", "Created container "+s.Container, "kubelet", starts,
		firstStart.Add(-200*time.Millisecond), lastStart.Add(-200*time.Millisecond), container)
	add("Normal", "Started", "Started container "+s.Container, "kubelet", starts, firstStart, lastStart, container)
	for _, r := range tl.Runs {
		var fails []ProbeResult
		for _, p := range r.Probes {
			if !p.OK {
				fails = append(fails, p)
			}
		}
		if len(fails) == 0 {
			continue
		}
		url := fmt.Sprintf("http://%s:8080%s", id.PodIP, s.Liveness.Path)
		add("Warning", "Unhealthy", "Liveness probe failed: "+fails[len(fails)-1].Message(url), "kubelet", len(fails),
			fails[0].Time, fails[len(fails)-1].Time, container)
		if r.StoppedBy == "liveness" {
			at := fails[len(fails)-1].Time
			add("Normal", "Killing", fmt.Sprintf("Container %s failed liveness probe, will be restarted", s.Container),
				"kubelet", 1, at, at, container)
		}
	}
	// The API server lists events by name: the pod name, then the creation time in hex.
	objs := make([]runtime.Object, 0, len(items))
	for i := range items {
		objs = append(objs, &items[i])
	}
	return listOf(objs)
}

func reporting(component string) string {
	if component == "kubelet" {
		return "kubelet"
	}
	return component
}

func hostFor(component, node string) string {
	if component == "kubelet" {
		return node
	}
	return ""
}

// BuildWorkload synthesises the Deployment and its ReplicaSets, one per revision.
func BuildWorkload(s *Scenario, id Identity, tl Timeline, firstRun time.Time) (*corev1.List, error) {
	last := len(s.Revisions) - 1
	replicas := s.Replicas
	if replicas == 0 {
		replicas = 2
	}
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"app": s.App}}
	revTime := func(i int) time.Time { return firstRun.Add(-s.Revisions[i].Before.Duration).Truncate(time.Second) }
	depTmpl := podTemplate(s, id, s.Image(), "")
	delete(depTmpl.Labels, "pod-template-hash")
	ready := replicas
	if cur := tl.Runs[len(tl.Runs)-1]; cur.SamplingEndedAt.IsZero() {
		ready--
	}
	dep := appsv1.Deployment{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{
			Name: s.App, Namespace: s.Namespace, UID: typesUID(id.DeploymentUID),
			ResourceVersion: id.ResourceVersion("deployment"), Generation: int64(len(s.Revisions)),
			CreationTimestamp: metav1.NewTime(revTime(0).Add(-time.Minute)),
			Labels:            map[string]string{"app": s.App},
			Annotations:       map[string]string{"deployment.kubernetes.io/revision": fmt.Sprint(len(s.Revisions))},
		},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas, Selector: selector, Template: depTmpl,
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: ptr.To(intstr.FromString("25%")), MaxSurge: ptr.To(intstr.FromString("25%"))}},
			RevisionHistoryLimit:    ptr.To(int32(10)),
			ProgressDeadlineSeconds: ptr.To(int32(600)),
		},
		Status: appsv1.DeploymentStatus{
			ObservedGeneration: int64(len(s.Revisions)), Replicas: replicas, UpdatedReplicas: replicas,
			ReadyReplicas: ready, AvailableReplicas: ready, UnavailableReplicas: replicas - ready,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable",
					Message:        fmt.Sprintf("ReplicaSet %q has successfully progressed.", id.ReplicaSet),
					LastUpdateTime: metav1.NewTime(revTime(last).Add(40 * time.Second)), LastTransitionTime: metav1.NewTime(revTime(0))},
				{Type: appsv1.DeploymentAvailable, Status: boolCond(ready == replicas), Reason: availableReason(ready == replicas),
					Message:        availableMessage(ready == replicas),
					LastUpdateTime: metav1.NewTime(tl.Captured.Add(-20 * time.Second)), LastTransitionTime: metav1.NewTime(tl.Captured.Add(-20 * time.Second))},
			},
		},
	}
	objs := []runtime.Object{&dep}
	for i, rev := range s.Revisions {
		hash := id.TemplateHash
		if i != last {
			hash = kubeSuffix(fmt.Sprintf("%s/template/%d", id.seed, i), 10)
		}
		tmpl := podTemplate(s, id, rev.Image, hash)
		n := int32(0)
		if i == last {
			n = replicas
		}
		rs := appsv1.ReplicaSet{
			TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "ReplicaSet"},
			ObjectMeta: metav1.ObjectMeta{
				Name: s.App + "-" + hash, Namespace: s.Namespace, UID: typesUID(id.ReplicaSetUIDs[i]),
				ResourceVersion: id.ResourceVersion(fmt.Sprintf("rs-%d", i)), Generation: 1 + int64(min(i, 1)),
				CreationTimestamp: metav1.NewTime(revTime(i)),
				Labels:            tmpl.Labels,
				Annotations: map[string]string{
					"deployment.kubernetes.io/desired-replicas": fmt.Sprint(replicas),
					"deployment.kubernetes.io/max-replicas":     fmt.Sprint(replicas + 1),
					"deployment.kubernetes.io/revision":         fmt.Sprint(i + 1),
				},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: s.App,
					UID: typesUID(id.DeploymentUID), Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}},
			},
			Spec:   appsv1.ReplicaSetSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: tmpl.Labels}, Template: tmpl},
			Status: appsv1.ReplicaSetStatus{Replicas: n, FullyLabeledReplicas: n, ObservedGeneration: 1 + int64(min(i, 1))},
		}
		if i == last {
			rs.Status.ReadyReplicas = ready
			rs.Status.AvailableReplicas = ready
		}
		objs = append(objs, &rs)
	}
	return listOf(objs)
}

func boolCond(b bool) corev1.ConditionStatus {
	if b {
		return corev1.ConditionTrue
	}
	return corev1.ConditionFalse
}

func availableReason(ok bool) string {
	if ok {
		return "MinimumReplicasAvailable"
	}
	return "MinimumReplicasUnavailable"
}

func availableMessage(ok bool) string {
	if ok {
		return "Deployment has minimum availability."
	}
	return "Deployment does not have minimum availability."
}

// listOf embeds objects in a v1 List. RawExtension marshals only Raw, so
// each object is encoded here.
func listOf(objs []runtime.Object) (*corev1.List, error) {
	list := &corev1.List{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "List"}}
	for _, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("encode %T: %w", o, err)
		}
		list.Items = append(list.Items, runtime.RawExtension{Raw: b})
	}
	return list, nil
}

func typesUID(s string) types.UID { return types.UID(s) }

func imageRepo(image string) string {
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[:i]
	}
	return image
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
