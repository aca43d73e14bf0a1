package consensus

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
)

func TestJoinPromoteRemove(t *testing.T) {
	log := newTestLog(t)
	nodes := startCluster(t, log, 3)
	leader := waitLeader(t, nodes, 5*time.Second)
	if _, err := leader.c.Apply(ctxTimeout(t, 5*time.Second), []byte("before-join")); err != nil {
		t.Fatal(err)
	}

	cfg := testConfig(t, log, "n3")
	fourth := startNode(t, cfg) // BootstrapExpect 0: waits to be joined

	// Join and Remove are leader-only; a follower names the leader.
	f := followers(nodes)[0]
	_, err := f.c.Join(ctxTimeout(t, 5*time.Second), fourth.c.Self().GossipAddr)
	var nle *NotLeaderError
	if !errors.As(err, &nle) || !errors.Is(err, ErrNotLeader) || nle.Leader.ID != leader.cfg.NodeID ||
		nle.Leader.APIAddr != leader.cfg.APIAddr {
		t.Fatalf("Join on follower = %v, want NotLeaderError naming %s", err, leader.cfg.NodeID)
	}
	if err := f.c.Remove(ctxTimeout(t, 5*time.Second), "n0"); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("Remove on follower = %v", err)
	}

	var m Member
	leaderDo(t, nodes, func(l *testNode) (err error) {
		m, err = l.c.Join(ctxTimeout(t, 10*time.Second), fourth.c.Self().GossipAddr)
		return err
	})
	if m.ID != "n3" || (m.Suffrage != SuffrageNonvoter && m.Suffrage != SuffrageVoter) {
		t.Fatalf("Join returned %+v, want n3 in the configuration", m)
	}
	if m.Suffrage == SuffrageVoter {
		t.Log("n3 was already promoted when Join returned")
	}
	all := append(append([]*testNode(nil), nodes...), fourth)
	waitFor(t, 10*time.Second, "n3 promoted to voter everywhere", func() bool {
		for _, n := range all {
			if n.c.member("n3").Suffrage != SuffrageVoter {
				return false
			}
		}
		return true
	})
	if !fourth.fsm.has("before-join") {
		t.Fatal("joined node lacks the earlier command")
	}
	resp, err := fourth.c.Apply(ctxTimeout(t, 5*time.Second), []byte("from-n3"))
	if err != nil || string(resp) != "ok:from-n3" {
		t.Fatalf("Apply on joined node = %q, %v", resp, err)
	}
	// Joining a voter again changes nothing.
	all4 := append(append([]*testNode(nil), nodes...), fourth)
	leaderDo(t, all4, func(l *testNode) error {
		m, err := l.c.Join(ctxTimeout(t, 5*time.Second), fourth.c.Self().GossipAddr)
		if err == nil && m.Suffrage != SuffrageVoter {
			t.Fatalf("re-Join = %+v", m)
		}
		return err
	})
	leaderDo(t, all4, func(l *testNode) error {
		err := l.c.Remove(ctxTimeout(t, 5*time.Second), "nope")
		if errors.Is(err, ErrUnknownNode) {
			return nil
		}
		return err
	})
	// Ask the three that stay: once removed, n3 never learns of a leader again.
	// A call that loses leadership after the removal reached the new leader's
	// log reports ErrNotLeader; the retry then finds n3 gone already.
	tried := false
	leaderDo(t, nodes, func(l *testNode) error {
		err := l.c.Remove(ctxTimeout(t, 5*time.Second), "n3")
		if tried && errors.Is(err, ErrUnknownNode) {
			return nil
		}
		tried = true
		return err
	})
	leader = waitLeader(t, nodes, 10*time.Second)
	for _, n := range nodes {
		waitFor(t, 5*time.Second, "n3 out of the configuration", func() bool {
			return n.c.member("n3").Suffrage == SuffrageNone
		})
	}
	if st := leader.c.Stats(); st.NumVoters != 3 || st.NumPeers != 2 {
		t.Fatalf("after remove: %+v", st)
	}

	// A removed kiosk keeps running and can be joined again without a restart.
	leaderDo(t, nodes, func(l *testNode) error {
		_, err := l.c.Join(ctxTimeout(t, 10*time.Second), fourth.c.Self().GossipAddr)
		return err
	})
	waitFor(t, 10*time.Second, "n3 voter again", func() bool {
		return waitLeader(t, nodes, 10*time.Second).c.member("n3").Suffrage == SuffrageVoter
	})
	if resp, err := fourth.c.Apply(ctxTimeout(t, 10*time.Second), []byte("rejoined")); err != nil || string(resp) != "ok:rejoined" {
		t.Fatalf("Apply on re-joined node = %q, %v", resp, err)
	}
}

func TestRemoveRefusesLastVoter(t *testing.T) {
	log := newTestLog(t)
	cfg := testConfig(t, log, "only")
	cfg.BootstrapExpect = 1
	n := startNode(t, cfg)
	waitLeader(t, []*testNode{n}, 10*time.Second)
	if err := n.c.Remove(ctxTimeout(t, 5*time.Second), "only"); !errors.Is(err, ErrLastVoter) {
		t.Fatalf("Remove(last voter) = %v, want ErrLastVoter", err)
	}
}

func TestForeignKioskNeverAdmitted(t *testing.T) {
	tests := []struct {
		name    string
		modify  func(*Config)
		logHint string // what the store's log says about the stranger
	}{
		{"other secret", func(c *Config) { c.Secret = []byte("another-secret-0123456789") }, decryptHint},
		{"other store", func(c *Config) { c.StoreID = "store-2" }, decryptHint},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := newTestLog(t)
			cfg := testConfig(t, log, "home")
			cfg.BootstrapExpect = 1
			home := startNode(t, cfg)
			waitLeader(t, []*testNode{home}, 10*time.Second)

			scfg := testConfig(t, log, "stranger")
			scfg.BootstrapExpect = 2
			scfg.Join = []string{home.c.Self().GossipAddr}
			tc.modify(&scfg)
			stranger := startNode(t, scfg)

			waitFor(t, 10*time.Second, "the refusal in the logs", func() bool { return log.contains(tc.logHint) })
			_, err := home.c.Join(ctxTimeout(t, 2*time.Second), stranger.c.Self().GossipAddr)
			if !errors.Is(err, ErrWrongStore) {
				t.Fatalf("Join of a foreign kiosk = %v, want ErrWrongStore", err)
			}
			t.Logf("Join of a foreign kiosk: %v", err)
			for _, n := range []*testNode{home, stranger} {
				if ms := n.c.Members(); len(ms) != 1 {
					t.Fatalf("%s Members() = %+v, want only itself", n.cfg.NodeID, ms)
				}
			}
		})
	}
}

// A libp2p peer that is not a gossip member of the store (it lacks the store
// secret) cannot open forwarding or raft streams, although QUIC would accept
// its handshake.
func TestStrangerPeerCannotOpenStreams(t *testing.T) {
	log := newTestLog(t)
	cfg := testConfig(t, log, "guarded")
	cfg.BootstrapExpect = 1
	n := startNode(t, cfg)
	waitLeader(t, []*testNode{n}, 10*time.Second)

	key, err := loadOrCreateKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	open := newPeerGater()
	open.allow(n.c.peerID) // the stranger itself would dial anyone
	stranger, err := newHost(key, netip.MustParseAddrPort("127.0.0.1:0"), open, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stranger.Close() })
	target := n.c.host.ID()
	stranger.Peerstore().AddAddrs(target, n.c.host.Addrs(), time.Hour)
	for _, proto := range []protocol.ID{protoApply, protoRaft, protoStatus} {
		s, err := func() (network.Stream, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			return stranger.NewStream(ctx, target, proto)
		}()
		if err == nil {
			s.Reset()
			t.Fatalf("stranger opened a %s stream", proto)
		}
		t.Logf("%s refused: %v", proto, err)
	}
	// Control: once admitted (as gossip would), the same peer gets through.
	// The gated connection may still be cached on the stranger's side, so
	// drop it and retry until a fresh one is made.
	n.c.gater.allow(stranger.ID())
	waitFor(t, 10*time.Second, "the admitted peer to get a stream", func() bool {
		stranger.Network().ClosePeer(target)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s, err := stranger.NewStream(network.WithForceDirectDial(ctx, "test"), target, protoStatus)
		if err != nil {
			t.Logf("admitted peer: %v", err)
			return false
		}
		s.Reset()
		return true
	})
}
