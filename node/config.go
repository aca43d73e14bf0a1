package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config is everything one kiosk process needs. Build it with DefaultConfig, change what differs,
// then call Validate (New does too).
type Config struct {
	// Name is this kiosk's Raft server ID and its name in logs and receipts ("kiosk-1"). Empty means
	// the libp2p peer ID derived from the node key in DataDir.
	Name string `json:"name"`
	// DataDir holds the node key, the Raft log and snapshots, and the replicated state.
	DataDir string `json:"data_dir"`
	// StoreID names the store (the cluster). Kiosks of another store are never admitted.
	StoreID string `json:"store_id"`
	// SecretFile holds the store secret shared by its kiosks (at least 16 bytes, surrounding
	// whitespace trimmed). Gossip and template encryption keys are derived from it.
	SecretFile string `json:"secret_file"`
	// Secret is the store secret itself, for embedding; when set, SecretFile is not read.
	Secret []byte `json:"-"`
	// HTTPAddr is the kiosk API's listen address (host:port).
	HTTPAddr string `json:"http_addr"`
	// GossipAddr is memberlist's bind address (TCP and UDP).
	GossipAddr string `json:"gossip_addr"`
	// P2PAddr is the libp2p QUIC listen address (UDP) used by Raft.
	P2PAddr string `json:"p2p_addr"`
	// BootstrapExpect, when > 0, lets this kiosk form a new store once that many fresh kiosks of
	// the store see each other. Zero means wait to be joined.
	BootstrapExpect int `json:"bootstrap_expect"`
	// Join lists gossip addresses of kiosks already in the store, contacted at start.
	Join []string `json:"join"`
	// Scanner selects the scanner driver: "sim" (simulated palms) or "dir:PATH" (replay images).
	Scanner string `json:"scanner"`
	// CloudURL is the base URL of the cloud receiver that reconciliation uploads to. Empty turns
	// reconciliation off.
	CloudURL string `json:"cloud_url"`
	// ReconcileAt is the local wall-clock time ("HH:MM") of the nightly upload.
	ReconcileAt string `json:"reconcile_at"`
	// ReconcileBatch is how many charges one upload carries.
	ReconcileBatch int `json:"reconcile_batch"`
	// CaptureFrames is the most frames the capture pipeline looks at for one palm.
	CaptureFrames int `json:"capture_frames"`
	// EnrolSamples is how many captures an enrolment takes.
	EnrolSamples int `json:"enrol_samples"`
	// RequestTimeout bounds one write through Raft (including forwarding to the leader).
	RequestTimeout time.Duration `json:"request_timeout"`

	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger `json:"-"`
}

// DefaultConfig returns a configuration for a single kiosk on this machine's loopback.
func DefaultConfig() Config {
	return Config{
		DataDir:        "palmtill-data",
		StoreID:        "store-1",
		HTTPAddr:       "127.0.0.1:8080",
		GossipAddr:     "127.0.0.1:7946",
		P2PAddr:        "127.0.0.1:4001",
		Scanner:        "sim",
		ReconcileAt:    "02:00",
		ReconcileBatch: 500,
		CaptureFrames:  5,
		EnrolSamples:   3,
		RequestTimeout: 5 * time.Second,
	}
}

// LoadFile overlays the JSON config file at path onto c. Unknown keys are an error, so a typo
// never silently falls back to a default.
func (c *Config) LoadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var raw struct {
		Config
		RequestTimeout string `json:"request_timeout"`
	}
	raw.Config = *c
	raw.RequestTimeout = c.RequestTimeout.String()
	if err := dec.Decode(&raw); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	d, err := time.ParseDuration(raw.RequestTimeout)
	if err != nil {
		return fmt.Errorf("config file %s: request_timeout: %w", path, err)
	}
	*c = raw.Config
	c.RequestTimeout = d
	return nil
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("invalid config")

// Validate checks every field and reads the secret file, so that a bad configuration fails at
// start with a message naming the field.
func (c *Config) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
	}
	if c.DataDir == "" {
		return bad("data dir is required")
	}
	if c.StoreID == "" || strings.ContainsAny(c.StoreID, " /\t\n") {
		return bad("store id %q must be non-empty without spaces or slashes", c.StoreID)
	}
	for name, addr := range map[string]string{"http": c.HTTPAddr, "gossip": c.GossipAddr, "p2p": c.P2PAddr} {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return bad("%s address %q: %v", name, addr, err)
		}
		if host == "" || net.ParseIP(host) == nil {
			return bad("%s address %q must name an IP address to listen on (not all interfaces)", name, addr)
		}
		if ip := net.ParseIP(host); ip.IsUnspecified() {
			return bad("%s address %q must name one IP address, not all interfaces", name, addr)
		}
	}
	if c.BootstrapExpect < 0 {
		return bad("bootstrap-expect %d must be >= 0", c.BootstrapExpect)
	}
	for _, j := range c.Join {
		if _, _, err := net.SplitHostPort(j); err != nil {
			return bad("join address %q: %v", j, err)
		}
	}
	if c.Scanner != "sim" && !strings.HasPrefix(c.Scanner, "dir:") {
		return bad("scanner %q: want \"sim\" or \"dir:PATH\"", c.Scanner)
	}
	if _, err := parseClock(c.ReconcileAt); err != nil {
		return bad("reconcile-at %q: %v", c.ReconcileAt, err)
	}
	if c.ReconcileBatch < 1 || c.ReconcileBatch > 1000 {
		return bad("reconcile batch %d must be 1..1000", c.ReconcileBatch)
	}
	if c.CaptureFrames < 1 || c.CaptureFrames > 50 {
		return bad("capture frames %d must be 1..50", c.CaptureFrames)
	}
	if c.EnrolSamples < 1 || c.EnrolSamples > 10 {
		return bad("enrol samples %d must be 1..10", c.EnrolSamples)
	}
	if c.RequestTimeout <= 0 {
		return bad("request timeout must be positive")
	}
	if len(c.Secret) == 0 {
		if c.SecretFile == "" {
			return bad("a store secret file is required (palmtill keygen > store.secret)")
		}
		b, err := os.ReadFile(c.SecretFile)
		if err != nil {
			return bad("secret file: %v", err)
		}
		c.Secret = []byte(strings.TrimSpace(string(b)))
	}
	if len(c.Secret) < 16 {
		return bad("store secret must be at least 16 bytes, got %d", len(c.Secret))
	}
	c.DataDir = filepath.Clean(c.DataDir)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// parseClock parses "HH:MM" into an offset from midnight.
func parseClock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, errors.New("want HH:MM")
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}
