package consensus

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// checkOneCluster asserts that every node has the same raft configuration
// with all of them as voters, and that they agree on one leader.
func checkOneCluster(t *testing.T, nodes []*testNode) {
	t.Helper()
	leader := waitLeader(t, nodes, 10*time.Second)
	var want []string
	for _, n := range nodes {
		want = append(want, n.cfg.NodeID)
	}
	slices.Sort(want)
	waitFor(t, 5*time.Second, "all nodes voters in every configuration", func() bool {
		for _, n := range nodes {
			var voters []string
			for _, m := range n.c.Members() {
				if m.Suffrage == SuffrageVoter {
					voters = append(voters, m.ID)
				}
			}
			if !slices.Equal(voters, want) {
				return false
			}
		}
		return true
	})
	for _, n := range nodes {
		if st := n.c.Stats(); st.Term != leader.c.Stats().Term || st.LeaderID != leader.cfg.NodeID {
			t.Fatalf("%s: term %d leader %q, want term %d leader %q", n.cfg.NodeID, st.Term, st.LeaderID,
				leader.c.Stats().Term, leader.cfg.NodeID)
		}
	}
}

func TestBootstrapExpectFormsOneCluster(t *testing.T) {
	for round := range 3 {
		t.Run(fmt.Sprintf("round%d", round), func(t *testing.T) {
			log := newTestLog(t)
			nodes := startCluster(t, log, 3)
			checkOneCluster(t, nodes)
			for _, n := range nodes {
				for _, m := range n.c.Members() {
					if m.Gossip != GossipAlive || m.StoreID != "store-1" || m.APIAddr != "http://"+m.ID+".api" {
						t.Errorf("%s sees member %+v", n.cfg.NodeID, m)
					}
				}
			}
		})
	}
}

func TestBootstrapExpectWaitsForEnough(t *testing.T) {
	log := newTestLog(t)
	cfg := testConfig(t, log, "lonely")
	cfg.BootstrapExpect = 2
	n := startNode(t, cfg)
	waitFor(t, 5*time.Second, "the waiting note", func() bool { return log.contains("waiting for more kiosks") })
	if st := n.c.Stats(); st.LastIndex != 0 || st.LeaderID != "" {
		t.Fatalf("bootstrapped alone: %+v", st)
	}
	_, err := n.c.Apply(ctxTimeout(t, 50*time.Millisecond), []byte("x"))
	if !errors.Is(err, ErrNoLeader) || !errors.Is(err, ErrTimeout) {
		t.Fatalf("Apply without leader: %v, want ErrNoLeader and ErrTimeout", err)
	}
}

func TestApplyForwarding(t *testing.T) {
	log := newTestLog(t)
	nodes := startCluster(t, log, 3)
	leader := waitLeader(t, nodes, 5*time.Second)
	tests := []struct {
		name    string
		node    *testNode
		cmd     string
		wantErr error
	}{
		{"leader", leader, "on-leader", nil},
		{"follower0", followers(nodes)[0], "via-follower0", nil},
		{"follower1", followers(nodes)[1], "via-follower1", nil},
		{"rejected on leader", leader, "fail-leader", ErrRejected},
		{"rejected via follower", followers(nodes)[0], "fail-follower", ErrRejected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.node.c.Apply(ctxTimeout(t, 5*time.Second), []byte(tc.cmd))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Apply(%q) = %q, %v; want %v", tc.cmd, resp, err, tc.wantErr)
				}
				return
			}
			if err != nil || string(resp) != "ok:"+tc.cmd {
				t.Fatalf("Apply(%q) = %q, %v", tc.cmd, resp, err)
			}
			// After a barrier on the calling node its FSM has the command.
			if err := tc.node.c.Barrier(ctxTimeout(t, 5*time.Second)); err != nil {
				t.Fatalf("Barrier: %v", err)
			}
			if !tc.node.fsm.has(tc.cmd) {
				t.Fatalf("%s FSM lacks %q after Barrier", tc.node.cfg.NodeID, tc.cmd)
			}
			for _, n := range nodes {
				waitFor(t, 5*time.Second, n.cfg.NodeID+" applies "+tc.cmd, func() bool { return n.fsm.has(tc.cmd) })
			}
		})
	}
}

func TestLeaderCh(t *testing.T) {
	log := newTestLog(t)
	cfg := testConfig(t, log, "solo")
	cfg.BootstrapExpect = 1
	n := startNode(t, cfg)
	select {
	case v := <-n.c.LeaderCh():
		if !v {
			t.Fatal("LeaderCh delivered false first")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no leadership notification")
	}
	self := n.c.Self()
	if !self.Leader || self.Suffrage != SuffrageVoter || self.GossipAddr == "127.0.0.1:0" {
		t.Fatalf("Self() = %+v", self)
	}
}

func TestShutdownIdempotent(t *testing.T) {
	log := newTestLog(t)
	cfg := testConfig(t, log, "bye")
	cfg.BootstrapExpect = 1
	n := startNode(t, cfg)
	waitLeader(t, []*testNode{n}, 10*time.Second)
	if err := n.c.Shutdown(); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := n.c.Shutdown(); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if _, err := n.c.Apply(ctxTimeout(t, time.Second), []byte("late")); !errors.Is(err, ErrShutdown) {
		t.Fatalf("Apply after Shutdown: %v", err)
	}
	if _, err := n.c.Join(ctxTimeout(t, time.Second), "127.0.0.1:1"); !errors.Is(err, ErrShutdown) {
		t.Fatalf("Join after Shutdown: %v", err)
	}
	if n.c.IsLeader() || n.c.Stats().State != "Shutdown" {
		t.Fatalf("after Shutdown: leader %v stats %+v", n.c.IsLeader(), n.c.Stats())
	}
}

// Two kiosks with BootstrapExpect=1 started at the same instant, each told
// about the other, must not form two clusters: one bootstraps, the other
// waits to be joined.
func TestSimultaneousSingleBootstrapsMakeOneCluster(t *testing.T) {
	for round := range 3 {
		t.Run(fmt.Sprintf("round%d", round), func(t *testing.T) {
			log := newTestLog(t)
			nodes := startClusterExpect(t, log, 2, 1)
			var leaders []*testNode
			waitFor(t, 10*time.Second, "one leader", func() bool {
				leaders = leaders[:0]
				for _, n := range nodes {
					if n.c.IsLeader() {
						leaders = append(leaders, n)
					}
				}
				return len(leaders) >= 1
			})
			// Give a second cluster every chance to appear, then check.
			l := leaders[0]
			var other *testNode
			for _, n := range nodes {
				if n != l {
					other = n
				}
			}
			waitFor(t, 10*time.Second, "the other kiosk to wait to be joined", func() bool {
				return log.containsAll(other.cfg.NodeID+" ", "bootstrap: ", "waiting to be joined")
			})
			if other.c.IsLeader() || other.c.Stats().LastIndex != 0 {
				t.Fatalf("second cluster formed: %+v", other.c.Stats())
			}
			if _, err := l.c.Join(ctxTimeout(t, 10*time.Second), other.c.Self().GossipAddr); err != nil {
				t.Fatalf("Join: %v", err)
			}
			checkOneCluster(t, nodes)
		})
	}
}
