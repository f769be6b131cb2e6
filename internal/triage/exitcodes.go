package triage

import "fmt"

// ExitMeaning explains a container exit code in the terms an on-call
// engineer needs: who ended the process and what that usually means for a JVM.
func ExitMeaning(code int, reason string) string {
	switch code {
	case 0:
		return "exited normally"
	case 1:
		return "general error: for a JVM usually an uncaught exception or System.exit(1)"
	case 3:
		return "JVM exit after OutOfMemoryError (-XX:+ExitOnOutOfMemoryError exits with 3)"
	case 126:
		return "command not executable"
	case 127:
		return "command not found"
	case 130:
		return "SIGINT (128+2)"
	case 134:
		return "SIGABRT (128+6): the JVM aborted, e.g. a crash with hs_err file or -XX:+CrashOnOutOfMemoryError"
	case 137:
		if reason == "OOMKilled" {
			return "SIGKILL (128+9) by the kernel's memory-cgroup OOM killer"
		}
		return "SIGKILL (128+9): the OOM killer, or kill after the termination grace period"
	case 139:
		return "SIGSEGV (128+11): segmentation fault in native code"
	case 143:
		return "SIGTERM (128+15): asked to stop (rollout, eviction, failed liveness probe)"
	}
	if code > 128 && code < 160 {
		return fmt.Sprintf("killed by signal %d (128+%d)", code-128, code-128)
	}
	return fmt.Sprintf("application exit code %d", code)
}
