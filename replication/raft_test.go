package replication

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// raftNode is one replica of an in-memory hashicorp/raft cluster over the
// FSM: the same wiring the consensus package does, minus the network.
type raftNode struct {
	id    raft.ServerID
	addr  raft.ServerAddress
	cfg   Config
	fsm   *FSM
	raft  *raft.Raft
	trans *raft.InmemTransport
	store *raft.InmemStore
	snaps raft.SnapshotStore
}

func raftConfig(t testing.TB, id raft.ServerID) *raft.Config {
	c := raft.DefaultConfig()
	c.LocalID = id
	c.HeartbeatTimeout = 50 * time.Millisecond
	c.ElectionTimeout = 50 * time.Millisecond
	c.LeaderLeaseTimeout = 50 * time.Millisecond
	c.CommitTimeout = 5 * time.Millisecond
	c.SnapshotThreshold = 1 << 30 // snapshots only when the test asks
	c.TrailingLogs = 8
	c.NoSnapshotRestoreOnStart = true
	c.Logger = hclog.New(&hclog.LoggerOptions{Name: string(id), Output: tlogWriter{t}, Level: hclog.Error})
	return c
}

// start opens the node's FSM and raft on its (kept) stores.
func (n *raftNode) start(t testing.TB, peers []*raftNode) {
	t.Helper()
	f, err := Open(n.cfg)
	if err != nil {
		t.Fatal(err)
	}
	n.fsm = f
	n.addr, n.trans = raft.NewInmemTransport(n.addr)
	for _, p := range peers {
		if p != n && p.trans != nil {
			n.trans.Connect(p.addr, p.trans)
			p.trans.Connect(n.addr, n.trans)
		}
	}
	r, err := raft.NewRaft(raftConfig(t, n.id), n.fsm, n.store, n.store, n.snaps, n.trans)
	if err != nil {
		t.Fatal(err)
	}
	n.raft = r
}

func (n *raftNode) stop(t testing.TB) {
	t.Helper()
	if n.raft == nil {
		return
	}
	if err := n.raft.Shutdown().Error(); err != nil {
		t.Error(err)
	}
	_ = n.trans.Close()
	if err := n.fsm.Close(); err != nil {
		t.Error(err)
	}
	n.raft = nil
}

func newRaftNode(t testing.TB, i int) *raftNode {
	return &raftNode{
		id:    raft.ServerID(fmt.Sprintf("kiosk-%d", i)),
		addr:  raft.ServerAddress(fmt.Sprintf("kiosk-%d", i)),
		cfg:   testConfig(t, t.TempDir()),
		store: raft.NewInmemStore(),
		snaps: raft.NewInmemSnapshotStore(),
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func leaderOf(t testing.TB, nodes []*raftNode) *raftNode {
	t.Helper()
	var leader *raftNode
	waitFor(t, "a leader", func() bool {
		for _, n := range nodes {
			if n.raft != nil && n.raft.State() == raft.Leader {
				leader = n
				return true
			}
		}
		return false
	})
	return leader
}

// proposeErr sends cmd through the current leader, retrying when
// leadership moves (commands are idempotent, so a retry is safe).
func proposeErr(nodes []*raftNode, cmd []byte) (Result, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		var fut raft.ApplyFuture
		for _, n := range nodes {
			if r := n.raft; r != nil && r.State() == raft.Leader {
				fut = r.Apply(cmd, 2*time.Second)
				break
			}
		}
		var err error
		if fut == nil {
			err = raft.ErrNotLeader
		} else if err = fut.Error(); err == nil {
			b, ok := fut.Response().([]byte)
			if !ok {
				return Result{}, fmt.Errorf("response is %T, want []byte", fut.Response())
			}
			return DecodeResult(b)
		}
		if time.Now().After(deadline) {
			return Result{}, fmt.Errorf("raft apply: %w", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func propose(t testing.TB, nodes []*raftNode, cmd []byte) Result {
	t.Helper()
	r, err := proposeErr(nodes, cmd)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRaftCluster runs the FSM under real hashicorp/raft: three replicas
// agree, a snapshot compacts the log, a fourth kiosk joins through
// InstallSnapshot (Restore), and a restarted follower with
// NoSnapshotRestoreOnStart replays its log without double-applying.
func TestRaftCluster(t *testing.T) {
	nodes := []*raftNode{newRaftNode(t, 1), newRaftNode(t, 2), newRaftNode(t, 3)}
	var servers []raft.Server
	for _, n := range nodes {
		n.start(t, nodes)
		servers = append(servers, raft.Server{ID: n.id, Address: n.addr})
	}
	t.Cleanup(func() {
		for _, n := range nodes {
			n.stop(t)
		}
	})
	for _, n := range nodes {
		if err := n.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
			t.Fatal(err)
		}
	}
	leader := leaderOf(t, nodes)
	sealer := leader.fsm // any FSM of the store can seal: same secret and store id
	for _, id := range []string{"c1", "c2"} {
		if r := propose(t, nodes, mustEnrol(t, sealer, id, "e-"+id)); r.Code != CodeOK {
			t.Fatalf("enrol: %+v", r)
		}
	}
	charge := func(i int) Result {
		return propose(t, nodes, mustCharge(t, Charge{ChargeID: fmt.Sprintf("ch%d", i),
			CustomerID: []string{"c1", "c2"}[i%2], IdempotencyKey: fmt.Sprintf("k%d", i), AmountMinor: int64(i + 1)}))
	}
	// Propose concurrently so that raft hands the FSM real batches.
	errs := make(chan error, 100)
	for i := range 100 {
		cmd := mustCharge(t, Charge{ChargeID: fmt.Sprintf("ch%d", i),
			CustomerID: []string{"c1", "c2"}[i%2], IdempotencyKey: fmt.Sprintf("k%d", i), AmountMinor: int64(i + 1)})
		go func() {
			r, err := proposeErr(nodes, cmd)
			if err == nil {
				err = r.Err()
			}
			errs <- err
		}()
	}
	for range 100 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if r := charge(5); !r.Duplicate || r.Charge == nil || r.Charge.AmountMinor != 6 {
		t.Fatalf("replayed charge through raft: %+v", r)
	}
	converged := func(want *raftNode, ns ...*raftNode) {
		t.Helper()
		waitFor(t, "replicas to converge", func() bool {
			for _, n := range ns {
				if n.fsm.AppliedIndex() != want.fsm.AppliedIndex() {
					return false
				}
			}
			return true
		})
		d := dump(t, want.fsm)
		for _, n := range ns {
			if !reflect.DeepEqual(d, dump(t, n.fsm)) {
				t.Fatalf("%s differs from %s", n.id, want.id)
			}
		}
	}
	converged(leader, nodes...)
	if st := leader.fsm.Stats(); st.Charges != 100 || st.Customers != 2 {
		t.Fatalf("stats %+v", st)
	}

	// Snapshot and compact, then add more entries so a newcomer needs the
	// snapshot.
	leader = leaderOf(t, nodes)
	if err := leader.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	for i := 100; i < 120; i++ {
		if r := charge(i); r.Code != CodeOK {
			t.Fatalf("charge %d: %+v", i, r)
		}
	}
	obs := &recorder{}
	joiner := newRaftNode(t, 4)
	joiner.cfg.Observer = obs
	nodes = append(nodes, joiner)
	joiner.start(t, nodes)
	leader = leaderOf(t, nodes)
	if err := leader.raft.AddVoter(joiner.id, joiner.addr, 0, 5*time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	converged(leader, nodes...)
	if got := obs.get(); len(got) == 0 || got[0] != "restored" {
		t.Fatalf("joiner observer calls %v, want a restore first", got)
	}

	// Restart a follower: its FSM keeps its state on disk, raft replays
	// the log after its snapshot, and nothing is applied twice.
	var follower *raftNode
	leader = leaderOf(t, nodes)
	for _, n := range nodes[:3] {
		if n != leader {
			follower = n
		}
	}
	if err := follower.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	for i := 120; i < 130; i++ {
		charge(i)
	}
	converged(leader, follower)
	follower.stop(t)
	for i := 130; i < 140; i++ {
		charge(i)
	}
	follower.cfg.Observer = nil
	follower.start(t, nodes)
	converged(leader, nodes...)
	if st := follower.fsm.Stats(); st.Charges != 140 || !reflect.DeepEqual(st, leader.fsm.Stats()) {
		t.Fatalf("restarted follower stats %+v, leader %+v", st, leader.fsm.Stats())
	}
}

// BenchmarkRaftApply measures charges committed per second through a
// three-replica in-memory raft cluster with 64 concurrent proposers: raft
// plus this FSM, without the network and the node.
func BenchmarkRaftApply(b *testing.B) {
	nodes := []*raftNode{newRaftNode(b, 1), newRaftNode(b, 2), newRaftNode(b, 3)}
	var servers []raft.Server
	for _, n := range nodes {
		n.start(b, nodes)
		servers = append(servers, raft.Server{ID: n.id, Address: n.addr})
	}
	b.Cleanup(func() {
		for _, n := range nodes {
			n.stop(b)
		}
	})
	for _, n := range nodes {
		if err := n.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
			b.Fatal(err)
		}
	}
	leader := leaderOf(b, nodes)
	propose(b, nodes, mustEnrol(b, leader.fsm, "c1", "e1"))
	cmds := make([][]byte, b.N)
	for i := range cmds {
		cmds[i] = mustCharge(b, Charge{ChargeID: fmt.Sprintf("ch%d", i), CustomerID: "c1",
			IdempotencyKey: fmt.Sprintf("k%d", i), AmountMinor: 1})
	}
	const workers = 64
	errs := make(chan error, workers)
	b.ResetTimer()
	for w := range workers {
		go func() {
			var err error
			for i := w; i < b.N && err == nil; i += workers {
				var r Result
				if r, err = proposeErr(nodes, cmds[i]); err == nil {
					err = r.Err()
				}
			}
			errs <- err
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "charges/s")
}
