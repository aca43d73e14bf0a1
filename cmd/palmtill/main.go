// Command palmtill runs one palmtill kiosk: palm scanner, store cluster membership, replicated
// ledger and the kiosk API.
//
//	palmtill keygen > store.secret
//	palmtill run --data-dir d1 --store-id shop-7 --secret-file store.secret --bootstrap-expect 3 ...
//
// Every flag of run can also come from the environment (PALMTILL_DATA_DIR, ...) or a JSON config
// file (--config); flags win over the environment, which wins over the file.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/palmtill/palmtill/node"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func main() {
	if err := rootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "palmtill:", err)
		os.Exit(1)
	}
}

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "palmtill",
		Short:         "palmtill kiosk node: pay with your palm",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(runCmd(), keygenCmd())
	return root
}

func keygenCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "keygen",
		Short: "print a new random store secret (give the same file to every kiosk of the store)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var b [32]byte
			if _, err := rand.Read(b[:]); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), hex.EncodeToString(b[:]))
			return nil
		},
	}
}

func runCmd() *cobra.Command {
	cfg := node.DefaultConfig()
	var configFile, logLevel, logFormat string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "start this kiosk and serve until SIGINT or SIGTERM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			final := node.DefaultConfig()
			if configFile != "" {
				if err := final.LoadFile(configFile); err != nil {
					return err
				}
			}
			// Environment, then flags set on the command line, override the file.
			if err := applyEnv(cmd.Flags()); err != nil {
				return err
			}
			overlay(&final, &cfg, cmd.Flags())
			logger, err := newLogger(logLevel, logFormat)
			if err != nil {
				return err
			}
			final.Logger = logger
			return run(final)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configFile, "config", "", "JSON config file (keys as in node.Config: data_dir, store_id, ...)")
	f.StringVar(&cfg.Name, "name", cfg.Name, "this kiosk's node id (default: its libp2p peer id)")
	f.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the node key, Raft log, snapshots and state")
	f.StringVar(&cfg.StoreID, "store-id", cfg.StoreID, "store (cluster) id")
	f.StringVar(&cfg.SecretFile, "secret-file", cfg.SecretFile, "file holding the store secret (palmtill keygen)")
	f.StringVar(&cfg.HTTPAddr, "http-addr", cfg.HTTPAddr, "kiosk API listen address")
	f.StringVar(&cfg.GossipAddr, "gossip-addr", cfg.GossipAddr, "gossip (memberlist) listen address, TCP and UDP")
	f.StringVar(&cfg.P2PAddr, "p2p-addr", cfg.P2PAddr, "libp2p QUIC listen address (UDP) for Raft")
	f.IntVar(&cfg.BootstrapExpect, "bootstrap-expect", cfg.BootstrapExpect, "form a new store once this many fresh kiosks see each other (0: wait to be joined)")
	f.StringSliceVar(&cfg.Join, "join", cfg.Join, "gossip addresses of kiosks already in the store (comma-separated)")
	f.StringVar(&cfg.Scanner, "scanner", cfg.Scanner, `scanner driver: "sim" or "dir:PATH"`)
	f.StringVar(&cfg.CloudURL, "cloud-url", cfg.CloudURL, "cloud receiver base URL for reconciliation (empty: off)")
	f.StringVar(&cfg.ReconcileAt, "reconcile-at", cfg.ReconcileAt, "local time HH:MM of the nightly upload")
	f.IntVar(&cfg.ReconcileBatch, "reconcile-batch", cfg.ReconcileBatch, "charges per cloud upload")
	f.IntVar(&cfg.CaptureFrames, "capture-frames", cfg.CaptureFrames, "most frames looked at per palm capture")
	f.IntVar(&cfg.EnrolSamples, "enrol-samples", cfg.EnrolSamples, "palm captures taken at enrolment")
	f.DurationVar(&cfg.RequestTimeout, "request-timeout", cfg.RequestTimeout, "bound on one write through Raft")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&logFormat, "log-format", "text", "text or json")
	return cmd
}

// applyEnv sets every flag not given on the command line from PALMTILL_<FLAG> if present.
func applyEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		env := "PALMTILL_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", env, e)
			}
		}
	})
	return err
}

// overlay copies into dst the fields whose flags were set (by the command line or environment).
func overlay(dst, src *node.Config, fs *pflag.FlagSet) {
	set := map[string]func(){
		"name": func() { dst.Name = src.Name }, "data-dir": func() { dst.DataDir = src.DataDir },
		"store-id": func() { dst.StoreID = src.StoreID }, "secret-file": func() { dst.SecretFile = src.SecretFile },
		"http-addr": func() { dst.HTTPAddr = src.HTTPAddr }, "gossip-addr": func() { dst.GossipAddr = src.GossipAddr },
		"p2p-addr": func() { dst.P2PAddr = src.P2PAddr }, "bootstrap-expect": func() { dst.BootstrapExpect = src.BootstrapExpect },
		"join": func() { dst.Join = src.Join }, "scanner": func() { dst.Scanner = src.Scanner },
		"cloud-url": func() { dst.CloudURL = src.CloudURL }, "reconcile-at": func() { dst.ReconcileAt = src.ReconcileAt },
		"reconcile-batch": func() { dst.ReconcileBatch = src.ReconcileBatch }, "capture-frames": func() { dst.CaptureFrames = src.CaptureFrames },
		"enrol-samples": func() { dst.EnrolSamples = src.EnrolSamples }, "request-timeout": func() { dst.RequestTimeout = src.RequestTimeout },
	}
	fs.Visit(func(f *pflag.Flag) {
		if fn, ok := set[f.Name]; ok {
			fn()
		}
	})
}

func newLogger(level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}

func run(cfg node.Config) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	n, err := node.New(cfg)
	if err != nil {
		return err
	}
	cfg.Logger.Info("palmtill kiosk started", "node", n.ID(), "api", n.Addr())
	err = n.Run(ctx)
	cfg.Logger.Info("shutting down")
	done := make(chan error, 1)
	go func() { done <- n.Close() }()
	select {
	case cerr := <-done:
		if err == nil {
			err = cerr
		}
	case <-time.After(20 * time.Second):
		err = fmt.Errorf("shutdown took over 20s")
	}
	return err
}
