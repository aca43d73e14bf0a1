// Command testnet runs a whole palmtill store on this machine and breaks it on purpose.
//
//	go run ./cmd/testnet demo [--json] [--kiosks 3] [--customers 50] [--checkouts 30] [--dir DIR]
//	go run ./cmd/testnet bench [--kiosks 3] [--customers 50] [--checkouts 1000] [--sequential]
//
// The demo builds the binaries, starts a cloud receiver and the kiosks on 127.0.0.1, lets them
// form a store, enrols customers, takes payments, kills the leader, cuts the cloud link, joins a
// new kiosk, restarts the dead one, reconciles and verifies the books. It exits non-zero if any
// check fails.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/palmtill/palmtill/testnet"
)

func main() {
	if len(os.Args) >= 2 && os.Args[1] == "bench" {
		bench(os.Args[2:])
		return
	}
	if len(os.Args) < 2 || os.Args[1] != "demo" {
		fmt.Fprintln(os.Stderr, "usage: testnet demo [--json] [--kiosks N] [--customers N] [--checkouts N] [--dir DIR]")
		fmt.Fprintln(os.Stderr, "       testnet bench [--kiosks N] [--customers N] [--checkouts N]")
		os.Exit(2)
	}
	cfg := testnet.DefaultDemoConfig()
	fs := flag.NewFlagSet("demo", flag.ExitOnError)
	asJSON := fs.Bool("json", false, "end with one JSON line holding the results")
	quiet := fs.Bool("quiet", false, "no narration (with --json: only the JSON line)")
	fs.IntVar(&cfg.Kiosks, "kiosks", cfg.Kiosks, "kiosks that form the store")
	fs.IntVar(&cfg.Customers, "customers", cfg.Customers, "customers to enrol")
	fs.IntVar(&cfg.Checkouts, "checkouts", cfg.Checkouts, "checkouts per kiosk in each steady phase")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed for shoppers")
	fs.StringVar(&cfg.Dir, "dir", "", "working directory to keep (default: a temporary one, removed on success)")
	fs.Parse(os.Args[2:])
	if cfg.Kiosks < 3 || cfg.Customers < 1 || cfg.Checkouts < 1 {
		fmt.Fprintln(os.Stderr, "testnet demo: need --kiosks >= 3 (to survive a leader kill), --customers >= 1, --checkouts >= 1")
		os.Exit(2)
	}
	if *quiet {
		cfg.Out = io.Discard
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	res, err := testnet.RunDemo(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testnet demo:", err)
		os.Exit(1)
	}
	if res.Passed {
		fmt.Fprintf(cfg.Out, "\nDEMO PASSED in %.0f s: %d charges, failover %d ms, checkout p99 %.1f ms\n", res.DurationS, res.AckedCharges, res.FailoverMs, res.CheckoutP99Ms)
	} else {
		fmt.Fprintf(cfg.Out, "\nDEMO FAILED: %v\n", res.Failures)
	}
	if *asJSON {
		b, _ := json.Marshal(res)
		fmt.Println(string(b))
	}
	if !res.Passed {
		os.Exit(1)
	}
}

// bench measures checkout latency, capture to committed charge, on a store of real processes.
func bench(args []string) {
	cfg := testnet.BenchConfig{Kiosks: 3, Customers: 50, Checkouts: 1000, Out: os.Stderr}
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	fs.IntVar(&cfg.Kiosks, "kiosks", cfg.Kiosks, "kiosks in the store")
	fs.IntVar(&cfg.Customers, "customers", cfg.Customers, "customers to enrol")
	fs.IntVar(&cfg.Checkouts, "checkouts", cfg.Checkouts, "checkouts to run, spread over the kiosks")
	fs.BoolVar(&cfg.Sequential, "sequential", false, "one checkout at a time (each has the cores to itself, as a kiosk has its own CPU)")
	fs.Parse(args)
	if cfg.Kiosks < 1 || cfg.Customers < 1 || cfg.Checkouts < 1 {
		fmt.Fprintln(os.Stderr, "testnet bench: --kiosks, --customers and --checkouts must be >= 1")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	res, err := testnet.RunCheckoutBench(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testnet bench:", err)
		os.Exit(1)
	}
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
}
