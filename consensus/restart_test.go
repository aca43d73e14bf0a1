package consensus

import (
	"fmt"
	"testing"
	"time"
)

func TestRestartWithStateRejoinsWithoutBootstrap(t *testing.T) {
	log := newTestLog(t)
	nodes := startCluster(t, log, 3)
	applyN := func(via *testNode, prefix string, count int) []string {
		var cmds []string
		for i := range count {
			cmd := fmt.Sprintf("%s-%d", prefix, i)
			if _, err := via.c.Apply(ctxTimeout(t, 10*time.Second), []byte(cmd)); err != nil {
				t.Fatalf("Apply(%s): %v", cmd, err)
			}
			cmds = append(cmds, cmd)
		}
		return cmds
	}
	// Enough commands to cross SnapshotThreshold, so the restart also
	// restores a snapshot plus trailing logs.
	cmds := applyN(nodes[0], "before", 80)

	var f *testNode
	for _, n := range followers(nodes) {
		f = n
	}
	rlog := newTestLog(t)
	others := []*testNode{}
	for _, n := range nodes {
		if n != f {
			others = append(others, n)
		}
	}
	if err := f.c.Shutdown(); err != nil {
		t.Fatal(err)
	}
	cmds = append(cmds, applyN(others[0], "while-down", 10)...)
	cfg := f.cfg
	cfg.GossipAddr = f.c.Self().GossipAddr
	cfg.P2PAddr = "127.0.0.1:0"
	cfg.Logger = rlog.logger(cfg.NodeID)
	back := startNode(t, cfg)
	if !rlog.contains("has_state=true") {
		t.Fatal("restarted node does not report existing raft state")
	}
	nodes = append(others, back)
	checkOneCluster(t, nodes)
	waitFor(t, 10*time.Second, "restarted node catches up", func() bool {
		for _, c := range cmds {
			if !back.fsm.has(c) {
				return false
			}
		}
		return true
	})
	if resp, err := back.c.Apply(ctxTimeout(t, 10*time.Second), []byte("after")); err != nil || string(resp) != "ok:after" {
		t.Fatalf("Apply via restarted node = %q, %v", resp, err)
	}
	if rlog.contains("bootstrapped raft cluster") {
		t.Fatal("restarted node bootstrapped again")
	}
}

func TestWholeStoreRestart(t *testing.T) {
	log := newTestLog(t)
	nodes := startCluster(t, log, 3)
	if _, err := nodes[1].c.Apply(ctxTimeout(t, 10*time.Second), []byte("persisted")); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		n.c.Barrier(ctxTimeout(t, 10*time.Second))
	}
	rlog := newTestLog(t)
	var back []*testNode
	cfgs := make([]Config, len(nodes))
	for i, n := range nodes {
		cfgs[i] = n.cfg
		cfgs[i].GossipAddr = n.c.Self().GossipAddr
		cfgs[i].P2PAddr = "127.0.0.1:0"
		cfgs[i].Logger = rlog.logger(n.cfg.NodeID)
	}
	for _, n := range nodes {
		n.c.Shutdown()
	}
	for _, cfg := range cfgs {
		back = append(back, startNode(t, cfg))
	}
	checkOneCluster(t, back)
	for _, n := range back {
		waitFor(t, 10*time.Second, n.cfg.NodeID+" replays the log", func() bool { return n.fsm.has("persisted") })
	}
	if rlog.contains("bootstrapped raft cluster") {
		t.Fatal("a restarted node bootstrapped again")
	}
}
