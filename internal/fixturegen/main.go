// Command fixturegen runs the JVM fixture programs under testdata/jvm inside a
// real memory cgroup and turns what they produce into oombot incident bundles.
//
// Two steps, so that a run can be converted again without re-running it:
//
//	fixturegen run     -config testdata/jvm/scenarios.yaml -scenario lock-growth -classes DIR -out RUNDIR
//	fixturegen convert -config testdata/jvm/scenarios.yaml -scenario lock-growth -run RUNDIR [-out BUNDLEDIR]
//
// run needs root (it creates a cgroup v1 memory cgroup and reads dmesg).
// convert is pure: it reads the run directory and writes the bundle.
// testdata/jvm/generate.sh drives both for every scenario.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if err := realMain(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "fixturegen:", err)
		os.Exit(1)
	}
}

func realMain(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: fixturegen run|convert [flags]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	configPath := fs.String("config", "testdata/jvm/scenarios.yaml", "scenario file")
	name := fs.String("scenario", "", "scenario name")
	classes := fs.String("classes", "", "run: directory with the compiled fixture classes")
	runDir := fs.String("run", "", "convert: run directory to read")
	out := fs.String("out", "", "run: run directory to write; convert: bundle directory (default: the scenario's out)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := LoadConfig(*configPath)
	if err != nil {
		return err
	}
	sc, err := cfg.Scenario(*name)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "run":
		if *classes == "" || *out == "" {
			return errors.New("run needs -classes and -out")
		}
		return Run(ctx, sc, *classes, *out, os.Stdout)
	case "convert":
		if *runDir == "" {
			return errors.New("convert needs -run")
		}
		dst := *out
		if dst == "" {
			dst = sc.Out
		}
		return Convert(*runDir, sc, dst)
	default:
		return fmt.Errorf("unknown command %q (want run or convert)", args[0])
	}
}
