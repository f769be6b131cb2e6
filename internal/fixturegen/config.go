package main

import (
	"fmt"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// Config is testdata/jvm/scenarios.yaml: one entry per bundle to produce.
type Config struct {
	Scenarios []Scenario `json:"scenarios"`
}

// Scenario describes one fixture run (how to start the JVM and under which
// limit) and the Kubernetes dressing of the bundle made from it.
type Scenario struct {
	// Name is the scenario name, unique in the file.
	Name string `json:"name"`
	// Out is the bundle directory, relative to the repository root.
	Out string `json:"out"`
	// Summary is one sentence on what the scenario reproduces; it opens the bundle description.
	Summary string `json:"summary"`

	// Main is the Java main class.
	Main string `json:"main"`
	// ToolOptions is exported as JAVA_TOOL_OPTIONS, the way a Deployment's env usually carries heap flags.
	ToolOptions string `json:"toolOptions"`
	// JVMArgs are command-line JVM options (before the main class).
	JVMArgs []string `json:"jvmArgs"`
	// ControlProps are -D properties that steer the fixture program (when to
	// send the bomb, ...). They are passed to the JVM but left out of pod.yaml:
	// they are the test harness, not the service's configuration.
	ControlProps []string `json:"controlProps"`
	// RestartControlProps replace ControlProps for the restarted incarnation when set.
	RestartControlProps []string `json:"restartControlProps"`
	// Classpath lists extra jars; a missing jar makes run fail so generate.sh can pick a fallback.
	Classpath []string `json:"classpath"`
	// Limit and Request are the container memory limit and request (Kubernetes quantities).
	Limit   string `json:"limit"`
	Request string `json:"request"`
	// MaxSeconds bounds the first run; the JVM is SIGKILLed after it.
	MaxSeconds int `json:"maxSeconds"`
	// StopAfterSeconds, when set, ends sampling after that many seconds and
	// then stops the JVM with SIGTERM: the pod is reported as still running.
	StopAfterSeconds int `json:"stopAfterSeconds"`
	// HistogramEverySeconds takes jcmd GC.class_histogram snapshots at that period (0: none).
	HistogramEverySeconds int `json:"histogramEverySeconds"`
	// HistogramFirstSeconds delays the first snapshot.
	HistogramFirstSeconds int `json:"histogramFirstSeconds"`
	// RestartRunSeconds runs the program a second time for that long after the
	// first run ended, as the restarted container (0: no second run).
	RestartRunSeconds int `json:"restartRunSeconds"`
	// Liveness, when set, probes the JVM over HTTP like the kubelet and kills it
	// (SIGTERM, then SIGKILL after the grace period) after FailureThreshold failures.
	Liveness *Probe `json:"liveness"`

	// Kubernetes dressing (synthetic).
	Cluster       string     `json:"cluster"`
	Namespace     string     `json:"namespace"`
	App           string     `json:"app"`
	Container     string     `json:"container"`
	Node          string     `json:"node"`
	Replicas      int32      `json:"replicas"`
	PriorRestarts int        `json:"priorRestarts"`
	Revisions     []Revision `json:"revisions"`
	// Anchor is where the first run's start (truncated to the second) lands
	// after the time shift.
	Anchor time.Time `json:"anchor"`
	// PodAge is how long before the first run the pod was created (default: 3s,
	// the container's first start). With PriorRestarts, the pod is older.
	PodAge Duration `json:"podAge"`
	// Alert is a text/template for bundle.yaml's alert; see alertData.
	Alert string `json:"alert"`
	// AlertDelaySeconds is how long after the kill the alert fired (default 30).
	AlertDelaySeconds int `json:"alertDelaySeconds"`
}

// Probe is an HTTP liveness probe.
type Probe struct {
	Path                string `json:"path"`
	Port                int    `json:"port"`
	InitialDelaySeconds int    `json:"initialDelaySeconds"`
	PeriodSeconds       int    `json:"periodSeconds"`
	TimeoutSeconds      int    `json:"timeoutSeconds"`
	FailureThreshold    int    `json:"failureThreshold"`
	// GraceSeconds is terminationGracePeriodSeconds: SIGKILL follows SIGTERM after it.
	GraceSeconds int `json:"graceSeconds"`
}

// Revision is one Deployment rollout: its image and how long before the
// first run it happened.
type Revision struct {
	Image  string   `json:"image"`
	Before Duration `json:"before"`
}

// Duration is a time.Duration written as "6h" in YAML.
type Duration struct{ time.Duration }

// UnmarshalJSON reads "90s", "6h", "72h30m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) < 2 || s[0] != '"' {
		return fmt.Errorf("duration %s: want a quoted string like \"6h\"", s)
	}
	v, err := time.ParseDuration(s[1 : len(s)-1])
	if err != nil {
		return fmt.Errorf("duration %s: %w", s, err)
	}
	d.Duration = v
	return nil
}

// LoadConfig reads and validates the scenario file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenario file: %w", err)
	}
	var c Config
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	seen := map[string]bool{}
	for i := range c.Scenarios {
		s := &c.Scenarios[i]
		if err := s.validate(); err != nil {
			return nil, fmt.Errorf("%s: scenario %d (%q): %w", path, i+1, s.Name, err)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("%s: scenario %q defined twice", path, s.Name)
		}
		seen[s.Name] = true
	}
	return &c, nil
}

// Scenario returns the named scenario.
func (c *Config) Scenario(name string) (*Scenario, error) {
	for i := range c.Scenarios {
		if c.Scenarios[i].Name == name {
			return &c.Scenarios[i], nil
		}
	}
	return nil, fmt.Errorf("no scenario named %q", name)
}

func (s *Scenario) validate() error {
	switch {
	case s.Name == "":
		return fmt.Errorf("name is empty")
	case s.Out == "":
		return fmt.Errorf("out is empty")
	case s.Main == "":
		return fmt.Errorf("main is empty")
	case s.Namespace == "" || s.App == "" || s.Container == "":
		return fmt.Errorf("namespace, app and container are required")
	case s.Anchor.IsZero():
		return fmt.Errorf("anchor is required")
	case len(s.Revisions) == 0:
		return fmt.Errorf("at least one revision is required")
	case s.MaxSeconds <= 0:
		return fmt.Errorf("maxSeconds must be positive")
	}
	if _, err := s.LimitBytes(); err != nil {
		return err
	}
	if s.Request != "" {
		if _, err := resource.ParseQuantity(s.Request); err != nil {
			return fmt.Errorf("request %q: %w", s.Request, err)
		}
	}
	if s.Liveness != nil && (s.Liveness.Port == 0 || s.Liveness.PeriodSeconds <= 0 || s.Liveness.FailureThreshold <= 0) {
		return fmt.Errorf("liveness needs port, periodSeconds and failureThreshold")
	}
	return nil
}

// LimitBytes parses Limit.
func (s *Scenario) LimitBytes() (int64, error) {
	q, err := resource.ParseQuantity(s.Limit)
	if err != nil {
		return 0, fmt.Errorf("limit %q: %w", s.Limit, err)
	}
	return q.Value(), nil
}

// Image is the image of the newest revision: the one the pod runs.
func (s *Scenario) Image() string { return s.Revisions[len(s.Revisions)-1].Image }
