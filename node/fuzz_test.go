package node

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecodeRequest feeds arbitrary bodies to the API's strict JSON decoder for every request
// type: it must never panic, and whatever it accepts must be a single JSON object.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"amount_minor":100,"currency":"EUR","idempotency_key":"k","sim_identity":3}`,
		`{"card_token":"tok_1","idempotency_key":"e"}`,
		`{"addr":"127.0.0.1:7946"}`, `{"id":"kiosk-1"}`, `{}`, `{"a":`, `[]`, `null`, `{}{}`, "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, v := range []any{&CheckoutRequest{}, &EnrolRequest{}, &JoinRequest{}, &RemoveRequest{}} {
			r := httptest.NewRequest("POST", "/", strings.NewReader(body))
			w := httptest.NewRecorder()
			if ae := decodeBody(w, r, v); ae == nil && !strings.Contains(body, "{") && strings.TrimSpace(body) != "null" {
				t.Fatalf("accepted %q without an object", body)
			}
		}
	})
}

// FuzzLoadConfig feeds arbitrary config files to LoadFile and Validate: errors, never panics.
func FuzzLoadConfig(f *testing.F) {
	f.Add(`{"store_id":"s","http_addr":"127.0.0.1:1","request_timeout":"3s"}`)
	f.Add(`{"join":["127.0.0.1:2"],"bootstrap_expect":3}`)
	f.Add(`{"request_timeout":"x"}`)
	f.Add(`{"nope":1}`)
	f.Fuzz(func(t *testing.T, file string) {
		p := filepath.Join(t.TempDir(), "c.json")
		if err := os.WriteFile(p, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig()
		if err := cfg.LoadFile(p); err != nil {
			return
		}
		cfg.Secret = []byte("0123456789abcdef0123")
		_ = cfg.Validate()
	})
}

func TestConfigValidate(t *testing.T) {
	good := func() Config {
		c := DefaultConfig()
		c.Secret = []byte("0123456789abcdef0123")
		return c
	}
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"ok", func(*Config) {}, ""},
		{"no data dir", func(c *Config) { c.DataDir = "" }, "data dir"},
		{"wildcard http", func(c *Config) { c.HTTPAddr = "0.0.0.0:80" }, "not all interfaces"},
		{"hostname", func(c *Config) { c.GossipAddr = "localhost:1" }, "IP address"},
		{"bad join", func(c *Config) { c.Join = []string{"nope"} }, "join address"},
		{"bad scanner", func(c *Config) { c.Scanner = "usb" }, "scanner"},
		{"bad clock", func(c *Config) { c.ReconcileAt = "25:00" }, "reconcile-at"},
		{"short secret", func(c *Config) { c.Secret = []byte("short") }, "at least 16 bytes"},
		{"no secret", func(c *Config) { c.Secret = nil }, "secret file is required"},
		{"store with slash", func(c *Config) { c.StoreID = "a/b" }, "store id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.mutate(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
