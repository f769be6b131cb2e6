package evidence

import (
	"time"
)

// Evidence is everything gathered about one target around one alert.
//
// JSON tags double as the CEL field names playbooks use (ev.oomErrors,
// t.growthBytesPerHour, ...), so renaming a tag is a breaking change to the
// playbook format.
type Evidence struct {
	Target  Target    `json:"target"`
	FiredAt time.Time `json:"firedAt"`
	// Window is the time range metrics and logs were read for.
	Window Window `json:"window"`
	// Kill says who killed the process: the kernel's cgroup OOM killer, the
	// JVM's own OutOfMemoryError, both, or neither.
	Kill        Kill          `json:"kill"`
	Containers  []Container   `json:"containers"`
	Restarts    Restarts      `json:"restarts"`
	OOMErrors   []OOMError    `json:"oomErrors"`
	Leaks       []LeakRecord  `json:"leaks"`
	Trends      []Trend       `json:"trends"`
	GC          []GCSummary   `json:"gc"`
	ClassGrowth []ClassGrowth `json:"classGrowth"`
	Deploys     []Deploy      `json:"deploys"`
	Events      []Event       `json:"events"`
	KernelKills []KernelKill  `json:"kernelKills"`
	// Warnings are problems met while reading the material (a malformed file,
	// an unknown file, a truncated log). They never stop a triage.
	Warnings []string `json:"warnings"`
}

// Target identifies the pod being triaged.
type Target struct {
	Cluster   string `json:"cluster"`
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	// Container is the container the triage focuses on: the one named by the
	// alert, else the one that was OOMKilled, else the first.
	Container string `json:"container"`
	// WorkloadKind and WorkloadName name the owning Deployment/StatefulSet
	// when it could be resolved.
	WorkloadKind string `json:"workloadKind"`
	WorkloadName string `json:"workloadName"`
}

// Window is a closed time range.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Citation points at raw material a finding was read from.
type Citation struct {
	// Source names where the line came from, e.g. "kubernetes/pod",
	// "logs/app.previous.log", "metrics/jvm_old_gen_used", "gc/app.log".
	Source string `json:"source"`
	// Ref locates the line inside the source: "line 812", a JSON path, a
	// histogram file name. Empty when the source is a single value.
	Ref string `json:"ref,omitempty"`
	// Time is when the cited thing happened, when known.
	Time time.Time `json:"time,omitzero"`
	// Text is the raw line (or a short excerpt), truncated to keep reports small.
	Text string `json:"text"`
}

// Citable is implemented by every evidence item. Playbook signals return
// lists of Citable items; what they return is what a match cites.
type Citable interface {
	EvidenceID() string
	Citations() []Citation
	// Summary is a one-line human description of the item.
	Summary() string
}

// Kill classifies what ended the process.
type Kill struct {
	// Kind is one of KillContainerOOM, KillJVMOOM, KillBoth, KillOther, KillNone.
	Kind string `json:"kind"`
	// ContainerOOMKilled is true when Kubernetes reports reason OOMKilled or
	// the kernel log shows a memory-cgroup kill of the container.
	ContainerOOMKilled bool `json:"containerOOMKilled"`
	// JVMOutOfMemory is true when an OutOfMemoryError was found in the logs.
	JVMOutOfMemory bool `json:"jvmOutOfMemory"`
	// Explanation is one plain sentence for the report.
	Explanation string     `json:"explanation"`
	Cites       []Citation `json:"cites"`
}

// Kill kinds.
const (
	KillContainerOOM = "container-oom-killer"
	KillJVMOOM       = "jvm-outofmemoryerror"
	KillBoth         = "both"
	KillOther        = "other"
	KillNone         = "none"
)

// Termination is one container state as Kubernetes reports it.
type Termination struct {
	// State is running, waiting or terminated.
	State    string `json:"state"`
	Reason   string `json:"reason"`
	ExitCode int    `json:"exitCode"`
	// ExitMeaning explains the exit code ("SIGKILL (128+9): killed, usually by the OOM killer").
	ExitMeaning string    `json:"exitMeaning"`
	Signal      int       `json:"signal"`
	Message     string    `json:"message"`
	StartedAt   time.Time `json:"startedAt,omitzero"`
	FinishedAt  time.Time `json:"finishedAt,omitzero"`
	// OOMKilled is Reason == "OOMKilled".
	OOMKilled bool `json:"oomKilled"`
}

// Container is one container of the pod: its state, sizing and JVM settings.
type Container struct {
	ID              string      `json:"id"`
	Name            string      `json:"name"`
	Image           string      `json:"image"`
	Ready           bool        `json:"ready"`
	RestartCount    int         `json:"restartCount"`
	State           Termination `json:"state"`
	LastTermination Termination `json:"lastTermination"`
	// MemoryRequestBytes and MemoryLimitBytes are 0 when unset.
	MemoryRequestBytes int64 `json:"memoryRequestBytes"`
	MemoryLimitBytes   int64 `json:"memoryLimitBytes"`
	// IsJVM is true when the container shows JVM flags or a JVM image/command.
	IsJVM  bool       `json:"isJVM"`
	JVM    JVMFlags   `json:"jvm"`
	Budget JVMBudget  `json:"budget"`
	Cites  []Citation `json:"cites"`
}

// JVMFlags are the memory-relevant JVM options found in the container's
// command, args and JAVA_TOOL_OPTIONS / JDK_JAVA_OPTIONS / JAVA_OPTS. Sizes
// are bytes; 0 means not set.
type JVMFlags struct {
	MaxHeapBytes           int64   `json:"maxHeapBytes"`
	InitialHeapBytes       int64   `json:"initialHeapBytes"`
	MaxRAMPercentage       float64 `json:"maxRAMPercentage"`
	InitialRAMPercentage   float64 `json:"initialRAMPercentage"`
	MaxMetaspaceBytes      int64   `json:"maxMetaspaceBytes"`
	MaxDirectMemoryBytes   int64   `json:"maxDirectMemoryBytes"`
	ThreadStackBytes       int64   `json:"threadStackBytes"`
	ReservedCodeCacheBytes int64   `json:"reservedCodeCacheBytes"`
	HeapDumpOnOOM          bool    `json:"heapDumpOnOOM"`
	HeapDumpPath           string  `json:"heapDumpPath"`
	ExitOnOOM              bool    `json:"exitOnOOM"`
	GC                     string  `json:"gc"`
	NativeMemoryTracking   string  `json:"nativeMemoryTracking"`
	// Options is every JVM option seen, in order, as written.
	Options []string `json:"options"`
	// Unresolved lists variables the flags reference that could not be read
	// (e.g. env vars from a ConfigMap).
	Unresolved []string `json:"unresolved"`
}

// JVMBudget estimates the JVM's worst-case footprint and compares it with
// the container limit. Every term says whether it was configured or assumed.
type JVMBudget struct {
	HeapBytes         int64 `json:"heapBytes"`
	MetaspaceBytes    int64 `json:"metaspaceBytes"`
	DirectBytes       int64 `json:"directBytes"`
	Threads           int   `json:"threads"`
	ThreadStacksBytes int64 `json:"threadStacksBytes"`
	CodeCacheBytes    int64 `json:"codeCacheBytes"`
	// OtherBytes is the GC, symbol tables and libc overhead estimate.
	OtherBytes int64 `json:"otherBytes"`
	TotalBytes int64 `json:"totalBytes"`
	LimitBytes int64 `json:"limitBytes"`
	// HeadroomBytes is LimitBytes - TotalBytes (negative when over).
	HeadroomBytes int64 `json:"headroomBytes"`
	OverLimit     bool  `json:"overLimit"`
	// HeapFractionOfLimit is HeapBytes / LimitBytes (0 without a limit).
	HeapFractionOfLimit float64 `json:"heapFractionOfLimit"`
	// Assumptions lists every term that was estimated rather than configured.
	Assumptions []string `json:"assumptions"`
}

// Restarts summarises restart history.
type Restarts struct {
	Total int `json:"total"`
	// Times are restart/kill times known from events and container states.
	Times            []time.Time `json:"times"`
	Last24h          int         `json:"last24h"`
	PerHour          float64     `json:"perHour"`
	CrashLoopBackOff bool        `json:"crashLoopBackOff"`
	Cites            []Citation  `json:"cites"`
}

// OOMError kinds, from the OutOfMemoryError message.
const (
	OOMHeap         = "heap"        // Java heap space
	OOMGCOverhead   = "gc-overhead" // GC overhead limit exceeded
	OOMMetaspace    = "metaspace"   // Metaspace
	OOMCompressedCS = "compressed-class-space"
	OOMDirect       = "direct"        // Direct buffer memory, Netty OutOfDirectMemoryError
	OOMNativeThread = "native-thread" // unable to create native thread
	OOMArraySize    = "array-size"    // Requested array size exceeds VM limit
	OOMOther        = "other"
)

// OOMError is one distinct OutOfMemoryError (or Netty OutOfDirectMemoryError)
// stack trace found in logs. Identical traces are folded into one with Count.
type OOMError struct {
	ID        string `json:"id"`
	Container string `json:"container"`
	// Source is the log it was found in, e.g. "logs/app.previous.log".
	Source string `json:"source"`
	Kind   string `json:"kind"`
	// Exception is the error class, e.g. java.lang.OutOfMemoryError.
	Exception string `json:"exception"`
	// Message is the full header line, e.g. "java.lang.OutOfMemoryError: Java heap space".
	Message string `json:"message"`
	// Thread is the thread name when the log says it ("Exception in thread \"main\"").
	Thread string    `json:"thread"`
	Time   time.Time `json:"time,omitzero"`
	// Frames are the "at" frames of the OOM's own trace, top first, without "at ".
	Frames []string `json:"frames"`
	// Chain lists the header of every exception in the trace, outermost
	// first, including "Caused by:" entries.
	Chain []string   `json:"chain"`
	Count int        `json:"count"`
	Cites []Citation `json:"cites"`
}

// LeakRecord is one Netty "LEAK: ByteBuf.release() was not called" report.
type LeakRecord struct {
	ID        string    `json:"id"`
	Container string    `json:"container"`
	Source    string    `json:"source"`
	Time      time.Time `json:"time,omitzero"`
	Message   string    `json:"message"`
	// Frames are the access-record frames, top first.
	Frames []string   `json:"frames"`
	Count  int        `json:"count"`
	Cites  []Citation `json:"cites"`
}

// Trend shapes.
const (
	ShapeStable       = "stable"       // flat, no growth
	ShapeSawtooth     = "sawtooth"     // allocate/collect cycles around a steady floor
	ShapeLeak         = "leak"         // the post-GC floor climbs monotonically
	ShapeStep         = "step"         // a level shift at one moment
	ShapeSpike        = "spike"        // a short excursion far above the baseline
	ShapeInsufficient = "insufficient" // too few samples to say
)

// Trend is the analysis of one metric series.
type Trend struct {
	ID string `json:"id"`
	// Signal is the canonical signal name, e.g. jvm_old_gen_used.
	Signal    string `json:"signal"`
	Container string `json:"container"`
	// From names the metrics source whose series was analysed, when several
	// answered for this signal.
	From string `json:"from,omitempty"`
	// Unit is bytes, count or seconds.
	Unit    string    `json:"unit"`
	Shape   string    `json:"shape"`
	Samples int       `json:"samples"`
	Start   time.Time `json:"start,omitzero"`
	End     time.Time `json:"end,omitzero"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
	Last    float64   `json:"last"`
	// FloorStart and FloorEnd are the post-GC floor (local minima) at the
	// beginning and end of the window.
	FloorStart float64 `json:"floorStart"`
	FloorEnd   float64 `json:"floorEnd"`
	// GrowthPerHour is the least-squares slope of the floor, in Unit per hour.
	GrowthPerHour float64 `json:"growthPerHour"`
	// Ceiling is what the series runs into (heap max, container limit, max
	// metaspace); 0 when unknown.
	Ceiling float64 `json:"ceiling"`
	// PeakFractionOfCeiling is Max / Ceiling (0 when no ceiling).
	PeakFractionOfCeiling float64 `json:"peakFractionOfCeiling"`
	// FloorFractionOfCeiling is FloorEnd / Ceiling (0 when no ceiling).
	FloorFractionOfCeiling float64 `json:"floorFractionOfCeiling"`
	// HoursToExhaustion forecasts when the floor meets the ceiling at the
	// current growth; 0 when not growing or no ceiling.
	HoursToExhaustion float64 `json:"hoursToExhaustion"`
	// StepAt is when a step change happened; StepDeployID names a deploy
	// within 15 minutes before it.
	StepAt       time.Time  `json:"stepAt,omitzero"`
	StepDeployID string     `json:"stepDeployID"`
	Cites        []Citation `json:"cites"`
}

// GCSummary is what a GC log says about the heap.
type GCSummary struct {
	ID        string `json:"id"`
	Container string `json:"container"`
	Source    string `json:"source"`
	Collector string `json:"collector"`
	// Collections counts all pauses; FullGCs only full collections.
	Collections    int     `json:"collections"`
	FullGCs        int     `json:"fullGCs"`
	FullGCsPerHour float64 `json:"fullGCsPerHour"`
	// AvgFullGCReclaimedFraction is the mean share of the heap a full GC
	// freed ((before-after)/before); near 0 means the heap is live data.
	AvgFullGCReclaimedFraction float64 `json:"avgFullGCReclaimedFraction"`
	// FloorStartBytes/FloorEndBytes are post-GC occupancy early and late.
	FloorStartBytes         int64   `json:"floorStartBytes"`
	FloorEndBytes           int64   `json:"floorEndBytes"`
	FloorGrowthBytesPerHour float64 `json:"floorGrowthBytesPerHour"`
	HeapCapacityBytes       int64   `json:"heapCapacityBytes"`
	// FloorFractionOfCapacity is FloorEndBytes / HeapCapacityBytes.
	FloorFractionOfCapacity float64    `json:"floorFractionOfCapacity"`
	MaxPauseSeconds         float64    `json:"maxPauseSeconds"`
	TotalPauseSeconds       float64    `json:"totalPauseSeconds"`
	Cites                   []Citation `json:"cites"`
}

// ClassGrowth is one class's change between the first and last class histogram.
type ClassGrowth struct {
	ID             string     `json:"id"`
	ClassName      string     `json:"className"`
	InstancesStart int64      `json:"instancesStart"`
	InstancesEnd   int64      `json:"instancesEnd"`
	InstancesDelta int64      `json:"instancesDelta"`
	BytesStart     int64      `json:"bytesStart"`
	BytesEnd       int64      `json:"bytesEnd"`
	BytesDelta     int64      `json:"bytesDelta"`
	From           time.Time  `json:"from,omitzero"`
	To             time.Time  `json:"to,omitzero"`
	Cites          []Citation `json:"cites"`
}

// Deploy is one rollout revision of the owning workload.
type Deploy struct {
	ID       string    `json:"id"`
	Kind     string    `json:"kind"`
	Name     string    `json:"name"`
	Revision int       `json:"revision"`
	Time     time.Time `json:"time,omitzero"`
	Images   []string  `json:"images"`
	// ImageChanged is true when Images differ from the previous revision's.
	ImageChanged bool `json:"imageChanged"`
	// BeforeFirstOOM marks the last deploy before the first OOM in the window.
	BeforeFirstOOM bool `json:"beforeFirstOOM"`
	// HoursBeforeKill is how long before the last kill this revision rolled out.
	HoursBeforeKill float64    `json:"hoursBeforeKill"`
	Cites           []Citation `json:"cites"`
}

// Event is one Kubernetes event about the pod.
type Event struct {
	ID        string     `json:"id"`
	Type      string     `json:"type"`
	Reason    string     `json:"reason"`
	Message   string     `json:"message"`
	Count     int        `json:"count"`
	FirstTime time.Time  `json:"firstTime,omitzero"`
	LastTime  time.Time  `json:"lastTime,omitzero"`
	Cites     []Citation `json:"cites"`
}

// KernelKill is one "Memory cgroup out of memory: Killed process" record.
type KernelKill struct {
	ID           string    `json:"id"`
	Time         time.Time `json:"time,omitzero"`
	PID          int       `json:"pid"`
	Process      string    `json:"process"`
	AnonRSSBytes int64     `json:"anonRSSBytes"`
	FileRSSBytes int64     `json:"fileRSSBytes"`
	// MemcgLimitBytes is the cgroup limit when the log states it.
	MemcgLimitBytes int64      `json:"memcgLimitBytes"`
	Cites           []Citation `json:"cites"`
}

// Normalize replaces nil lists with empty ones, so the JSON form always has
// arrays where the schema says so (consumers need not special-case null).
func (ev *Evidence) Normalize() {
	ev.Containers = orEmpty(ev.Containers)
	for i := range ev.Containers {
		c := &ev.Containers[i]
		c.JVM.Options, c.JVM.Unresolved = orEmpty(c.JVM.Options), orEmpty(c.JVM.Unresolved)
		c.Budget.Assumptions, c.Cites = orEmpty(c.Budget.Assumptions), orEmpty(c.Cites)
	}
	ev.OOMErrors = orEmpty(ev.OOMErrors)
	for i := range ev.OOMErrors {
		o := &ev.OOMErrors[i]
		o.Frames, o.Chain, o.Cites = orEmpty(o.Frames), orEmpty(o.Chain), orEmpty(o.Cites)
	}
	ev.Leaks = orEmpty(ev.Leaks)
	for i := range ev.Leaks {
		ev.Leaks[i].Frames, ev.Leaks[i].Cites = orEmpty(ev.Leaks[i].Frames), orEmpty(ev.Leaks[i].Cites)
	}
	ev.Restarts.Times, ev.Restarts.Cites = orEmpty(ev.Restarts.Times), orEmpty(ev.Restarts.Cites)
	ev.Kill.Cites = orEmpty(ev.Kill.Cites)
	ev.Trends = orEmpty(ev.Trends)
	for i := range ev.Trends {
		ev.Trends[i].Cites = orEmpty(ev.Trends[i].Cites)
	}
	ev.GC = orEmpty(ev.GC)
	for i := range ev.GC {
		ev.GC[i].Cites = orEmpty(ev.GC[i].Cites)
	}
	ev.ClassGrowth = orEmpty(ev.ClassGrowth)
	for i := range ev.ClassGrowth {
		ev.ClassGrowth[i].Cites = orEmpty(ev.ClassGrowth[i].Cites)
	}
	ev.Deploys = orEmpty(ev.Deploys)
	for i := range ev.Deploys {
		ev.Deploys[i].Images, ev.Deploys[i].Cites = orEmpty(ev.Deploys[i].Images), orEmpty(ev.Deploys[i].Cites)
	}
	ev.Events = orEmpty(ev.Events)
	for i := range ev.Events {
		ev.Events[i].Cites = orEmpty(ev.Events[i].Cites)
	}
	ev.KernelKills = orEmpty(ev.KernelKills)
	for i := range ev.KernelKills {
		ev.KernelKills[i].Cites = orEmpty(ev.KernelKills[i].Cites)
	}
	ev.Warnings = orEmpty(ev.Warnings)
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
