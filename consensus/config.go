package consensus

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// Limits on identifiers, chosen so that the gossip metadata of a member always
// fits memberlist's 512-byte meta limit.
const (
	maxIDLen      = 64
	maxAPIAddrLen = 128
	minSecretLen  = 16
)

// Config configures a Cluster. Build it with DefaultConfig and set at least
// DataDir, StoreID and Secret.
type Config struct {
	// NodeID is the stable raft server ID and memberlist node name. If empty,
	// the libp2p peer ID (derived from DataDir/node.key) is used. At most 64
	// bytes of [A-Za-z0-9._-].
	NodeID string
	// DataDir holds node.key (Ed25519 libp2p identity, created 0600 on first
	// start), raft/ (the log store) and snapshots/.
	DataDir string
	// StoreID names the store (cluster). Gossip members advertising another
	// StoreID are never admitted.
	StoreID string
	// Secret is the store secret (>= 16 bytes). The gossip key is
	// HKDF-SHA256(Secret, info "palmtill gossip v1"+StoreID), 32 bytes (AES-256).
	Secret []byte
	// GossipAddr is the memberlist bind address (TCP and UDP), also
	// advertised, e.g. "127.0.0.1:7946". The host must be an IP literal; port 0
	// picks a free port (read it back with Cluster.Self).
	GossipAddr string
	// P2PAddr is the libp2p QUIC listen address, e.g. "127.0.0.1:4001", which
	// becomes /ip4/127.0.0.1/udp/4001/quic-v1. libp2p listens only there. The
	// host must be an IP literal; port 0 picks a free port.
	P2PAddr string
	// APIAddr is opaque to this package (the node's HTTP address). It is
	// advertised in gossip metadata so that followers can point at the
	// leader's API. At most 128 bytes.
	APIAddr string
	// BootstrapExpect is the number of fresh kiosks that form the store by
	// themselves once they see each other through gossip. 0 never bootstraps:
	// the kiosk waits to be joined by the leader (Cluster.Join).
	BootstrapExpect int
	// Join lists gossip addresses of existing members contacted at start. The
	// contact is retried with backoff in the background until one answers.
	Join []string
	// Logger receives this package's logs and the adapted raft and memberlist
	// logs. Nil discards them.
	Logger *slog.Logger

	// HeartbeatTimeout is how long a follower waits without hearing from the
	// leader before it starts an election (randomised in [T, 2T]); the leader
	// sends heartbeats every T/10. Default 150ms: on a store LAN the RTT is
	// well under 1 ms, so 15 ms heartbeats are cheap, and a SIGKILLed leader is
	// replaced within about 2T plus one election round (~300-400 ms), inside
	// the 500 ms failover goal while still tolerating GC and scheduling pauses
	// of a busy 2-core kiosk by two orders of magnitude.
	HeartbeatTimeout time.Duration
	// ElectionTimeout is how long a candidate waits for votes before starting
	// a new election (randomised in [T, 2T]). Default 150ms, same reasoning:
	// a vote round trip on the LAN takes a few ms, so a split vote retries fast.
	ElectionTimeout time.Duration
	// LeaderLeaseTimeout is how long a leader stays leader without contact
	// from a quorum; must be <= HeartbeatTimeout. Default 150ms so that a
	// partitioned leader steps down about when the rest elect a new one.
	LeaderLeaseTimeout time.Duration
	// CommitTimeout is how long the leader waits without new entries before
	// sending an AppendEntries that carries the commit index. Default 10ms
	// (raft: 50ms): followers learn commits faster, which makes follower
	// Barrier and join catch-up quicker; the cost is a few tiny LAN packets.
	CommitTimeout time.Duration
	// SnapshotInterval is how often raft checks whether to snapshot. Default
	// 60s: snapshots hold the palm gallery and are not free on a kiosk.
	SnapshotInterval time.Duration
	// SnapshotThreshold is the number of new log entries that triggers a
	// snapshot. Default 4096: store writes (enrolments, payments) are a few per
	// minute, so this bounds the Badger log without snapshotting often.
	SnapshotThreshold uint64
	// TrailingLogs is the number of entries kept after a snapshot so that a
	// lagging kiosk (rebooted, briefly off the LAN) catches up from the log
	// rather than by a full snapshot install. Default 4096 (hours of writes).
	TrailingLogs uint64
	// DialTimeout bounds a libp2p dial or stream open to a peer (raft RPCs,
	// forwarding). Default 750ms: on a LAN a QUIC handshake takes a few ms, so
	// a dead leader is detected quickly and the next one tried.
	DialTimeout time.Duration
	// PromoteMaxLag is how many entries a joined non-voter may be behind the
	// leader's commit index and still be promoted to voter. Default 8.
	PromoteMaxLag uint64
	// MaxAppendEntries is the most log entries the leader writes to its log
	// store in one synced batch and sends in one AppendEntries. Default 512
	// (raft: 64): every batch costs one disk sync (~4 ms on a kiosk's disk), so
	// under a burst of concurrent checkouts a larger batch is what turns sync
	// latency into throughput. Raft caps it at 1024. Zero means 512.
	MaxAppendEntries int
	// PersistentFSM says the FSM keeps its own state on disk across restarts
	// and skips entries it already applied (replication.FSM does). Raft then
	// does not restore the newest snapshot into it at start
	// (raft.Config.NoSnapshotRestoreOnStart), so a restart costs no full
	// state rebuild. The FSM must have synced its state before raft persists
	// a snapshot of it.
	PersistentFSM bool
}

// DefaultConfig returns a Config with the store-LAN defaults documented on each
// field. DataDir, StoreID and Secret must still be set.
func DefaultConfig() Config {
	return Config{
		GossipAddr:         "127.0.0.1:7946",
		P2PAddr:            "127.0.0.1:4001",
		HeartbeatTimeout:   150 * time.Millisecond,
		ElectionTimeout:    150 * time.Millisecond,
		LeaderLeaseTimeout: 150 * time.Millisecond,
		CommitTimeout:      10 * time.Millisecond,
		SnapshotInterval:   60 * time.Second,
		SnapshotThreshold:  4096,
		TrailingLogs:       4096,
		DialTimeout:        750 * time.Millisecond,
		PromoteMaxLag:      8,
		MaxAppendEntries:   512,
	}
}

// Validate checks ranges and cross-field rules. It does not modify c.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	if c.NodeID != "" && !validID(c.NodeID) {
		return bad("NodeID %q: want 1-%d bytes of [A-Za-z0-9._-]", c.NodeID, maxIDLen)
	}
	if c.DataDir == "" {
		return bad("DataDir is empty")
	}
	if !validID(c.StoreID) {
		return bad("StoreID %q: want 1-%d bytes of [A-Za-z0-9._-]", c.StoreID, maxIDLen)
	}
	if len(c.Secret) < minSecretLen {
		return bad("Secret has %d bytes, want at least %d", len(c.Secret), minSecretLen)
	}
	if _, err := parseIPPort(c.GossipAddr); err != nil {
		return bad("GossipAddr: %w", err)
	}
	if _, err := parseIPPort(c.P2PAddr); err != nil {
		return bad("P2PAddr: %w", err)
	}
	if len(c.APIAddr) > maxAPIAddrLen {
		return bad("APIAddr longer than %d bytes", maxAPIAddrLen)
	}
	if c.BootstrapExpect < 0 {
		return bad("BootstrapExpect %d < 0", c.BootstrapExpect)
	}
	for _, j := range c.Join {
		if _, _, err := net.SplitHostPort(j); err != nil {
			return bad("Join address %q: %w", j, err)
		}
	}
	if c.HeartbeatTimeout < 5*time.Millisecond || c.ElectionTimeout < 5*time.Millisecond {
		return bad("HeartbeatTimeout and ElectionTimeout must be >= 5ms")
	}
	if c.LeaderLeaseTimeout < 5*time.Millisecond || c.LeaderLeaseTimeout > c.HeartbeatTimeout {
		return bad("LeaderLeaseTimeout must be in [5ms, HeartbeatTimeout]")
	}
	if c.CommitTimeout < time.Millisecond {
		return bad("CommitTimeout must be >= 1ms")
	}
	if c.SnapshotInterval < 5*time.Millisecond || c.SnapshotThreshold == 0 {
		return bad("SnapshotInterval must be >= 5ms and SnapshotThreshold > 0")
	}
	if c.MaxAppendEntries < 0 || c.MaxAppendEntries > 1024 {
		return bad("MaxAppendEntries must be in [0, 1024] (0: 512)")
	}
	if c.DialTimeout <= 0 {
		return bad("DialTimeout must be > 0")
	}
	return nil
}

// validID reports whether s is a usable node or store ID.
func validID(s string) bool {
	if len(s) == 0 || len(s) > maxIDLen {
		return false
	}
	for _, r := range s {
		ok := r == '.' || r == '_' || r == '-' ||
			(r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !ok {
			return false
		}
	}
	return true
}

// parseIPPort parses "ip:port" where ip is a specific IP literal (not
// 0.0.0.0 or ::) and port may be 0.
func parseIPPort(s string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("host %q is not an IP literal", host)
	}
	if ip.IsUnspecified() {
		return netip.AddrPort{}, fmt.Errorf("host %s: want the kiosk's own address (it is advertised), not a wildcard", host)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port %q: %w", port, err)
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(p)), nil
}

// gossipKey derives the 32-byte memberlist key (AES-256) from the store secret.
func gossipKey(secret []byte, storeID string) ([]byte, error) {
	return hkdf.Key(sha256.New, secret, nil, "palmtill gossip v1"+storeID, 32)
}
