//go:build race

package bot_test

// raceEnabled: the race detector slows the engine several-fold, so
// latency bounds are reported but not enforced under it.
const raceEnabled = true
