// Command genlog writes a synthetic container log for benchmarking
// internal/logscan, and prints what it planted as JSON on stdout.
//
//	go run ./internal/logscan/internal/genlog/cmd/genlog -size 128 -o /tmp/bench.log
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/oombot/oombot/internal/logscan/internal/genlog"
)

func main() {
	size := flag.Int64("size", 128, "size of the log in MiB")
	out := flag.String("o", "", "output file (required)")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if err := run(*out, *size, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "genlog:", err)
		os.Exit(1)
	}
}

func run(out string, sizeMiB int64, seed uint64) error {
	if out == "" {
		return fmt.Errorf("-o is required")
	}
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("create %s: %w", out, err)
	}
	st, err := genlog.Write(f, genlog.Config{Size: sizeMiB << 20, Seed: seed})
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", out, cerr)
	}
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(st)
}
