package consensus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// testFSM records applied commands. Commands starting with "fail" are
// rejected with an error; others answer "ok:<cmd>".
type testFSM struct {
	mu   sync.Mutex
	cmds []string
}

func (f *testFSM) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	cmd := string(l.Data)
	if strings.HasPrefix(cmd, "fail") {
		return errors.New("refused " + cmd)
	}
	f.mu.Lock()
	f.cmds = append(f.cmds, cmd)
	f.mu.Unlock()
	return []byte("ok:" + cmd)
}

func (f *testFSM) has(cmd string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.cmds {
		if c == cmd {
			return true
		}
	}
	return false
}

func (f *testFSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &testSnapshot{cmds: append([]string(nil), f.cmds...)}, nil
}

func (f *testFSM) Restore(rc io.ReadCloser) error {
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

type testSnapshot struct{ cmds []string }

func (s *testSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := json.NewEncoder(sink).Encode(s.cmds); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *testSnapshot) Release() {}

// testLog is a slog handler writing to t.Log until the test ends, and
// keeping the lines so tests can look for a logged reason.
type testLog struct {
	mu    sync.Mutex
	t     testing.TB
	done  bool
	lines []string
}

func newTestLog(t testing.TB) *testLog {
	l := &testLog{t: t}
	t.Cleanup(func() { // registered first, so it runs last
		l.mu.Lock()
		l.done = true
		l.mu.Unlock()
	})
	return l
}

func (l *testLog) logger(name string) *slog.Logger {
	return slog.New(slog.NewTextHandler(&testLogWriter{l: l, name: name}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (l *testLog) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

// containsAll reports whether one logged line contains every part.
func (l *testLog) containsAll(parts ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			return true
		}
	}
	return false
}

type testLogWriter struct {
	l    *testLog
	name string
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	line := string(bytes.TrimRight(p, "\n"))
	w.l.mu.Lock()
	defer w.l.mu.Unlock()
	w.l.lines = append(w.l.lines, w.name+" "+line)
	if !w.l.done {
		w.l.t.Log(w.name + " " + line)
	}
	return len(p), nil
}

// freePort returns a port free for both TCP and UDP on 127.0.0.1.
func freePort(t testing.TB) int {
	t.Helper()
	for range 50 {
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := tl.Addr().(*net.TCPAddr).Port
		ul, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		tl.Close()
		if err == nil {
			ul.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// testConfig returns a fast config on loopback with OS-chosen ports.
func testConfig(t testing.TB, log *testLog, id string) Config {
	cfg := DefaultConfig()
	cfg.NodeID = id
	cfg.DataDir = t.TempDir()
	cfg.StoreID = "store-1"
	cfg.Secret = []byte("0123456789abcdef-test-secret")
	cfg.GossipAddr = "127.0.0.1:0"
	cfg.P2PAddr = "127.0.0.1:0"
	cfg.APIAddr = "http://" + id + ".api"
	cfg.Logger = log.logger(id)
	// Raft timing stays at the production defaults (they are already short);
	// only snapshots are made frequent enough to be exercised.
	cfg.SnapshotInterval = 500 * time.Millisecond
	cfg.SnapshotThreshold = 64
	cfg.TrailingLogs = 32
	return cfg
}

// testNode is one running Cluster and its FSM.
type testNode struct {
	c   *Cluster
	fsm *testFSM
	cfg Config
}

func startNode(t testing.TB, cfg Config) *testNode {
	t.Helper()
	fsm := &testFSM{}
	c, err := New(cfg, fsm)
	if err != nil {
		t.Fatalf("New(%s): %v", cfg.NodeID, err)
	}
	n := &testNode{c: c, fsm: fsm, cfg: cfg}
	t.Cleanup(func() { shutdownWatched(t, c) })
	return n
}

// startCluster starts n nodes at once with BootstrapExpect=n, each told the
// gossip addresses of all the others, and waits for one leader.
func startCluster(t testing.TB, log *testLog, n int) []*testNode {
	t.Helper()
	nodes := startClusterExpect(t, log, n, n)
	waitLeader(t, nodes, 10*time.Second)
	return nodes
}

// startClusterExpect starts n nodes at once with the given BootstrapExpect,
// each told the gossip addresses of all the others.
func startClusterExpect(t testing.TB, log *testLog, n, expect int) []*testNode {
	t.Helper()
	cfgs := make([]Config, n)
	addrs := make([]string, n)
	for i := range cfgs {
		cfgs[i] = testConfig(t, log, fmt.Sprintf("n%d", i))
		addrs[i] = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		cfgs[i].GossipAddr = addrs[i]
		cfgs[i].BootstrapExpect = expect
	}
	for i := range cfgs {
		for j, a := range addrs {
			if j != i {
				cfgs[i].Join = append(cfgs[i].Join, a)
			}
		}
	}
	nodes := make([]*testNode, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for i := range cfgs {
		wg.Go(func() {
			fsm := &testFSM{}
			c, err := New(cfgs[i], fsm)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			nodes[i] = &testNode{c: c, fsm: fsm, cfg: cfgs[i]}
		})
	}
	wg.Wait()
	for _, nd := range nodes {
		if nd != nil {
			t.Cleanup(func() { shutdownWatched(t, nd.c) })
		}
	}
	if len(errs) > 0 {
		t.Fatalf("start: %v", errors.Join(errs...))
	}
	return nodes
}

// shutdownWatched shuts c down and, should that take suspiciously long,
// writes every goroutine's stack to a file to debug the hang.
func shutdownWatched(t testing.TB, c *Cluster) {
	timer := time.AfterFunc(20*time.Second, func() {
		f, err := os.CreateTemp("", "consensus-shutdown-hang-*.txt")
		if err != nil {
			return
		}
		defer f.Close()
		pprof.Lookup("goroutine").WriteTo(f, 2)
		fmt.Fprintf(os.Stderr, "Shutdown of %s takes over 20s; stacks in %s\n", c.Self().ID, f.Name())
	})
	defer timer.Stop()
	c.Shutdown()
}

// waitFor polls cond every few ms until it holds or the deadline passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitLeader waits until exactly one of nodes leads and all agree on it.
func waitLeader(t testing.TB, nodes []*testNode, timeout time.Duration) *testNode {
	t.Helper()
	var leader *testNode
	waitFor(t, timeout, "a single agreed leader", func() bool {
		leader = nil
		for _, n := range nodes {
			if n.c.IsLeader() {
				if leader != nil {
					return false
				}
				leader = n
			}
		}
		if leader == nil {
			return false
		}
		for _, n := range nodes {
			if l, ok := n.c.Leader(); !ok || l.ID != leader.c.Self().ID {
				return false
			}
		}
		return true
	})
	return leader
}

func followers(nodes []*testNode) []*testNode {
	var out []*testNode
	for _, n := range nodes {
		if !n.c.IsLeader() {
			out = append(out, n)
		}
	}
	return out
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// leaderDo runs fn on the current leader, again on the new leader if
// leadership moves meanwhile (a loaded CI box can cause an election).
func leaderDo(t testing.TB, nodes []*testNode, fn func(l *testNode) error) *testNode {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		l := waitLeader(t, nodes, 10*time.Second)
		err := fn(l)
		if err == nil {
			return l
		}
		if !errors.Is(err, ErrNotLeader) || time.Now().After(deadline) {
			t.Fatalf("on leader %s: %v", l.cfg.NodeID, err)
		}
		t.Logf("leadership moved during the call, retrying: %v", err)
	}
}
