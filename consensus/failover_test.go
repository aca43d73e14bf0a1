package consensus

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// applier applies unique commands in a loop through one node and records
// the ones acknowledged.
type applier struct {
	node *testNode
	mu   sync.Mutex
	ok   []string
	errs int
	slow time.Duration // longest successful Apply
}

func (a *applier) run(ctx context.Context, wg *sync.WaitGroup) {
	defer wg.Done()
	for i := 0; ctx.Err() == nil; i++ {
		cmd := fmt.Sprintf("%s-%d", a.node.cfg.NodeID, i)
		start := time.Now()
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, err := a.node.c.Apply(actx, []byte(cmd))
		cancel()
		a.mu.Lock()
		if err == nil && string(resp) == "ok:"+cmd {
			a.ok = append(a.ok, cmd)
			a.slow = max(a.slow, time.Since(start))
		} else if ctx.Err() == nil {
			a.errs++
		}
		a.mu.Unlock()
	}
}

func (a *applier) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.ok)
}

// killLeader kills the current leader and returns the survivors, the new
// leader and how long the survivors took to agree on it.
func killLeader(t testing.TB, nodes []*testNode) ([]*testNode, *testNode, time.Duration) {
	t.Helper()
	old := waitLeader(t, nodes, 10*time.Second)
	var rest []*testNode
	for _, n := range nodes {
		if n != old {
			rest = append(rest, n)
		}
	}
	start := time.Now()
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		old.c.kill()
	}()
	defer func() { <-killed }()
	var nl *testNode
	deadline := start.Add(10 * time.Second)
	for nl == nil {
		if time.Now().After(deadline) {
			t.Fatal("no new leader within 10s")
		}
		time.Sleep(time.Millisecond)
		for _, n := range rest {
			if !n.c.IsLeader() {
				continue
			}
			agreed := true
			for _, o := range rest {
				if l, ok := o.c.Leader(); !ok || l.ID != n.cfg.NodeID {
					agreed = false
				}
			}
			if agreed {
				nl = n
			}
		}
	}
	return rest, nl, time.Since(start)
}

func TestLeaderFailoverKeepsAcknowledgedApplies(t *testing.T) {
	log := newTestLog(t)
	nodes := startCluster(t, log, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var appliers []*applier
	for _, f := range followers(nodes) {
		a := &applier{node: f}
		appliers = append(appliers, a)
		wg.Add(1)
		go a.run(ctx, &wg)
	}
	waitFor(t, 30*time.Second, "applies before the kill", func() bool {
		return appliers[0].count() >= 10 && appliers[1].count() >= 10
	})
	before := []int{appliers[0].count(), appliers[1].count()}
	rest, newLeader, took := killLeader(t, nodes)
	t.Logf("failover: new leader %s agreed by survivors %v after the leader was killed", newLeader.cfg.NodeID, took)

	// The applier on the new leader's node may have been the killed one's
	// follower or not; both must keep going.
	// Progress, not throughput: a loaded CI disk can stall fsyncs for seconds.
	waitFor(t, 30*time.Second, "applies after the failover", func() bool {
		return appliers[0].count() >= before[0]+10 && appliers[1].count() >= before[1]+10
	})
	cancel()
	wg.Wait()
	for _, a := range appliers {
		t.Logf("%s: %d acknowledged, %d failed, slowest acknowledged Apply %v", a.node.cfg.NodeID, len(a.ok), a.errs, a.slow)
	}

	leaderDo(t, rest, func(l *testNode) error { return l.c.Barrier(ctxTimeout(t, 10*time.Second)) })
	for _, n := range rest {
		if err := n.c.Barrier(ctxTimeout(t, 10*time.Second)); err != nil {
			t.Fatalf("Barrier on %s: %v", n.cfg.NodeID, err)
		}
		for _, a := range appliers {
			for _, cmd := range a.ok {
				if !n.fsm.has(cmd) {
					t.Fatalf("acknowledged %q missing on %s", cmd, n.cfg.NodeID)
				}
			}
		}
	}
}

// BenchmarkFailover measures the time from killing the leader of a 3-node
// store to both survivors agreeing on a new leader (metric ms/failover).
func BenchmarkFailover(b *testing.B) {
	var total, worst time.Duration
	for range b.N {
		b.StopTimer()
		log := newTestLog(b)
		nodes := startCluster(b, log, 3)
		b.StartTimer()
		_, _, took := killLeader(b, nodes)
		b.StopTimer()
		total += took
		worst = max(worst, took)
		b.Logf("failover %v", took)
		for _, n := range nodes {
			n.c.Shutdown()
		}
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/failover")
	b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")
}

// A follower's Apply forwarded to a leader that hangs (its connection stays
// open, it never answers, as when a machine dies) is retried against the new
// leader as soon as raft elects it, not after a stream or QUIC timeout.
func TestApplyRetriesWhenLeaderHangs(t *testing.T) {
	log := newTestLog(t)
	nodes := startCluster(t, log, 3)
	old := waitLeader(t, nodes, 10*time.Second)
	var rest []*testNode
	for _, n := range nodes {
		if n != old {
			rest = append(rest, n)
		}
	}
	// Warm the follower's QUIC connection to the leader.
	if _, err := rest[0].c.Apply(ctxTimeout(t, 10*time.Second), []byte("warm")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	old.c.freeze()
	resp, err := rest[0].c.Apply(ctxTimeout(t, 20*time.Second), []byte("during-hang"))
	took := time.Since(start)
	if err != nil || string(resp) != "ok:during-hang" {
		t.Fatalf("Apply during hang = %q, %v", resp, err)
	}
	t.Logf("Apply issued when the leader hung completed after %v", took)
	nl := waitLeader(t, rest, 10*time.Second)
	if nl == old {
		t.Fatal("hung leader still leads")
	}
	for _, n := range rest {
		waitFor(t, 10*time.Second, "command applied on "+n.cfg.NodeID, func() bool { return n.fsm.has("during-hang") })
	}
}
