package consensus

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/raft"
)

// maintenanceInterval paces the maintenance loop (it also wakes on gossip events).
const maintenanceInterval = 100 * time.Millisecond

// kickMaintenance wakes the maintenance loop without blocking.
func (c *Cluster) kickMaintenance() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// maintenanceLoop keeps the advertised metadata current (has raft state) and
// runs the self-forming protocol until this node has raft state.
func (c *Cluster) maintenanceLoop() {
	t := time.NewTicker(maintenanceInterval)
	defer t.Stop()
	var lastNote string
	for {
		select {
		case <-c.shutdownC:
			return
		case <-t.C:
		case <-c.kick:
		}
		c.refreshState()
		if c.hasState.Load() || c.cfg.BootstrapExpect == 0 {
			continue
		}
		if note := c.tryBootstrap(); note != lastNote && note != "" {
			c.log.Info("bootstrap: "+note, "expect", c.cfg.BootstrapExpect)
			lastNote = note
		}
	}
}

// refreshState notices that raft acquired state (bootstrapped, or joined by a
// leader) and advertises it, so that fresh kiosks never form a second cluster.
func (c *Cluster) refreshState() {
	if c.hasState.Load() {
		return
	}
	if c.raft.LastIndex() == 0 && c.raft.CurrentTerm() == 0 {
		return
	}
	c.hasState.Store(true)
	c.setLocalMeta(func(m *meta) { m.HasState, m.Boot = true, "" })
}

// setLocalMeta changes the advertised metadata and gossips it.
func (c *Cluster) setLocalMeta(f func(*meta)) {
	c.mu.Lock()
	before := c.local
	f(&c.local)
	changed := before != c.local
	c.mu.Unlock()
	if changed && !c.isShutdown() {
		if err := c.ml.UpdateNode(time.Second); err != nil {
			c.log.Warn("gossip metadata update", "error", err)
		}
	}
}

// tryBootstrap runs one round of self-forming (like Consul's
// bootstrap-expect). Candidates are the alive store members without raft
// state that have BootstrapExpect > 0. This node bootstraps raft when:
//   - the initial contact of Config.Join has been attempted;
//   - no alive member has raft state and no leader is known (an existing
//     cluster joins newcomers instead: they wait);
//   - every candidate has the same BootstrapExpect N, and there are >= N;
//   - every candidate advertises the same proposal: the hash of the N
//     candidates with the lowest IDs (the chosen set), i.e. they all see the
//     same candidates;
//   - this node is in the chosen set.
//
// Every chosen member then bootstraps with the identical configuration,
// which raft accepts concurrently. It returns a note on what it waits for.
func (c *Cluster) tryBootstrap() string {
	if !c.joinTried.Load() {
		return "waiting for the initial gossip join"
	}
	if _, id := c.raft.LeaderWithID(); id != "" {
		return "a leader is known, waiting to be joined"
	}
	n := c.cfg.BootstrapExpect
	var cands []meta
	c.mu.Lock()
	for _, g := range c.members {
		if g.state != GossipAlive {
			continue
		}
		if g.meta.HasState {
			c.mu.Unlock()
			c.setLocalMeta(func(m *meta) { m.Boot = "" })
			return "member " + g.meta.NodeID + " has raft state, waiting to be joined"
		}
		if g.meta.Expect > 0 {
			cands = append(cands, g.meta)
		}
	}
	c.mu.Unlock()
	for _, m := range cands {
		if m.Expect != n {
			return fmt.Sprintf("member %s has BootstrapExpect %d, ours is %d: not bootstrapping", m.NodeID, m.Expect, n)
		}
	}
	if len(cands) < n {
		c.setLocalMeta(func(m *meta) { m.Boot = "" })
		return "waiting for more kiosks"
	}
	slices.SortFunc(cands, func(a, b meta) int { return strings.Compare(a.NodeID, b.NodeID) })
	chosen := cands[:n]
	proposal := proposalHash(chosen)
	c.setLocalMeta(func(m *meta) { m.Boot = proposal })
	for _, m := range cands {
		if m.NodeID != c.nodeID && m.Boot != proposal {
			return "waiting for all kiosks to agree on the same server set"
		}
	}
	if !slices.ContainsFunc(chosen, func(m meta) bool { return m.NodeID == c.nodeID }) {
		return "not among the first kiosks, waiting to be joined"
	}
	conf := raft.Configuration{}
	for _, m := range chosen {
		conf.Servers = append(conf.Servers, raft.Server{
			Suffrage: raft.Voter,
			ID:       raft.ServerID(m.NodeID),
			Address:  raft.ServerAddress(m.PeerID),
		})
	}
	err := c.raft.BootstrapCluster(conf).Error()
	if err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
		c.log.Error("bootstrap failed", "error", err)
		return "bootstrap failed: " + err.Error()
	}
	c.hasState.Store(true)
	c.setLocalMeta(func(m *meta) { m.HasState = true })
	ids := make([]string, len(chosen))
	for i, m := range chosen {
		ids[i] = m.NodeID
	}
	c.log.Info("bootstrapped raft cluster", "servers", ids, "already", err != nil)
	return ""
}

// proposalHash names a candidate server set.
func proposalHash(ms []meta) string {
	h := sha256.New()
	for _, m := range ms {
		h.Write([]byte(m.NodeID + "\x00" + m.PeerID + "\x00"))
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// joinLoop contacts Config.Join addresses, with backoff, until one answers.
func (c *Cluster) joinLoop() {
	wait := 200 * time.Millisecond
	for {
		n, err := c.ml.Join(c.cfg.Join)
		c.joinTried.Store(true)
		c.kickMaintenance()
		if n > 0 {
			c.log.Info("joined gossip", "contacted", n)
			return
		}
		if err != nil && strings.Contains(err.Error(), "decrypt") {
			c.log.Error("gossip join refused: the kiosks at these addresses belong to another store or hold another store secret; check --store-id and --secret-file",
				"addrs", c.cfg.Join, "error", err, "retry_in", wait)
		} else {
			c.log.Warn("gossip join failed, will retry", "addrs", c.cfg.Join, "error", err, "retry_in", wait)
		}
		select {
		case <-c.shutdownC:
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}
