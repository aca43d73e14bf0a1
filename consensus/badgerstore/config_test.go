package badgerstore

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		ok     bool
	}{
		{"default", func(*Config) {}, true},
		{"no dir", func(c *Config) { c.Dir = "" }, false},
		{"tiny memtable", func(c *Config) { c.MemTableSize = 1 << 10 }, false},
		{"no memtables", func(c *Config) { c.NumMemtables = 0 }, false},
		{"value threshold above 15% of memtable", func(c *Config) { c.ValueThreshold = c.MemTableSize / 5 }, false},
		{"value threshold above 1 MiB", func(c *Config) { c.MemTableSize = 64 << 20; c.ValueThreshold = 2 << 20 }, false},
		{"negative value threshold", func(c *Config) { c.ValueThreshold = -1 }, false},
		{"value log file too small", func(c *Config) { c.ValueLogFileSize = 1 << 19 }, false},
		{"value log file 2 GiB", func(c *Config) { c.ValueLogFileSize = 2 << 30 }, false},
		{"negative block cache", func(c *Config) { c.BlockCacheSize = -1 }, false},
		{"block cache", func(c *Config) { c.BlockCacheSize = 1 << 20 }, true},
		{"one compactor", func(c *Config) { c.NumCompactors = 1 }, false},
		{"no compactors", func(c *Config) { c.NumCompactors = 0 }, true},
		{"negative log cache", func(c *Config) { c.LogCacheSize = -1 }, false},
		{"no log cache", func(c *Config) { c.LogCacheSize = 0 }, true},
		{"negative gc interval", func(c *Config) { c.GCInterval = -1 }, false},
		{"no gc loop", func(c *Config) { c.GCInterval = 0 }, true},
		{"gc ratio 0", func(c *Config) { c.GCDiscardRatio = 0 }, false},
		{"gc ratio 1", func(c *Config) { c.GCDiscardRatio = 1 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig("/tmp/x")
			tt.mutate(&c)
			err := c.Validate()
			if tt.ok && err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate = %v, want ErrInvalidConfig", err)
			}
		})
	}
	if !DefaultConfig("d").SyncWrites {
		t.Error("DefaultConfig does not sync writes")
	}
	if _, err := New(Config{}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("New(Config{}) = %v, want ErrInvalidConfig", err)
	}
}

func TestBadgerLogger(t *testing.T) {
	var buf bytes.Buffer
	l := newBadgerLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), slog.LevelWarn)
	l.Debugf("debug %d\n", 1)
	l.Infof("info %d\n", 2)
	l.Warningf("warn %d\n", 3)
	l.Errorf("error %d\n", 4)
	out := buf.String()
	for _, want := range []string{`level=WARN msg="warn 3" lib=badger`, `level=ERROR msg="error 4"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log output %q lacks %q", out, want)
		}
	}
	for _, unwanted := range []string{"debug 1", "info 2"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("log output %q has %q below the minimum level", out, unwanted)
		}
	}
}

func TestBadgerInfoNotLogged(t *testing.T) {
	// Opening and closing Badger logs several info lines; none must reach
	// a logger at the default minimum level.
	var buf bytes.Buffer
	dir := t.TempDir()
	cfg := DefaultConfig(dir)
	cfg.GCInterval = 0
	cfg.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.StoreLogs(mkLogs(1, 3)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "lib=badger") {
		t.Errorf("badger messages below warn level were logged:\n%s", buf.String())
	}
}
