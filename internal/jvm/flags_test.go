package jvm

import (
	"reflect"
	"testing"

	"github.com/oombot/oombot/internal/evidence"
)

func TestParseFlags(t *testing.T) {
	const (
		KiB = int64(1) << 10
		MiB = int64(1) << 20
		GiB = int64(1) << 30
	)
	tests := []struct {
		name    string
		sources []OptionSource
		want    evidence.JVMFlags
	}{{
		name:    "no sources",
		sources: nil,
		want:    evidence.JVMFlags{},
	}, {
		name:    "command line; arguments after -jar belong to the application",
		sources: []OptionSource{{Name: "args", Text: "-Xmx512m -Xms256m -XX:+UseG1GC -Dspring.profiles.active=prod -jar app.jar -Xmx1g --port=80"}},
		want: evidence.JVMFlags{MaxHeapBytes: 512 * MiB, InitialHeapBytes: 256 * MiB, GC: GCG1,
			Options: []string{"-Xmx512m", "-Xms256m", "-XX:+UseG1GC", "-Dspring.profiles.active=prod"}},
	}, {
		name: "JAVA_TOOL_OPTIONS < JDK_JAVA_OPTIONS < command line, whatever the order given",
		sources: []OptionSource{
			{Name: "args", Text: "-Xmx1g"},
			{Name: "env JDK_JAVA_OPTIONS", Text: "-Xmx768m -XX:MaxMetaspaceSize=200m"},
			{Name: "env JAVA_TOOL_OPTIONS", Text: "-Xmx256m -XX:MaxMetaspaceSize=100m -XX:MaxRAMPercentage=50"},
		},
		want: evidence.JVMFlags{MaxHeapBytes: GiB, MaxMetaspaceBytes: 200 * MiB, MaxRAMPercentage: 50,
			Options: []string{"-Xmx256m", "-XX:MaxMetaspaceSize=100m", "-XX:MaxRAMPercentage=50", "-Xmx768m", "-XX:MaxMetaspaceSize=200m", "-Xmx1g"}},
	}, {
		name: "JAVA_OPTS ranks with the command line, in the order given",
		sources: []OptionSource{
			{Name: "env JAVA_OPTS", Text: "-Xmx2g"},
			{Name: "env JAVA_TOOL_OPTIONS", Text: "-Xmx3g"},
			{Name: "command", Text: "java -Xmx1g"},
		},
		want: evidence.JVMFlags{MaxHeapBytes: GiB, Options: []string{"-Xmx3g", "-Xmx2g", "-Xmx1g"}},
	}, {
		name: "size spellings; a value HotSpot rejects changes nothing",
		sources: []OptionSource{{Name: "args", Text: "-Xms1073741824 -Xmx2G -XX:MaxDirectMemorySize=64M " +
			"-XX:ReservedCodeCacheSize=128m -XX:MaxMetaspaceSize=1t -Xmx512mb -Xmx1.5g -XX:InitialHeapSize=4k"}},
		want: evidence.JVMFlags{InitialHeapBytes: 4 * KiB, MaxHeapBytes: 2 * GiB, MaxDirectMemoryBytes: 64 * MiB,
			ReservedCodeCacheBytes: 128 * MiB, MaxMetaspaceBytes: 1 << 40,
			Options: []string{"-Xms1073741824", "-Xmx2G", "-XX:MaxDirectMemorySize=64M", "-XX:ReservedCodeCacheSize=128m",
				"-XX:MaxMetaspaceSize=1t", "-Xmx512mb", "-Xmx1.5g", "-XX:InitialHeapSize=4k"}},
	}, {
		name:    "MaxHeapSize, ThreadStackSize in KiB, later Xss wins",
		sources: []OptionSource{{Name: "args", Text: "-XX:MaxHeapSize=3g -XX:ThreadStackSize=512 -Xss256k -XX:ThreadStackSize=2048"}},
		want: evidence.JVMFlags{MaxHeapBytes: 3 * GiB, ThreadStackBytes: 2 * MiB,
			Options: []string{"-XX:MaxHeapSize=3g", "-XX:ThreadStackSize=512", "-Xss256k", "-XX:ThreadStackSize=2048"}},
	}, {
		name:    "percentages and the legacy MaxRAMFraction",
		sources: []OptionSource{{Name: "args", Text: "-XX:MaxRAMPercentage=75.0 -XX:InitialRAMPercentage=50 -XX:MaxRAMFraction=2 -XX:MaxRAMPercentage=140"}},
		want: evidence.JVMFlags{MaxRAMPercentage: 50, InitialRAMPercentage: 50,
			Options: []string{"-XX:MaxRAMPercentage=75.0", "-XX:InitialRAMPercentage=50", "-XX:MaxRAMFraction=2", "-XX:MaxRAMPercentage=140"}},
	}, {
		name: "OOM handling and NMT, quoted path with a blank",
		sources: []OptionSource{{Name: "env JAVA_TOOL_OPTIONS",
			Text: `-XX:+HeapDumpOnOutOfMemoryError -XX:HeapDumpPath="/dumps/my app" -XX:+CrashOnOutOfMemoryError -XX:NativeMemoryTracking=summary`}},
		want: evidence.JVMFlags{HeapDumpOnOOM: true, HeapDumpPath: "/dumps/my app", ExitOnOOM: true, NativeMemoryTracking: "summary",
			Options: []string{"-XX:+HeapDumpOnOutOfMemoryError", "-XX:HeapDumpPath=/dumps/my app", "-XX:+CrashOnOutOfMemoryError", "-XX:NativeMemoryTracking=summary"}},
	}, {
		name:    "GC selection: last wins, disabling the selected one clears it",
		sources: []OptionSource{{Name: "args", Text: "-XX:+UseParallelGC -XX:+UseShenandoahGC -XX:+ExitOnOutOfMemoryError -XX:-HeapDumpOnOutOfMemoryError"}},
		want: evidence.JVMFlags{GC: GCShenandoah, ExitOnOOM: true,
			Options: []string{"-XX:+UseParallelGC", "-XX:+UseShenandoahGC", "-XX:+ExitOnOutOfMemoryError", "-XX:-HeapDumpOnOutOfMemoryError"}},
	}, {
		name:    "ZGC then -UseZGC",
		sources: []OptionSource{{Name: "args", Text: "-XX:+UseZGC -XX:-UseZGC"}},
		want:    evidence.JVMFlags{Options: []string{"-XX:+UseZGC", "-XX:-UseZGC"}},
	}, {
		name:    "unresolved references in every syntax; $$ is an escape",
		sources: []OptionSource{{Name: "args", Text: "-Xmx$(HEAP_SIZE) ${EXTRA_OPTS} $JAVA_OPTS -Dx=$$(NOT_A_VAR) -Xss$(HEAP_SIZE)"}},
		want: evidence.JVMFlags{Unresolved: []string{"HEAP_SIZE", "EXTRA_OPTS", "JAVA_OPTS"},
			Options: []string{"-Xmx$(HEAP_SIZE)", "-Dx=$$(NOT_A_VAR)", "-Xss$(HEAP_SIZE)"}},
	}, {
		name: "references resolved from env sources",
		sources: []OptionSource{
			{Name: "args", Text: "-Xmx$(HEAP) $JAVA_OPTS -jar app.jar"},
			{Name: "env HEAP", Text: "768m"},
			{Name: "env JAVA_OPTS", Text: "-XX:MaxMetaspaceSize=96m"},
		},
		want: evidence.JVMFlags{MaxHeapBytes: 768 * MiB, MaxMetaspaceBytes: 96 * MiB,
			Options: []string{"-Xmx768m", "-XX:MaxMetaspaceSize=96m", "-XX:MaxMetaspaceSize=96m"}},
	}, {
		name:    "options inside a wrapper shell script",
		sources: []OptionSource{{Name: "command", Text: `sh -c "exec java -XX:MaxRAMPercentage=80 -Xss1m -jar /app.jar --spring.main.lazy-initialization=true"`}},
		want:    evidence.JVMFlags{MaxRAMPercentage: 80, ThreadStackBytes: MiB, Options: []string{"-XX:MaxRAMPercentage=80", "-Xss1m"}},
	}, {
		name:    "single quotes, backslashes, unterminated quote",
		sources: []OptionSource{{Name: "args", Text: `'-Xmx1g' -Dgreeting=hello\ world "-Xss512k`}},
		want:    evidence.JVMFlags{MaxHeapBytes: GiB, ThreadStackBytes: 512 * KiB, Options: []string{"-Xmx1g", "-Dgreeting=hello world", "-Xss512k"}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseFlags(tc.sources...)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseFlags:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseFlagsDoesNotReorderCallerSlice(t *testing.T) {
	in := []OptionSource{{Name: "args", Text: "-Xmx1g"}, {Name: "env JAVA_TOOL_OPTIONS", Text: "-Xmx2g"}}
	ParseFlags(in...)
	if in[0].Name != "args" {
		t.Fatalf("caller's slice was reordered: %+v", in)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"1024", 1024, true}, {"512k", 512 << 10, true}, {"512K", 512 << 10, true},
		{"3m", 3 << 20, true}, {"2G", 2 << 30, true}, {"1t", 1 << 40, true},
		{"", 0, false}, {"m", 0, false}, {"1.5g", 0, false}, {"-1m", 0, false}, {"12mb", 0, false},
		{"9999999999t", 0, false}, {"99999999999999999999", 0, false},
	}
	for _, tc := range tests {
		got, ok := ParseSize(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestLooksLikeJVM(t *testing.T) {
	tests := []struct {
		name    string
		image   string
		command []string
		args    []string
		env     map[string]string
		want    bool
	}{
		{"temurin image", "eclipse-temurin:17-jre", nil, nil, nil, true},
		{"jdk with version in the name", "registry.example.com/team/app-jdk17:1.4", nil, nil, nil, true},
		{"corretto via registry with port", "123.dkr.ecr.eu-west-1.amazonaws.com:443/amazoncorretto:21", nil, nil, nil, true},
		{"java product image", "docker.elastic.co/elasticsearch/elasticsearch:8.14.0", nil, nil, nil, true},
		{"registry host named java is not a hint", "java.example.com/team/api:1.0", nil, nil, nil, false},
		{"javascript is not java", "ghcr.io/org/javascript-runner:2", nil, nil, nil, false},
		{"nginx", "nginx:1.27", []string{"nginx", "-g", "daemon off;"}, nil, nil, false},
		{"java binary in command", "ghcr.io/org/api:1", []string{"/opt/java/openjdk/bin/java"}, []string{"-cp", "/app", "Main"}, nil, true},
		{"jar in a wrapper script", "ghcr.io/org/api:1", []string{"sh", "-c"}, []string{"exec /app/run app.jar"}, nil, true},
		{"JVM option in args", "ghcr.io/org/api:1", nil, []string{"-XX:MaxRAMPercentage=75"}, nil, true},
		{"JAVA_TOOL_OPTIONS env", "ghcr.io/org/api:1", nil, nil, map[string]string{"JAVA_TOOL_OPTIONS": ""}, true},
		{"unrelated env", "ghcr.io/org/api:1", []string{"/api"}, nil, map[string]string{"GOMAXPROCS": "2"}, false},
	}
	for _, tc := range tests {
		if got := LooksLikeJVM(tc.image, tc.command, tc.args, tc.env); got != tc.want {
			t.Errorf("%s: LooksLikeJVM = %v, want %v", tc.name, got, tc.want)
		}
	}
}
