// Command palmcloud runs the reference cloud receiver for palmtill's nightly
// reconciliation (package testnet/cloud): store leaders upload settled charges
// and the receiver stores them durably, deduplicated by charge id.
//
//	palmcloud --listen 127.0.0.1:8700 --db ./palmcloud.db
//
// Flags default to the environment variables PALMCLOUD_LISTEN and
// PALMCLOUD_DB. SIGINT or SIGTERM shut the server down gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/palmtill/palmtill/testnet/cloud"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(os.Args[1:], log); err != nil && !errors.Is(err, flag.ErrHelp) {
		log.Error("palmcloud failed", "error", err)
		os.Exit(1)
	}
}

// run parses args, serves until SIGINT/SIGTERM, then shuts down.
func run(args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("palmcloud", flag.ContinueOnError)
	listen := fs.String("listen", envOr("PALMCLOUD_LISTEN", "127.0.0.1:8700"), "address to listen on (env PALMCLOUD_LISTEN)")
	db := fs.String("db", envOr("PALMCLOUD_DB", "palmcloud.db"), "SQLite database file (env PALMCLOUD_DB)")
	maxBatch := fs.Int("max-batch", cloud.DefaultMaxBatch, "largest number of charges accepted in one batch")
	failEvery := fs.Int("fail-every", envInt("PALMCLOUD_FAIL_EVERY", 0), "fault knob: every Nth upload gets 503 (0 = off; env PALMCLOUD_FAIL_EVERY)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	cfg := cloud.DefaultConfig()
	cfg.DBPath = *db
	cfg.Logger = log
	cfg.MaxBatch = *maxBatch
	cfg.MaxBodyBytes = 0 // derived from MaxBatch
	cfg.FailEvery = *failEvery
	if err := cfg.Validate(); err != nil {
		return err
	}
	recv, err := cloud.Open(cfg)
	if err != nil {
		return err
	}
	defer recv.Close()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *listen, err)
	}
	srv := &http.Server{
		Handler:           recv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening on "+ln.Addr().String(), "addr", ln.Addr().String(), "db", cfg.DBPath)

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	if err := recv.Close(); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func envInt(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return v
	}
	return def
}
