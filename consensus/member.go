package consensus

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Gossip states of a Member.
const (
	GossipAlive   = "alive"
	GossipSuspect = "suspect"
	GossipDead    = "dead"
	GossipLeft    = "left"
	GossipUnknown = "unknown" // in the raft configuration but not seen in gossip
)

// Raft suffrage of a Member.
const (
	SuffrageVoter    = "voter"
	SuffrageNonvoter = "nonvoter"
	SuffrageNone     = "none" // not in the raft configuration
)

// Member describes one kiosk of the store as seen by this node: its gossip
// metadata merged with its place in the raft configuration.
type Member struct {
	ID         string // raft server ID and memberlist node name
	StoreID    string
	GossipAddr string // "ip:port"
	P2PAddr    string // libp2p multiaddr ending in /p2p/<peer id>, or just /p2p/<peer id> if unknown
	APIAddr    string // the node's HTTP address (opaque)
	Gossip     string // GossipAlive, GossipSuspect, GossipDead, GossipLeft or GossipUnknown
	Suffrage   string // SuffrageVoter, SuffrageNonvoter or SuffrageNone
	Leader     bool   // raft leader as known by this node
}

// metaVersion1 is the first byte of version-1 gossip metadata.
const metaVersion1 = 1

// metaMaxSize is memberlist's limit on node metadata.
const metaMaxSize = 512

// meta is what every member advertises in its memberlist node metadata. It
// is encoded as one version byte followed by JSON with short keys; decoders
// reject other versions. Validate bounds every field so it fits 512 bytes.
type meta struct {
	StoreID  string `json:"s"`
	NodeID   string `json:"n"`
	PeerID   string `json:"p"`           // libp2p peer ID (raft ServerAddress)
	P2PAddr  string `json:"m"`           // libp2p listen multiaddr without /p2p
	APIAddr  string `json:"a,omitempty"` // opaque
	HasState bool   `json:"h,omitempty"` // has raft state (log, snapshot or term)
	Expect   int    `json:"e,omitempty"` // BootstrapExpect (0: waits to be joined)
	Boot     string `json:"b,omitempty"` // bootstrap proposal hash, while forming
}

var errBadMeta = errors.New("bad gossip metadata")

func (m meta) encode() ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	out := append([]byte{metaVersion1}, b...)
	if len(out) > metaMaxSize {
		return nil, fmt.Errorf("%w: %d bytes > %d", errBadMeta, len(out), metaMaxSize)
	}
	return out, nil
}

// decodeMeta parses gossip metadata received from the network.
func decodeMeta(b []byte) (meta, error) {
	var m meta
	if len(b) == 0 {
		return m, fmt.Errorf("%w: empty", errBadMeta)
	}
	if len(b) > metaMaxSize {
		return m, fmt.Errorf("%w: %d bytes", errBadMeta, len(b))
	}
	if b[0] != metaVersion1 {
		return m, fmt.Errorf("%w: version %d", errBadMeta, b[0])
	}
	if err := json.Unmarshal(b[1:], &m); err != nil {
		return m, fmt.Errorf("%w: %v", errBadMeta, err)
	}
	if !validID(m.StoreID) || !validID(m.NodeID) || m.PeerID == "" || len(m.PeerID) > 128 {
		return m, fmt.Errorf("%w: missing or invalid ids", errBadMeta)
	}
	return m, nil
}
