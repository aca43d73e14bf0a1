package badgerstore

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// listFSM records applied commands; snapshots carry the whole list.
type listFSM struct {
	mu   sync.Mutex
	cmds []string
}

func (f *listFSM) Apply(l *raft.Log) any {
	if l.Type == raft.LogCommand {
		f.mu.Lock()
		f.cmds = append(f.cmds, string(l.Data))
		f.mu.Unlock()
	}
	return nil
}

func (f *listFSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return listSnapshot(slices.Clone(f.cmds)), nil
}

func (f *listFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var cmds []string
	if err := json.NewDecoder(rc).Decode(&cmds); err != nil {
		return err
	}
	f.mu.Lock()
	f.cmds = cmds
	f.mu.Unlock()
	return nil
}

func (f *listFSM) list() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.cmds)
}

type listSnapshot []string

func (s listSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := json.NewEncoder(sink).Encode([]string(s)); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (listSnapshot) Release() {}

// raftNode is one in-process Raft server whose log and stable store is a
// Store in its own directory.
type raftNode struct {
	id    raft.ServerID
	addr  raft.ServerAddress
	dir   string
	store *Store
	trans *raft.InmemTransport
	fsm   *listFSM
	raft  *raft.Raft
}

type cluster struct {
	t     *testing.T
	nodes []*raftNode
}

func (c *cluster) raftConfig(n *raftNode) *raft.Config {
	conf := raft.DefaultConfig()
	conf.LocalID = n.id
	// Short timeouts, with room for -race on a loaded 2-core machine.
	conf.HeartbeatTimeout = 200 * time.Millisecond
	conf.ElectionTimeout = 200 * time.Millisecond
	conf.LeaderLeaseTimeout = 100 * time.Millisecond
	conf.CommitTimeout = 5 * time.Millisecond
	// Snapshot and compact often, so the Store's DeleteRange runs under
	// Raft and a lagging node may need a snapshot to catch up.
	conf.SnapshotThreshold = 16
	conf.SnapshotInterval = 100 * time.Millisecond
	conf.TrailingLogs = 8
	conf.Logger = hclog.New(&hclog.LoggerOptions{Name: string(n.id), Output: testWriter{c.t}, Level: hclog.Error})
	return conf
}

// start opens (or reopens) n's store and starts Raft on it.
func (c *cluster) start(n *raftNode) {
	t := c.t
	t.Helper()
	// Not openStore: its cleanup would close the store before Raft stops.
	var err error
	n.store, err = New(testConfig(t, filepath.Join(n.dir, "raft")))
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := raft.NewFileSnapshotStore(filepath.Join(n.dir, "snapshots"), 2, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	_, n.trans = raft.NewInmemTransport(n.addr)
	for _, o := range c.nodes {
		if o != n && o.trans != nil {
			o.trans.Connect(n.addr, n.trans)
			n.trans.Connect(o.addr, o.trans)
		}
	}
	n.fsm = &listFSM{}
	n.raft, err = raft.NewRaft(c.raftConfig(n), n.fsm, n.store, n.store, snaps, n.trans)
	if err != nil {
		t.Fatalf("NewRaft %s: %v", n.id, err)
	}
}

// stop shuts Raft down and closes the store, leaving the directory.
func (c *cluster) stop(n *raftNode) {
	c.t.Helper()
	if n.raft == nil {
		return
	}
	if err := n.raft.Shutdown().Error(); err != nil {
		c.t.Errorf("shutdown %s: %v", n.id, err)
	}
	if err := n.store.Close(); err != nil {
		c.t.Errorf("close store %s: %v", n.id, err)
	}
	n.trans.Close()
	n.raft, n.trans = nil, nil
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (c *cluster) leader() *raftNode {
	c.t.Helper()
	var l *raftNode
	waitFor(c.t, "a leader", func() bool {
		for _, n := range c.nodes {
			if n.raft != nil && n.raft.State() == raft.Leader {
				l = n
				return true
			}
		}
		return false
	})
	return l
}

// apply applies commands "cmd-from" .. "cmd-(to-1)" through the leader,
// retrying when leadership moves.
func (c *cluster) apply(from, to int) {
	c.t.Helper()
	for i := from; i < to; {
		err := c.leader().raft.Apply([]byte(fmt.Sprintf("cmd-%d", i)), 5*time.Second).Error()
		if err != nil {
			c.t.Logf("apply %d: %v (retrying)", i, err)
			continue
		}
		i++
	}
}

func wantCmds(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("cmd-%d", i)
	}
	return out
}

func (c *cluster) waitApplied(n *raftNode, total int) {
	c.t.Helper()
	want := wantCmds(total)
	waitFor(c.t, fmt.Sprintf("%s to apply %d commands", n.id, total), func() bool {
		return slices.Equal(n.fsm.list(), want)
	})
}

// TestRaftCluster runs three Raft servers on Stores over an in-memory
// transport: it applies commands, restarts a follower from its directory
// while the others move on (so it catches up from its own log plus the
// leader's log or a snapshot), then restarts the whole cluster.
func TestRaftCluster(t *testing.T) {
	c := &cluster{t: t}
	var servers []raft.Server
	for i := range 3 {
		n := &raftNode{
			id:   raft.ServerID(fmt.Sprintf("node-%d", i)),
			addr: raft.ServerAddress(fmt.Sprintf("addr-%d", i)),
			dir:  t.TempDir(),
		}
		c.nodes = append(c.nodes, n)
		servers = append(servers, raft.Server{ID: n.id, Address: n.addr})
	}
	t.Cleanup(func() {
		for _, n := range c.nodes {
			c.stop(n)
		}
	})
	for _, n := range c.nodes {
		c.start(n)
	}
	if err := c.nodes[0].raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}

	c.apply(0, 40)
	for _, n := range c.nodes {
		c.waitApplied(n, 40)
	}

	// Restart a follower; the cluster goes on without it meanwhile.
	leader := c.leader()
	var follower *raftNode
	for _, n := range c.nodes {
		if n != leader {
			follower = n
			break
		}
	}
	c.stop(follower)
	c.apply(40, 80)
	c.start(follower)
	c.waitApplied(follower, 80)
	last, err := follower.store.LastIndex()
	if err != nil || last == 0 {
		t.Fatalf("restarted follower LastIndex = %d, %v", last, err)
	}

	// Restart everything: term, vote and logs come back from the stores.
	terms := map[raft.ServerID]uint64{}
	for _, n := range c.nodes {
		term, err := n.store.GetUint64([]byte("CurrentTerm"))
		if err != nil || term == 0 {
			t.Fatalf("%s CurrentTerm = %d, %v", n.id, term, err)
		}
		terms[n.id] = term
		c.stop(n)
	}
	for _, n := range c.nodes {
		c.start(n)
	}
	c.apply(80, 90)
	for _, n := range c.nodes {
		c.waitApplied(n, 90)
		term, err := n.store.GetUint64([]byte("CurrentTerm"))
		if err != nil || term < terms[n.id] {
			t.Fatalf("%s CurrentTerm after restart = %d, %v; was %d", n.id, term, err, terms[n.id])
		}
	}
}
