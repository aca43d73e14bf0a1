package consensus

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"github.com/libp2p/go-libp2p/core/peer"
)

// promoteInterval paces the catch-up checks of a joined non-voter.
const promoteInterval = 100 * time.Millisecond

// notLeader builds the error for leader-only operations on a follower.
func (c *Cluster) notLeader() error {
	l, _ := c.Leader()
	return &NotLeaderError{Leader: l}
}

// Join adds the kiosk listening for gossip at gossipAddr to the store
// ("palmctl join ADDR"). It must run on the leader (else a *NotLeaderError).
// It contacts the kiosk through gossip, waits for its metadata, checks its
// store (ErrWrongStore, also returned when gossip cannot decrypt its
// traffic: another store or another secret), and adds it to raft as a non-voter. It returns once
// the kiosk is a non-voter; promotion to voter happens in the background
// once its applied index is within Config.PromoteMaxLag of the leader's
// commit index (leader only; abandoned on leadership loss or shutdown, and
// resumed by the next leader). Joining a kiosk that is already a voter
// returns it unchanged.
func (c *Cluster) Join(ctx context.Context, gossipAddr string) (Member, error) {
	if c.isShutdown() {
		return Member{}, ErrShutdown
	}
	if !c.IsLeader() {
		return Member{}, c.notLeader()
	}
	target, err := net.ResolveTCPAddr("tcp", gossipAddr)
	if err != nil {
		return Member{}, fmt.Errorf("join %q: %w", gossipAddr, err)
	}
	addr := target.String()
	if _, err := c.ml.Join([]string{addr}); err != nil {
		if rej := c.rejection(addr); rej != nil {
			return Member{}, fmt.Errorf("join %s: %w", addr, rej)
		}
		if msg := err.Error(); strings.Contains(msg, "decrypt") || strings.Contains(msg, "label") {
			// The kiosk does not share our gossip key or label: it belongs
			// to another store or holds another store secret.
			return Member{}, fmt.Errorf("join %s: %w (or another store secret): %v", addr, ErrWrongStore,
				strings.Join(strings.Fields(msg), " "))
		}
		return Member{}, fmt.Errorf("join %s: gossip: %w", addr, err)
	}
	g, err := c.awaitMember(ctx, addr)
	if err != nil {
		return Member{}, err
	}
	if g.meta.StoreID != c.cfg.StoreID {
		return Member{}, fmt.Errorf("join %s: %w: %q", addr, ErrWrongStore, g.meta.StoreID)
	}
	id, raftAddr := raft.ServerID(g.meta.NodeID), raft.ServerAddress(g.meta.PeerID)
	if pid, err := peer.Decode(g.meta.PeerID); err == nil {
		c.gater.allow(pid)
	}
	if s, ok := c.server(id); ok && s.Suffrage == raft.Voter {
		return c.member(string(id)), nil
	}
	f := c.raft.AddNonvoter(id, raftAddr, 0, raftTimeout(ctx))
	if err := classify(c.wait(ctx, f)); err != nil {
		if !c.IsLeader() {
			return Member{}, c.notLeader()
		}
		return Member{}, fmt.Errorf("join %s: add non-voter: %w", id, err)
	}
	c.log.Info("added non-voter", "id", id, "gossip", addr)
	c.startPromotion(id, raftAddr)
	return c.member(string(id)), nil
}

// rejection returns why gossip refused addr, if it did.
func (c *Cluster) rejection(addr string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rejected[addr]
}

// awaitMember waits until an admitted gossip member has address addr.
func (c *Cluster) awaitMember(ctx context.Context, addr string) (gossipMember, error) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		c.mu.Lock()
		for _, g := range c.members {
			if g.addr == addr && g.state == GossipAlive {
				gm := *g
				c.mu.Unlock()
				return gm, nil
			}
		}
		rej := c.rejected[addr]
		c.mu.Unlock()
		if rej != nil {
			return gossipMember{}, fmt.Errorf("join %s: %w", addr, rej)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return gossipMember{}, fmt.Errorf("join %s: waiting for its metadata: %w: %w", addr, ErrTimeout, ctx.Err())
		case <-c.shutdownC:
			return gossipMember{}, ErrShutdown
		}
	}
}

// server returns id's entry in the latest raft configuration.
func (c *Cluster) server(id raft.ServerID) (raft.Server, bool) {
	f := c.raft.GetConfiguration()
	if f.Error() != nil {
		return raft.Server{}, false
	}
	for _, s := range f.Configuration().Servers {
		if s.ID == id {
			return s, true
		}
	}
	return raft.Server{}, false
}

// member returns Members()' entry for id.
func (c *Cluster) member(id string) Member {
	for _, m := range c.Members() {
		if m.ID == id {
			return m
		}
	}
	return Member{ID: id}
}

// startPromotion starts (once per server) the leader-only loop that
// promotes a non-voter to voter when it has caught up.
func (c *Cluster) startPromotion(id raft.ServerID, addr raft.ServerAddress) {
	c.mu.Lock()
	ctx := c.leaderCtx
	if ctx == nil || c.promoting[id] || c.isShutdown() {
		c.mu.Unlock()
		return
	}
	c.promoting[id] = true
	c.mu.Unlock()
	c.goBackground(func() {
		defer func() {
			c.mu.Lock()
			delete(c.promoting, id)
			c.mu.Unlock()
		}()
		c.promote(ctx, id, addr)
	})
}

// promote polls the non-voter's applied index and promotes it once it is
// within PromoteMaxLag of the commit index. It stops when ctx (leadership)
// ends, on shutdown, or when the server is no longer a non-voter.
func (c *Cluster) promote(ctx context.Context, id raft.ServerID, addr raft.ServerAddress) {
	pid, err := peer.Decode(string(addr))
	if err != nil {
		c.log.Error("cannot promote: bad address", "id", id, "addr", addr, "error", err)
		return
	}
	t := time.NewTicker(promoteInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.shutdownC:
			return
		case <-t.C:
		}
		s, ok := c.server(id)
		if !ok || s.Suffrage != raft.Nonvoter {
			return
		}
		sctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
		st, err := c.peerStatus(sctx, pid)
		cancel()
		if err != nil {
			c.log.Debug("non-voter status", "id", id, "error", err)
			continue
		}
		commit := c.raft.CommitIndex()
		if st.AppliedIndex+c.cfg.PromoteMaxLag < commit {
			continue
		}
		f := c.raft.AddVoter(id, addr, 0, 5*time.Second)
		if err := f.Error(); err != nil {
			c.log.Warn("promotion failed", "id", id, "error", err)
			continue
		}
		c.log.Info("promoted to voter", "id", id, "applied", st.AppliedIndex, "commit", commit)
		return
	}
}

// Remove removes server id from the raft configuration (leader only, else a
// *NotLeaderError). It refuses to remove the last voter (ErrLastVoter) and
// returns ErrUnknownNode for an ID not in the configuration. Removing the
// leader itself makes it step down. The kiosk stays in gossip until it leaves.
func (c *Cluster) Remove(ctx context.Context, id string) error {
	if c.isShutdown() {
		return ErrShutdown
	}
	if !c.IsLeader() {
		return c.notLeader()
	}
	f := c.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return fmt.Errorf("remove %s: %w", id, err)
	}
	var found *raft.Server
	voters := 0
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			voters++
		}
		if s.ID == raft.ServerID(id) {
			found = &s
		}
	}
	if found == nil {
		return fmt.Errorf("remove %s: %w", id, ErrUnknownNode)
	}
	if found.Suffrage == raft.Voter && voters <= 1 {
		return fmt.Errorf("remove %s: %w", id, ErrLastVoter)
	}
	rf := c.raft.RemoveServer(raft.ServerID(id), f.Index(), raftTimeout(ctx))
	if err := classify(c.wait(ctx, rf)); err != nil {
		if !c.IsLeader() {
			return c.notLeader()
		}
		return fmt.Errorf("remove %s: %w", id, err)
	}
	c.log.Info("removed server", "id", id)
	return nil
}
