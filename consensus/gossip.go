package consensus

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	ma "github.com/multiformats/go-multiaddr"
)

// gossipLabel prefixes every gossip packet and stream.
const gossipLabel = "palmtill/gossip/v1"

// gossipMember is what this node knows about one admitted gossip member.
type gossipMember struct {
	meta  meta
	addr  string // "ip:port"
	state string // GossipAlive, GossipSuspect, GossipDead or GossipLeft
}

// newMemberlistConfig tunes memberlist's LAN profile for a store LAN.
func (c *Cluster) newMemberlistConfig(bind netip.AddrPort, key []byte) *memberlist.Config {
	mc := memberlist.DefaultLANConfig()
	mc.Name = c.nodeID
	mc.BindAddr = bind.Addr().String()
	mc.BindPort = int(bind.Port())
	mc.AdvertiseAddr = mc.BindAddr
	mc.AdvertisePort = mc.BindPort
	// Encryption: every packet and stream is AES-256-GCM with the store key
	// (derived from the store secret and the store ID), so a kiosk of
	// another store, or with another secret, cannot decrypt nor be
	// decrypted; both sides log why (see stdLogWriter). The label keeps
	// other memberlist users on the LAN (e.g. Consul) apart.
	mc.SecretKey = key
	mc.GossipVerifyIncoming = true
	mc.GossipVerifyOutgoing = true
	mc.Label = gossipLabel
	// A store has a handful of kiosks on one LAN segment: probe faster than
	// the LAN profile (1s) so the member list reflects a dead kiosk within a
	// few seconds; leadership does not depend on it (raft has its own timers).
	mc.ProbeInterval = 500 * time.Millisecond
	mc.ProbeTimeout = 250 * time.Millisecond
	mc.GossipInterval = 100 * time.Millisecond
	mc.PushPullInterval = 15 * time.Second
	// Join and push/pull run over TCP; on a LAN 10s only delays shutdown.
	mc.TCPTimeout = 2 * time.Second
	// A kiosk that crashed and came back with another address (DHCP) may
	// reclaim its name after this long.
	mc.DeadNodeReclaimTime = 30 * time.Second
	d := &gossipDelegate{c: c}
	mc.Delegate = d
	mc.Events = d
	mc.Alive = d
	mc.Merge = d
	mc.Logger = newStdLogger(c.log.With("component", "memberlist"))
	return mc
}

// gossipDelegate implements memberlist's Delegate, EventDelegate,
// AliveDelegate and MergeDelegate for a Cluster. memberlist calls these from
// its own goroutines; none of them blocks.
type gossipDelegate struct{ c *Cluster }

// NodeMeta returns the local metadata (always < limit, see Config.Validate).
func (d *gossipDelegate) NodeMeta(limit int) []byte {
	d.c.mu.Lock()
	m := d.c.local
	d.c.mu.Unlock()
	b, err := m.encode()
	if err != nil || len(b) > limit {
		d.c.log.Error("gossip metadata too large", "bytes", len(b), "limit", limit, "error", err)
		return nil
	}
	return b
}

func (d *gossipDelegate) NotifyMsg([]byte)                           {}
func (d *gossipDelegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *gossipDelegate) LocalState(join bool) []byte                { return nil }
func (d *gossipDelegate) MergeRemoteState(buf []byte, join bool)     {}

// NotifyAlive admits a node only if its metadata decodes and names our store.
func (d *gossipDelegate) NotifyAlive(n *memberlist.Node) error {
	return d.c.admit(n)
}

// NotifyMerge refuses a join/push-pull whose peers include another store.
func (d *gossipDelegate) NotifyMerge(peers []*memberlist.Node) error {
	for _, n := range peers {
		if err := d.c.admit(n); err != nil {
			return err
		}
	}
	return nil
}

func (d *gossipDelegate) NotifyJoin(n *memberlist.Node)   { d.c.observeMember(n, GossipAlive) }
func (d *gossipDelegate) NotifyUpdate(n *memberlist.Node) { d.c.observeMember(n, GossipAlive) }
func (d *gossipDelegate) NotifyLeave(n *memberlist.Node) {
	st := GossipDead
	if n.State == memberlist.StateLeft {
		st = GossipLeft
	}
	d.c.observeMember(n, st)
}

// admit checks a gossip node's metadata; a refusal is logged once per node
// and reason, and remembered by address for Join.
func (c *Cluster) admit(n *memberlist.Node) error {
	m, err := decodeMeta(n.Meta)
	if err == nil && m.StoreID != c.cfg.StoreID {
		err = fmt.Errorf("%w: store %q, ours %q", ErrWrongStore, m.StoreID, c.cfg.StoreID)
	}
	if err == nil && m.NodeID != n.Name {
		err = fmt.Errorf("%w: node name %q but metadata node id %q", errBadMeta, n.Name, m.NodeID)
	}
	if err == nil {
		return nil
	}
	addr := n.Address()
	c.mu.Lock()
	prev, seen := c.rejected[addr]
	c.rejected[addr] = err
	c.mu.Unlock()
	if !seen || prev.Error() != err.Error() {
		c.log.Warn("refusing gossip member", "node", n.Name, "addr", addr, "reason", err)
	}
	return err
}

// observeMember records a member's state and teaches libp2p its address.
func (c *Cluster) observeMember(n *memberlist.Node, state string) {
	m, err := decodeMeta(n.Meta)
	if err != nil || m.StoreID != c.cfg.StoreID {
		return // never admitted; admit logged why
	}
	c.mu.Lock()
	c.members[n.Name] = &gossipMember{meta: m, addr: n.Address(), state: state}
	c.mu.Unlock()
	if m.NodeID != c.nodeID {
		c.learnPeer(m)
	}
	c.kickMaintenance()
}

// learnPeer admits a store member's peer ID through the connection gater and
// records its QUIC address in the peerstore (replacing older ones).
func (c *Cluster) learnPeer(m meta) {
	pid, err := peer.Decode(m.PeerID)
	if err != nil {
		c.log.Warn("gossip member with bad peer id", "node", m.NodeID, "error", err)
		return
	}
	c.gater.allow(pid)
	addr, err := ma.NewMultiaddr(m.P2PAddr)
	if err != nil {
		c.log.Warn("gossip member with bad p2p address", "node", m.NodeID, "error", err)
		return
	}
	c.host.Peerstore().SetAddrs(pid, []ma.Multiaddr{addr}, peerstore.PermanentAddrTTL)
}

// gossipAddrString returns the "ip:port" memberlist actually bound.
func gossipAddrString(ml *memberlist.Memberlist) string {
	n := ml.LocalNode()
	return net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
}
