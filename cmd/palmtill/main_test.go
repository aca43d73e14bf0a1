package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/palmtill/palmtill/node"
)

// TestConfigPrecedence checks flags > environment > config file > defaults.
func TestConfigPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.json")
	os.WriteFile(file, []byte(`{"store_id":"from-file","reconcile_at":"03:30","capture_frames":7}`), 0o600)
	t.Setenv("PALMTILL_RECONCILE_AT", "04:45")
	t.Setenv("PALMTILL_CAPTURE_FRAMES", "9")

	cmd := runCmd()
	if err := cmd.ParseFlags([]string{"--config", file, "--capture-frames", "11"}); err != nil {
		t.Fatal(err)
	}
	var got node.Config
	final := node.DefaultConfig()
	if err := final.LoadFile(file); err != nil {
		t.Fatal(err)
	}
	if err := applyEnv(cmd.Flags()); err != nil {
		t.Fatal(err)
	}
	src := node.DefaultConfig()
	// The flag values live in the closure's config; read them back through the flags.
	src.StoreID, _ = cmd.Flags().GetString("store-id")
	src.ReconcileAt, _ = cmd.Flags().GetString("reconcile-at")
	src.CaptureFrames, _ = cmd.Flags().GetInt("capture-frames")
	overlay(&final, &src, cmd.Flags())
	got = final
	if got.StoreID != "from-file" || got.ReconcileAt != "04:45" || got.CaptureFrames != 11 {
		t.Fatalf("store %q (want from-file), reconcile-at %q (want env 04:45), frames %d (want flag 11)",
			got.StoreID, got.ReconcileAt, got.CaptureFrames)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"no secret", []string{"run", "--data-dir", t.TempDir()}},
		{"wildcard", []string{"run", "--http-addr", "0.0.0.0:1", "--secret-file", "/nonexistent"}},
		{"bad log level", []string{"run", "--log-level", "loud"}},
		{"missing config file", []string{"run", "--config", "/nonexistent.json"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := rootCmd()
			root.SetArgs(tc.args)
			if err := root.Execute(); err == nil {
				t.Fatal("accepted a bad configuration")
			}
		})
	}
}
