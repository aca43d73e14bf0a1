package consensus

import (
	"bufio"
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

func TestConfigValidate(t *testing.T) {
	valid := func() Config {
		c := DefaultConfig()
		c.DataDir = "/tmp/x"
		c.StoreID = "store-1"
		c.Secret = []byte("0123456789abcdef")
		return c
	}
	tests := []struct {
		name   string
		modify func(*Config)
		ok     bool
	}{
		{"default plus required", func(*Config) {}, true},
		{"port zero", func(c *Config) { c.GossipAddr, c.P2PAddr = "127.0.0.1:0", "127.0.0.1:0" }, true},
		{"ipv6", func(c *Config) { c.P2PAddr = "[::1]:4001" }, true},
		{"no data dir", func(c *Config) { c.DataDir = "" }, false},
		{"no store", func(c *Config) { c.StoreID = "" }, false},
		{"store with slash", func(c *Config) { c.StoreID = "a/b" }, false},
		{"long store", func(c *Config) { c.StoreID = strings.Repeat("s", 65) }, false},
		{"bad node id", func(c *Config) { c.NodeID = "kiosk 1" }, false},
		{"short secret", func(c *Config) { c.Secret = []byte("short") }, false},
		{"hostname gossip", func(c *Config) { c.GossipAddr = "localhost:7946" }, false},
		{"unspecified p2p", func(c *Config) { c.P2PAddr = "0.0.0.0:4001" }, false},
		{"unspecified gossip", func(c *Config) { c.GossipAddr = "[::]:7946" }, false},
		{"no port", func(c *Config) { c.P2PAddr = "127.0.0.1" }, false},
		{"long api", func(c *Config) { c.APIAddr = strings.Repeat("a", 129) }, false},
		{"negative expect", func(c *Config) { c.BootstrapExpect = -1 }, false},
		{"bad join", func(c *Config) { c.Join = []string{"nope"} }, false},
		{"lease above heartbeat", func(c *Config) { c.LeaderLeaseTimeout = time.Second }, false},
		{"tiny heartbeat", func(c *Config) { c.HeartbeatTimeout = time.Millisecond }, false},
		{"zero dial", func(c *Config) { c.DialTimeout = 0 }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.modify(&c)
			err := c.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error %v does not wrap ErrInvalidConfig", err)
			}
		})
	}
}

func TestGossipKey(t *testing.T) {
	secret := []byte("0123456789abcdef")
	k1, err := gossipKey(secret, "store-1")
	if err != nil || len(k1) != 32 {
		t.Fatalf("gossipKey = %x, %v", k1, err)
	}
	k1b, _ := gossipKey(secret, "store-1")
	k2, _ := gossipKey(secret, "store-2")
	k3, _ := gossipKey([]byte("0123456789abcdeX"), "store-1")
	if !bytes.Equal(k1, k1b) || bytes.Equal(k1, k2) || bytes.Equal(k1, k3) {
		t.Fatal("gossip key must depend on exactly the secret and the store")
	}
}

func TestNodeKeyPersists(t *testing.T) {
	dir := t.TempDir()
	k1, err := loadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, nodeKeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("node.key mode %v, %v; want 0600", st.Mode().Perm(), err)
	}
	k2, err := loadOrCreateKey(dir)
	if err != nil || !k1.Equals(k2) {
		t.Fatalf("reloaded key differs (%v)", err)
	}
	if err := os.WriteFile(filepath.Join(dir, nodeKeyFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadOrCreateKey(dir); err == nil {
		t.Fatal("garbage node.key accepted")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Fatalf("temporary file left: %s", e.Name())
		}
	}
}

func TestMetaRoundTrip(t *testing.T) {
	m := meta{
		StoreID:  strings.Repeat("s", maxIDLen),
		NodeID:   strings.Repeat("n", maxIDLen),
		PeerID:   "12D3KooWBJyYUbJDGxX1YJku62PKVyRgBMdjrarp59bDw9ovHQtP",
		P2PAddr:  "/ip6/fe80::1234:5678:9abc:def0/udp/65535/quic-v1",
		APIAddr:  strings.Repeat("a", maxAPIAddrLen),
		HasState: true,
		Expect:   5,
		Boot:     "0123456789abcdef",
	}
	b, err := m.encode()
	if err != nil {
		t.Fatalf("largest metadata does not fit: %v", err)
	}
	t.Logf("largest metadata: %d bytes (limit %d)", len(b), metaMaxSize)
	got, err := decodeMeta(b)
	if err != nil || got != m {
		t.Fatalf("decode = %+v, %v", got, err)
	}
	for _, bad := range [][]byte{nil, {2, '{', '}'}, {1, 'x'}, append([]byte{1}, `{"s":"a"}`...)} {
		if _, err := decodeMeta(bad); !errors.Is(err, errBadMeta) {
			t.Errorf("decodeMeta(%q) = %v, want errBadMeta", bad, err)
		}
	}
}

func FuzzDecodeMeta(f *testing.F) {
	good, _ := meta{StoreID: "s", NodeID: "n", PeerID: "p", P2PAddr: "/ip4/127.0.0.1/udp/1/quic-v1"}.encode()
	f.Add(good)
	f.Add([]byte{1})
	f.Add([]byte{1, '{', '}'})
	f.Add([]byte{0, 1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMeta(b)
		if err != nil {
			return
		}
		again, err := m.encode()
		if err != nil {
			t.Fatalf("decoded metadata does not re-encode: %v", err)
		}
		if m2, err := decodeMeta(again); err != nil || m2 != m {
			t.Fatalf("re-decode = %+v, %v", m2, err)
		}
	})
}

func TestWireRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := writeRequest(&buf, 1500*time.Millisecond, []byte("cmd")); err != nil {
		t.Fatal(err)
	}
	timeout, p, err := readRequest(bufio.NewReader(&buf))
	if err != nil || timeout != 1500*time.Millisecond || string(p) != "cmd" {
		t.Fatalf("readRequest = %v %q %v", timeout, p, err)
	}
	buf.Reset()
	writeRequest(&buf, 0, nil)
	if timeout, _, _ := readRequest(bufio.NewReader(&buf)); timeout != maxForwardTimeout {
		t.Fatalf("no timeout read as %v, want %v", timeout, maxForwardTimeout)
	}
	buf.Reset()
	if err := writeResponse(&buf, statusRejected, []byte("nope")); err != nil {
		t.Fatal(err)
	}
	st, p, err := readResponse(bufio.NewReader(&buf))
	if err != nil || st != statusRejected || string(p) != "nope" {
		t.Fatalf("readResponse = %d %q %v", st, p, err)
	}
	huge := []byte{0, 0xff, 0xff, 0xff, 0xff, 0x0f}
	if _, _, err := readRequest(bufio.NewReader(bytes.NewReader(huge))); !errors.Is(err, errFrameTooLarge) {
		t.Fatalf("huge frame: %v", err)
	}
}

func FuzzReadRequest(f *testing.F) {
	var buf bytes.Buffer
	writeRequest(&buf, time.Second, []byte("hello"))
	f.Add(buf.Bytes())
	f.Add([]byte{})
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		timeout, p, err := readRequest(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			return
		}
		if timeout <= 0 || timeout > maxForwardTimeout || len(p) > maxFrame {
			t.Fatalf("accepted timeout %v, payload %d bytes", timeout, len(p))
		}
	})
}

func FuzzReadResponse(f *testing.F) {
	var buf bytes.Buffer
	writeResponse(&buf, statusOK, []byte("ok"))
	f.Add(buf.Bytes())
	f.Add([]byte{9, 0})
	f.Add([]byte{statusFailed, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, p, err := readResponse(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			return
		}
		if st > statusFailed || len(p) > maxFrame {
			t.Fatalf("accepted status %d, payload %d bytes", st, len(p))
		}
	})
}

func TestParseStdLevel(t *testing.T) {
	tests := []struct {
		in   string
		lv   slog.Level
		want string
	}{
		{"[ERR] memberlist: boom", slog.LevelError, "memberlist: boom"},
		{"[WARN] memberlist: hmm", slog.LevelWarn, "memberlist: hmm"},
		{"[DEBUG] memberlist: x", slog.LevelDebug, "memberlist: x"},
		{"plain", slog.LevelInfo, "plain"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			lv, msg := parseStdLevel(tc.in)
			if lv != tc.lv || msg != tc.want {
				t.Fatalf("parseStdLevel(%q) = %v %q", tc.in, lv, msg)
			}
		})
	}
}

// The alive/merge delegates refuse members whose metadata names another
// store, does not decode, or disagrees with the node name; the reason is
// logged once and remembered for Join.
func TestAdmitRefusesStrangers(t *testing.T) {
	other, _ := meta{StoreID: "store-2", NodeID: "x", PeerID: "p"}.encode()
	mismatch, _ := meta{StoreID: "store-1", NodeID: "y", PeerID: "p"}.encode()
	good, _ := meta{StoreID: "store-1", NodeID: "x", PeerID: "p"}.encode()
	tests := []struct {
		name    string
		meta    []byte
		wantErr error
	}{
		{"same store", good, nil},
		{"other store", other, ErrWrongStore},
		{"garbage", []byte("junk"), errBadMeta},
		{"name mismatch", mismatch, errBadMeta},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := newTestLog(t)
			c := &Cluster{cfg: Config{StoreID: "store-1"}, log: log.logger("me"), rejected: map[string]error{}}
			n := &memberlist.Node{Name: "x", Addr: []byte{127, 0, 0, 1}, Port: 7946, Meta: tc.meta}
			d := &gossipDelegate{c: c}
			err := d.NotifyAlive(n)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("NotifyAlive = %v, want %v", err, tc.wantErr)
			}
			if merr := d.NotifyMerge([]*memberlist.Node{n}); (merr == nil) != (err == nil) {
				t.Fatalf("NotifyMerge = %v, NotifyAlive = %v", merr, err)
			}
			if err != nil {
				if !log.contains("refusing gossip member") {
					t.Fatal("refusal not logged")
				}
				if c.rejection("127.0.0.1:7946") == nil {
					t.Fatal("refusal not remembered")
				}
			}
		})
	}
}
