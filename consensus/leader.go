package consensus

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"
)

// observeLoop turns raft leader observations into a broadcast on c.changed,
// which wakes Apply/Barrier retries as soon as a (new) leader is known.
func (c *Cluster) observeLoop(obs <-chan raft.Observation) {
	for {
		select {
		case <-c.shutdownC:
			return
		case o := <-obs:
			if lo, ok := o.Data.(raft.LeaderObservation); ok {
				c.log.Debug("leader changed", "leader", lo.LeaderID)
			}
			c.signalLeaderChange()
		}
	}
}

// signalLeaderChange wakes everyone waiting on leaderChanged.
func (c *Cluster) signalLeaderChange() {
	c.mu.Lock()
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// leaderChanged returns a channel closed at the next leader change.
func (c *Cluster) leaderChanged() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

// leadershipLoop consumes raft's NotifyCh (raft blocks on it, so this runs
// until raft has shut down), starts and stops leader-only work and forwards
// the value to LeaderCh without ever blocking.
func (c *Cluster) leadershipLoop(notify <-chan bool) {
	for {
		select {
		case <-c.raftDone:
			c.stepDown()
			return
		case isLeader := <-notify:
			if isLeader {
				c.stepUp()
			} else {
				c.stepDown()
			}
			c.signalLeaderChange()
			for {
				select {
				case c.leaderCh <- isLeader:
				default:
					select { // drop the stale value so the newest one wins
					case <-c.leaderCh:
					default:
					}
					continue
				}
				break
			}
		}
	}
}

// stepUp starts leader-only work: catching up and promoting non-voters left
// over by a previous leader.
func (c *Cluster) stepUp() {
	ctx, cancel := context.WithCancel(context.Background())
	c.mu.Lock()
	if c.stopLead != nil {
		c.stopLead()
	}
	c.leaderCtx, c.stopLead = ctx, cancel
	c.mu.Unlock()
	c.log.Info("gained leadership", "term", c.raft.CurrentTerm())
	f := c.raft.GetConfiguration()
	if f.Error() != nil {
		return
	}
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Nonvoter {
			c.startPromotion(s.ID, s.Address)
		}
	}
	// TODO(autopilot): dead-kiosk cleanup (removing servers whose gossip
	// state has been "dead" for long) belongs here, as a leader-only loop
	// bound to ctx. It is deliberately not automatic yet.
}

// stepDown cancels leader-only work.
func (c *Cluster) stepDown() {
	c.mu.Lock()
	if c.stopLead != nil {
		c.stopLead()
		c.stopLead = nil
		c.log.Info("lost leadership")
	}
	c.leaderCtx = nil
	c.mu.Unlock()
}

// IsLeader reports whether this node is the raft leader.
func (c *Cluster) IsLeader() bool {
	return !c.isShutdown() && c.raft.State() == raft.Leader
}

// LeaderCh delivers true when this node gains leadership and false when it
// loses it. The channel is buffered and never blocks raft: if the reader
// falls behind, older values are dropped and the newest is kept. It is never
// closed; stop reading after Shutdown.
func (c *Cluster) LeaderCh() <-chan bool { return c.leaderCh }

// Leader returns the current leader as known by this node, if any.
func (c *Cluster) Leader() (Member, bool) {
	if c.isShutdown() {
		return Member{}, false
	}
	_, id := c.raft.LeaderWithID()
	if id == "" {
		return Member{}, false
	}
	for _, m := range c.Members() {
		if m.ID == string(id) {
			return m, true
		}
	}
	return Member{ID: string(id), Gossip: GossipUnknown, Leader: true}, true
}

// Self returns this node's member record with the addresses actually bound.
func (c *Cluster) Self() Member {
	m := Member{
		ID:         c.nodeID,
		StoreID:    c.cfg.StoreID,
		GossipAddr: c.gossipAddr,
		P2PAddr:    c.p2pAddr,
		APIAddr:    c.cfg.APIAddr,
		Gossip:     GossipAlive,
		Suffrage:   SuffrageNone,
	}
	if c.isShutdown() {
		m.Gossip = GossipLeft
		return m
	}
	if f := c.raft.GetConfiguration(); f.Error() == nil {
		for _, s := range f.Configuration().Servers {
			if s.ID == raft.ServerID(c.nodeID) {
				m.Suffrage = suffrage(s.Suffrage)
			}
		}
	}
	m.Leader = c.raft.State() == raft.Leader
	return m
}

func suffrage(s raft.ServerSuffrage) string {
	if s == raft.Voter {
		return SuffrageVoter
	}
	return SuffrageNonvoter
}

// Members returns the store's gossip members merged with the raft
// configuration, sorted by ID. Members refused by gossip (other store,
// undecodable metadata) never appear.
func (c *Cluster) Members() []Member {
	if c.isShutdown() {
		return nil
	}
	byID := make(map[string]*Member)
	c.mu.Lock()
	for name, g := range c.members {
		byID[name] = &Member{
			ID:         name,
			StoreID:    g.meta.StoreID,
			GossipAddr: g.addr,
			P2PAddr:    g.meta.P2PAddr + "/p2p/" + g.meta.PeerID,
			APIAddr:    g.meta.APIAddr,
			Gossip:     g.state,
			Suffrage:   SuffrageNone,
		}
	}
	c.mu.Unlock()
	for _, n := range c.ml.Members() { // overlay suspect states
		if m, ok := byID[n.Name]; ok && n.State == memberlist.StateSuspect {
			m.Gossip = GossipSuspect
		}
	}
	if f := c.raft.GetConfiguration(); f.Error() == nil {
		for _, s := range f.Configuration().Servers {
			m, ok := byID[string(s.ID)]
			if !ok {
				m = &Member{ID: string(s.ID), StoreID: c.cfg.StoreID, P2PAddr: "/p2p/" + string(s.Address), Gossip: GossipUnknown}
				byID[string(s.ID)] = m
			}
			m.Suffrage = suffrage(s.Suffrage)
		}
	}
	if _, id := c.raft.LeaderWithID(); id != "" {
		if m, ok := byID[string(id)]; ok {
			m.Leader = true
		}
	}
	out := make([]Member, 0, len(byID))
	for _, m := range byID {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Stats is a snapshot of this node's raft state.
type Stats struct {
	State             string        // "Leader", "Follower", "Candidate" or "Shutdown"
	Term              uint64        // current term
	LastIndex         uint64        // last log index (in the log or snapshot)
	CommitIndex       uint64        // highest index known committed
	AppliedIndex      uint64        // highest index applied to the FSM
	LastSnapshotIndex uint64        // index of the latest snapshot
	LastContact       time.Duration // since the last contact with the leader; 0 on the leader, -1 if never
	LeaderID          string        // current leader's ID, empty if unknown
	NumPeers          int           // other servers in the raft configuration
	NumVoters         int           // voters in the raft configuration, self included
	GossipMembers     int           // alive or suspect gossip members, self included
}

// Stats returns a snapshot of this node's raft state.
func (c *Cluster) Stats() Stats {
	if c.isShutdown() {
		return Stats{State: raft.Shutdown.String()}
	}
	r := c.raft
	s := Stats{
		State:        r.State().String(),
		Term:         r.CurrentTerm(),
		LastIndex:    r.LastIndex(),
		CommitIndex:  r.CommitIndex(),
		AppliedIndex: r.AppliedIndex(),
		LastContact:  -1,
	}
	if v, err := strconv.ParseUint(r.Stats()["last_snapshot_index"], 10, 64); err == nil {
		s.LastSnapshotIndex = v
	}
	if r.State() == raft.Leader {
		s.LastContact = 0
	} else if t := r.LastContact(); !t.IsZero() {
		s.LastContact = time.Since(t)
	}
	_, id := r.LeaderWithID()
	s.LeaderID = string(id)
	if f := r.GetConfiguration(); f.Error() == nil {
		for _, srv := range f.Configuration().Servers {
			if srv.ID != raft.ServerID(c.nodeID) {
				s.NumPeers++
			}
			if srv.Suffrage == raft.Voter {
				s.NumVoters++
			}
		}
	}
	s.GossipMembers = c.ml.NumMembers()
	return s
}
