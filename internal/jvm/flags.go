// Package jvm reads what a HotSpot JVM says about its memory: the options it
// was started with, the footprint those options allow (Budget), its GC logs
// and its class histograms.
package jvm

import (
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/oombot/oombot/internal/evidence"
)

// Garbage collector names used in evidence.JVMFlags.GC and
// evidence.GCSummary.Collector.
const (
	GCG1         = "G1"
	GCParallel   = "Parallel"
	GCSerial     = "Serial"
	GCZ          = "ZGC"
	GCShenandoah = "Shenandoah"
	GCCMS        = "CMS"
	GCEpsilon    = "Epsilon"
)

// OptionSource is one place JVM options come from.
type OptionSource struct {
	// Name says where the text came from: "command", "args", or "env NAME"
	// for an environment variable (e.g. "env JAVA_TOOL_OPTIONS"). Names
	// starting with "env " also resolve $NAME, ${NAME} and $(NAME)
	// references in the other sources.
	Name string
	// Text is a shell-like option string: words separated by blanks, with
	// single quotes, double quotes and backslashes as in sh.
	Text string
}

// precedence orders sources the way the JVM applies them: options in
// JAVA_TOOL_OPTIONS are read first, JDK_JAVA_OPTIONS (the java launcher, JDK
// 9+) next, and the command line last, so later ones win. JAVA_OPTS and the
// like are not read by the JVM at all; start scripts splice them into the
// command line, so they rank with it.
func precedence(name string) int {
	switch {
	case strings.Contains(name, "JAVA_TOOL_OPTIONS"):
		return 0
	case strings.Contains(name, "JDK_JAVA_OPTIONS"):
		return 1
	default:
		return 2
	}
}

// ParseFlags reads the memory-relevant JVM options from the given sources.
// Sources are applied in JVM precedence order (JAVA_TOOL_OPTIONS, then
// JDK_JAVA_OPTIONS, then everything else in the order given) and a later
// setting overrides an earlier one. Values that reference variables no
// source defines are listed in Unresolved and not applied.
func ParseFlags(sources ...OptionSource) evidence.JVMFlags {
	ordered := make([]OptionSource, len(sources))
	copy(ordered, sources)
	sort.SliceStable(ordered, func(i, j int) bool {
		return precedence(ordered[i].Name) < precedence(ordered[j].Name)
	})
	env := map[string]string{}
	for _, s := range sources {
		if name, ok := strings.CutPrefix(s.Name, "env "); ok {
			env[strings.TrimSpace(name)] = s.Text
		}
	}

	var f evidence.JVMFlags
	seenVar := map[string]bool{}
	for _, s := range ordered {
		text := expandVars(s.Text, env)
		for _, tok := range tokenize(text, 0) {
			for _, v := range varRefs(tok) {
				if !seenVar[v] {
					seenVar[v] = true
					f.Unresolved = append(f.Unresolved, v)
				}
			}
			if tok == "-jar" {
				// What follows the jar is the application's own arguments.
				break
			}
			if !isJVMOption(tok) {
				continue
			}
			f.Options = append(f.Options, tok)
			applyOption(&f, tok)
		}
	}
	return f
}

// applyOption records one option's effect. Options whose value is not
// understood (a typo, an unresolved variable) change nothing, which is what
// the reader of a report needs: the field keeps the value that would apply.
func applyOption(f *evidence.JVMFlags, opt string) {
	if hasVarRef(opt) {
		return
	}
	switch {
	case strings.HasPrefix(opt, "-Xmx"):
		setSize(&f.MaxHeapBytes, opt[4:], 1)
		return
	case strings.HasPrefix(opt, "-Xms"):
		setSize(&f.InitialHeapBytes, opt[4:], 1)
		return
	case strings.HasPrefix(opt, "-Xss"):
		setSize(&f.ThreadStackBytes, opt[4:], 1)
		return
	}
	xx, ok := strings.CutPrefix(opt, "-XX:")
	if !ok {
		return
	}
	if xx != "" && (xx[0] == '+' || xx[0] == '-') {
		applyBool(f, xx[1:], xx[0] == '+')
		return
	}
	name, val, ok := strings.Cut(xx, "=")
	if !ok {
		return
	}
	switch name {
	case "MaxHeapSize":
		setSize(&f.MaxHeapBytes, val, 1)
	case "InitialHeapSize":
		setSize(&f.InitialHeapBytes, val, 1)
	case "MaxRAMPercentage":
		setPercent(&f.MaxRAMPercentage, val)
	case "InitialRAMPercentage":
		setPercent(&f.InitialRAMPercentage, val)
	case "MaxRAMFraction":
		// The JDK 8u131-era spelling: heap = RAM / fraction.
		if n, err := strconv.ParseUint(val, 10, 32); err == nil && n > 0 {
			f.MaxRAMPercentage = 100 / float64(n)
		}
	case "MaxMetaspaceSize":
		setSize(&f.MaxMetaspaceBytes, val, 1)
	case "MaxDirectMemorySize":
		setSize(&f.MaxDirectMemoryBytes, val, 1)
	case "ThreadStackSize":
		// ThreadStackSize counts KiB (PrintFlagsFinal shows 1024 for the
		// 1 MiB default); a suffixed value is scaled first and then still
		// read as KiB by HotSpot (-XX:ThreadStackSize=1m gives 1 GiB
		// stacks), so mirror that rather than "fix" it.
		setSize(&f.ThreadStackBytes, val, 1024)
	case "ReservedCodeCacheSize":
		setSize(&f.ReservedCodeCacheBytes, val, 1)
	case "HeapDumpPath":
		f.HeapDumpPath = val
	case "NativeMemoryTracking":
		f.NativeMemoryTracking = val
	}
}

// applyBool handles -XX:+Name / -XX:-Name.
func applyBool(f *evidence.JVMFlags, name string, on bool) {
	gcs := map[string]string{
		"UseG1GC": GCG1, "UseParallelGC": GCParallel, "UseParallelOldGC": GCParallel,
		"UseSerialGC": GCSerial, "UseZGC": GCZ, "UseShenandoahGC": GCShenandoah,
		"UseConcMarkSweepGC": GCCMS, "UseEpsilonGC": GCEpsilon,
	}
	if gc, ok := gcs[name]; ok {
		if on {
			f.GC = gc
		} else if f.GC == gc {
			f.GC = ""
		}
		return
	}
	switch name {
	case "HeapDumpOnOutOfMemoryError":
		f.HeapDumpOnOOM = on
	case "ExitOnOutOfMemoryError", "CrashOnOutOfMemoryError":
		// Both end the process on the first OutOfMemoryError (Crash also
		// writes an hs_err file), which is what ExitOnOOM tells a reader.
		f.ExitOnOOM = on
	}
}

// setSize stores a HotSpot size ("512m", "2G", "1048576") times unit; a
// value HotSpot would reject leaves dst unchanged.
func setSize(dst *int64, val string, unit int64) {
	if n, ok := ParseSize(val); ok && n <= math.MaxInt64/unit {
		*dst = n * unit
	}
}

func setPercent(dst *float64, val string) {
	if p, err := strconv.ParseFloat(val, 64); err == nil && p >= 0 && p <= 100 {
		*dst = p
	}
}

// ParseSize reads a HotSpot memory size: digits with an optional k/K, m/M,
// g/G or t/T suffix (powers of 1024). It reports false for anything HotSpot
// would reject, including fractions and overflow.
func ParseSize(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	mult := int64(1)
	switch s[len(s)-1] {
	case 'k', 'K':
		mult = 1 << 10
	case 'm', 'M':
		mult = 1 << 20
	case 'g', 'G':
		mult = 1 << 30
	case 't', 'T':
		mult = 1 << 40
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, false
	}
	return n * mult, true
}

// isJVMOption reports whether a word is an option to the java launcher
// rather than the program, the jar or the application's arguments.
func isJVMOption(tok string) bool {
	for _, p := range []string{"-X", "-D", "-javaagent:", "-agentlib:", "-agentpath:", "-verbose:",
		"--add-opens", "--add-exports", "--add-modules", "--enable-preview", "--enable-native-access"} {
		if strings.HasPrefix(tok, p) {
			return true
		}
	}
	switch tok {
	case "-server", "-client", "-ea", "-da", "-esa", "-dsa", "-enableassertions", "-disableassertions":
		return true
	}
	return false
}

// tokenize splits shell-like text into words. A word that itself holds a
// command (sh -c "exec java -Xmx1g ...") is split again, so options inside a
// wrapper script are found too; words that are options keep their blanks
// (-XX:HeapDumpPath="/my dumps").
func tokenize(text string, depth int) []string {
	var (
		out     []string
		cur     strings.Builder
		inWord  bool
		quoted  bool // the word contained quotes, so blanks in it are literal
		inQuote rune
	)
	flush := func() {
		if !inWord {
			return
		}
		w := cur.String()
		if quoted && depth < 3 && !strings.HasPrefix(w, "-") && strings.ContainsFunc(w, unicode.IsSpace) {
			out = append(out, tokenize(w, depth+1)...)
		} else {
			out = append(out, w)
		}
		cur.Reset()
		inWord, quoted = false, false
	}
	rs := []rune(text)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case inQuote == '\'':
			if r == '\'' {
				inQuote = 0
			} else {
				cur.WriteRune(r)
			}
		case inQuote == '"':
			if r == '"' {
				inQuote = 0
			} else if r == '\\' && i+1 < len(rs) && strings.ContainsRune(`"\$`+"`", rs[i+1]) {
				i++
				cur.WriteRune(rs[i])
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			inQuote, inWord, quoted = r, true, true
		case r == '\\' && i+1 < len(rs):
			i++
			if rs[i] != '\n' {
				cur.WriteRune(rs[i])
				inWord = true
			}
		case unicode.IsSpace(r) || r == ';' || r == '&' || r == '|':
			flush()
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	flush()
	return out
}

// expandVars replaces $NAME, ${NAME} and $(NAME) (the Kubernetes form) with
// the value of a known variable. Unknown references are left for varRefs to
// report. "$$" is the Kubernetes escape for a literal "$" and is kept.
func expandVars(text string, env map[string]string) string {
	if !strings.Contains(text, "$") || len(env) == 0 {
		return text
	}
	var b strings.Builder
	for i := 0; i < len(text); {
		name, n := varAt(text, i)
		if n == 0 {
			if strings.HasPrefix(text[i:], "$$") {
				b.WriteString("$$")
				i += 2
				continue
			}
			b.WriteByte(text[i])
			i++
			continue
		}
		if v, ok := env[name]; ok {
			b.WriteString(v)
		} else {
			b.WriteString(text[i : i+n])
		}
		i += n
	}
	return b.String()
}

// varRefs lists the variables a word still references.
func varRefs(tok string) []string {
	var out []string
	for i := 0; i < len(tok); i++ {
		if strings.HasPrefix(tok[i:], "$$") {
			i++
			continue
		}
		if name, n := varAt(tok, i); n > 0 {
			out = append(out, name)
			i += n - 1
		}
	}
	return out
}

func hasVarRef(tok string) bool { return len(varRefs(tok)) > 0 }

// varAt reads a variable reference starting at s[i], returning its name and
// length, or n == 0 when there is none.
func varAt(s string, i int) (name string, n int) {
	if s[i] != '$' || i+1 >= len(s) {
		return "", 0
	}
	open, closer := s[i+1], byte(0)
	start := i + 1
	switch open {
	case '{':
		closer, start = '}', i+2
	case '(':
		closer, start = ')', i+2
	}
	end := start
	for end < len(s) && (s[end] == '_' || isAlnum(s[end])) {
		end++
	}
	if end == start || (s[start] >= '0' && s[start] <= '9') {
		return "", 0
	}
	if closer != 0 {
		if end >= len(s) || s[end] != closer {
			return "", 0
		}
		return s[start:end], end + 1 - i
	}
	return s[start:end], end - i
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// jvmImageWords are image-name words that mean a JVM runtime or a product
// that ships on one.
var jvmImageWords = []string{
	"java", "openjdk", "jdk", "jre", "temurin", "corretto", "amazoncorretto", "zulu", "graalvm",
	"semeru", "liberica", "openj9", "adoptopenjdk", "sapmachine", "dragonwell",
	"tomcat", "jetty", "wildfly", "jboss", "keycloak", "elasticsearch", "opensearch", "logstash",
	"kafka", "zookeeper", "cassandra", "solr", "flink", "jenkins", "nexus3", "sonarqube",
}

// LooksLikeJVM reports whether a container probably runs a JVM: its image
// names a JDK/JRE or a well-known Java product, its command runs java or
// passes JVM options, or its environment sets JVM option variables.
func LooksLikeJVM(image string, command, args []string, env map[string]string) bool {
	for _, k := range []string{"JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "JAVA_OPTS", "JVM_OPTS", "CATALINA_OPTS", "JAVA_HOME"} {
		if _, ok := env[k]; ok {
			return true
		}
	}
	for _, part := range [][]string{command, args} {
		for _, a := range part {
			for _, tok := range tokenize(a, 0) {
				base := path.Base(tok)
				if base == "java" || tok == "-jar" || strings.HasPrefix(tok, "-XX:") ||
					strings.HasPrefix(tok, "-Xmx") || strings.HasPrefix(tok, "-Xms") || strings.HasSuffix(tok, ".jar") {
					return true
				}
			}
		}
	}
	return imageLooksJVM(image)
}

// imageLooksJVM matches image repository words, ignoring the registry host
// (so "java.example.com/app" does not count) but including the tag
// ("myapp:1.2-jre17").
func imageLooksJVM(image string) bool {
	img := strings.ToLower(image)
	if first, rest, ok := strings.Cut(img, "/"); ok && strings.ContainsAny(first, ".:") {
		img = rest
	}
	img, _, _ = strings.Cut(img, "@")
	words := strings.FieldsFunc(img, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
	for _, w := range words {
		bare := strings.TrimRightFunc(w, unicode.IsDigit)
		for _, jw := range jvmImageWords {
			if w == jw || bare == jw {
				return true
			}
		}
	}
	return false
}
