package consensus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Cluster is one kiosk's membership in its store: gossip, raft and the libp2p
// transport. All methods are safe for concurrent use. After Shutdown every
// method returns ErrShutdown (or a zero value).
type Cluster struct {
	cfg    Config
	log    *slog.Logger
	nodeID string
	peerID peer.ID

	store    logStore
	snaps    raft.SnapshotStore
	gater    *peerGater
	host     host.Host
	trans    *raft.NetworkTransport
	raft     *raft.Raft
	ml       *memberlist.Memberlist
	observer *raft.Observer

	gossipAddr string // actual "ip:port"
	p2pAddr    string // actual multiaddr with /p2p/<peer id>

	hasState  atomic.Bool // raft has a log, snapshot or term
	joinTried atomic.Bool // the initial contact of Config.Join was attempted

	mu        sync.Mutex
	local     meta                     // advertised metadata
	members   map[string]*gossipMember // admitted gossip members by name, including self
	rejected  map[string]error         // refused gossip addresses and why
	promoting map[raft.ServerID]bool   // non-voters being caught up by this leader
	leaderCtx context.Context          // cancelled when leadership is lost
	stopLead  context.CancelFunc
	changed   chan struct{} // closed and replaced on every leader change

	leaderCh  chan bool     // LeaderCh, buffered, newest value wins
	kick      chan struct{} // wakes the maintenance loop
	shutdownC chan struct{}
	baseCtx   context.Context // cancelled when Shutdown begins
	cancel    context.CancelFunc
	raftDone  chan struct{} // closed once raft has shut down
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup // background goroutines
	handlers  sync.WaitGroup // in-flight libp2p stream handlers
	hmu       sync.RWMutex   // orders wg/handlers.Add against their Wait
	closed    bool           // guarded by hmu
	frozen    atomic.Bool    // tests: handlers hang without answering
}

// New starts the libp2p host, raft and memberlist for one kiosk and returns
// once they are listening. Bootstrapping (BootstrapExpect) and contacting
// Config.Join happen in the background. fsm is the replicated state machine;
// its Apply must return []byte or error.
func New(cfg Config, fsm raft.FSM) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if fsm == nil {
		return nil, fmt.Errorf("%w: nil FSM", ErrInvalidConfig)
	}
	cfg.Secret = append([]byte(nil), cfg.Secret...)
	cfg.Join = append([]string(nil), cfg.Join...)
	lg := cfg.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	c := &Cluster{
		cfg:       cfg,
		log:       lg,
		members:   make(map[string]*gossipMember),
		rejected:  make(map[string]error),
		promoting: make(map[raft.ServerID]bool),
		changed:   make(chan struct{}),
		leaderCh:  make(chan bool, 1),
		kick:      make(chan struct{}, 1),
		shutdownC: make(chan struct{}),
		raftDone:  make(chan struct{}),
	}
	c.baseCtx, c.cancel = context.WithCancel(context.Background())
	if err := c.start(fsm); err != nil {
		c.teardown(false)
		return nil, err
	}
	return c, nil
}

// start brings the parts up in dependency order; teardown undoes a partial start.
func (c *Cluster) start(fsm raft.FSM) error {
	cfg := c.cfg
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	key, err := loadOrCreateKey(cfg.DataDir)
	if err != nil {
		return err
	}
	if c.peerID, err = peer.IDFromPrivateKey(key); err != nil {
		return fmt.Errorf("peer id: %w", err)
	}
	c.nodeID = cfg.NodeID
	if c.nodeID == "" {
		c.nodeID = c.peerID.String()
	}
	c.log = c.log.With("node", c.nodeID)

	if c.store, err = openLogStore(filepath.Join(cfg.DataDir, "raft"), c.log); err != nil {
		return fmt.Errorf("log store: %w", err)
	}
	if c.snaps, err = raft.NewFileSnapshotStoreWithLogger(cfg.DataDir, 2, newHCLog(c.log, "snapshot")); err != nil {
		return fmt.Errorf("snapshot store: %w", err)
	}
	has, err := raft.HasExistingState(c.store, c.store, c.snaps)
	if err != nil {
		return fmt.Errorf("raft state: %w", err)
	}
	c.hasState.Store(has)

	p2pListen, _ := parseIPPort(cfg.P2PAddr)
	c.gater = newPeerGater()
	if c.host, err = newHost(key, p2pListen, c.gater, cfg.DialTimeout); err != nil {
		return err
	}
	addrs := c.host.Addrs()
	if len(addrs) == 0 {
		return errors.New("libp2p host has no listen address")
	}
	c.p2pAddr = addrs[0].String() + "/p2p/" + c.peerID.String()

	sl, err := newStreamLayer(c.baseCtx, c.host, cfg.DialTimeout)
	if err != nil {
		return fmt.Errorf("raft stream layer: %w", err)
	}
	c.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  sl,
		MaxPool: 3,
		Timeout: 2 * time.Second,
		Logger:  newHCLog(c.log, "raft-net"),
	})
	if err := c.startRaft(fsm); err != nil {
		return err
	}

	c.local = meta{
		StoreID:  cfg.StoreID,
		NodeID:   c.nodeID,
		PeerID:   c.peerID.String(),
		P2PAddr:  addrs[0].String(),
		APIAddr:  cfg.APIAddr,
		HasState: has,
		Expect:   cfg.BootstrapExpect,
	}
	gossipKey, err := gossipKey(cfg.Secret, cfg.StoreID)
	if err != nil {
		return fmt.Errorf("gossip key: %w", err)
	}
	gossipBind, _ := parseIPPort(cfg.GossipAddr)
	if c.ml, err = memberlist.Create(c.newMemberlistConfig(gossipBind, gossipKey)); err != nil {
		return fmt.Errorf("memberlist: %w", err)
	}
	c.gossipAddr = gossipAddrString(c.ml)

	c.host.SetStreamHandler(protoApply, c.handleApply)
	c.host.SetStreamHandler(protoBarrier, c.handleBarrier)
	c.host.SetStreamHandler(protoStatus, c.handleStatus)

	c.goBackground(c.maintenanceLoop)
	if len(cfg.Join) > 0 {
		c.goBackground(c.joinLoop)
	} else {
		c.joinTried.Store(true)
	}
	c.log.Info("consensus started", "gossip", c.gossipAddr, "p2p", c.p2pAddr,
		"store", cfg.StoreID, "has_state", has, "bootstrap_expect", cfg.BootstrapExpect)
	return nil
}

// startRaft creates the raft instance and the goroutines that follow its
// leadership changes.
func (c *Cluster) startRaft(fsm raft.FSM) error {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(c.nodeID)
	rc.HeartbeatTimeout = c.cfg.HeartbeatTimeout
	rc.ElectionTimeout = c.cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = c.cfg.LeaderLeaseTimeout
	rc.CommitTimeout = c.cfg.CommitTimeout
	rc.SnapshotInterval = c.cfg.SnapshotInterval
	rc.SnapshotThreshold = c.cfg.SnapshotThreshold
	rc.TrailingLogs = c.cfg.TrailingLogs
	rc.MaxAppendEntries = c.cfg.MaxAppendEntries
	if rc.MaxAppendEntries == 0 {
		rc.MaxAppendEntries = 512
	}
	// The leader loop already gathers every Apply waiting on its channel (up to
	// MaxAppendEntries) into one synced batch: group commit. BatchApplyCh stays
	// off: raft never resolves futures left in that buffer at shutdown, which
	// would strand the goroutines waiting on them, and measured throughput is
	// the same without it.
	rc.NoSnapshotRestoreOnStart = c.cfg.PersistentFSM
	// A removed kiosk keeps running as a follower outside the configuration,
	// so that "palmctl join" can add it back without a restart.
	rc.ShutdownOnRemove = false
	rc.Logger = newHCLog(c.log, "raft")
	notify := make(chan bool, 8)
	rc.NotifyCh = notify
	if err := raft.ValidateConfig(rc); err != nil {
		return fmt.Errorf("%w: raft: %w", ErrInvalidConfig, err)
	}
	r, err := raft.NewRaft(rc, fsm, c.store, c.store, c.snaps, c.trans)
	if err != nil {
		return fmt.Errorf("raft: %w", err)
	}
	c.raft = r
	if f := r.GetConfiguration(); f.Error() == nil {
		for _, s := range f.Configuration().Servers {
			if pid, err := peer.Decode(string(s.Address)); err == nil {
				c.gater.allow(pid)
			}
		}
	}
	obs := make(chan raft.Observation, 16)
	c.observer = raft.NewObserver(obs, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	r.RegisterObserver(c.observer)
	c.goBackground(func() { c.observeLoop(obs) })
	c.goBackground(func() { c.leadershipLoop(notify) })
	return nil
}

// goBackground runs f on a goroutine that Shutdown waits for. Once Shutdown
// has begun it does nothing.
func (c *Cluster) goBackground(f func()) {
	c.hmu.RLock()
	defer c.hmu.RUnlock()
	if c.closed {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
}

// Shutdown leaves gossip gracefully, shuts raft down, closes the stores and
// the libp2p host. It is idempotent and waits for every goroutine it started.
func (c *Cluster) Shutdown() error {
	c.closeOnce.Do(func() { c.closeErr = c.teardown(true) })
	return c.closeErr
}

// kill stops the node abruptly, as a crash would look to the others: raft
// stops first (no more heartbeats, no leadership transfer), and gossip is
// not left. For tests.
func (c *Cluster) kill() {
	c.closeOnce.Do(func() {
		c.raft.Shutdown()
		c.closeErr = c.teardown(false)
	})
}

// freeze makes the node look like a crashed machine whose connections are
// still open: raft stops (no heartbeats, no votes) and forwarded requests are
// read but never answered, until Shutdown. For tests.
func (c *Cluster) freeze() {
	c.frozen.Store(true)
	c.raft.Shutdown()
}

// teardown stops whatever start managed to start.
func (c *Cluster) teardown(graceful bool) error {
	var errs []error
	start := time.Now()
	step := func(name string) {
		c.log.Debug("shutdown step done", "step", name, "elapsed", time.Since(start))
	}
	if graceful && c.raft != nil && c.raft.State() == raft.Leader {
		// Hand leadership over first, so that a planned restart (upgrade)
		// costs the store no election timeout.
		if err := c.raft.LeadershipTransfer().Error(); err != nil {
			c.log.Info("leadership transfer before shutdown", "error", err)
		}
		step("leadership transfer")
	}
	c.hmu.Lock()
	c.closed = true
	c.hmu.Unlock()
	c.cancel()
	close(c.shutdownC)
	if c.host != nil {
		for _, p := range []protocol.ID{protoApply, protoBarrier, protoStatus} {
			c.host.RemoveStreamHandler(p)
		}
	}
	if c.ml != nil {
		if graceful {
			if err := c.ml.Leave(time.Second); err != nil {
				errs = append(errs, fmt.Errorf("gossip leave: %w", err))
			}
		}
		if err := c.ml.Shutdown(); err != nil {
			errs = append(errs, fmt.Errorf("gossip shutdown: %w", err))
		}
		step("gossip")
	}
	// Reset raft's streams (new dials fail: baseCtx is cancelled), so that
	// raft's replication and heartbeat goroutines blocked on a hung peer
	// return at once instead of after the transport's I/O timeout. The host
	// itself is closed only once raft has stopped using it.
	if c.host != nil {
		resetStreams(c.host, protoRaft)
	}
	if c.raft != nil {
		c.raft.DeregisterObserver(c.observer)
		if err := c.raft.Shutdown().Error(); err != nil {
			errs = append(errs, fmt.Errorf("raft shutdown: %w", err))
		}
		step("raft")
	}
	close(c.raftDone)
	if c.trans != nil {
		if err := c.trans.Close(); err != nil {
			errs = append(errs, fmt.Errorf("raft transport: %w", err))
		}
	}
	c.handlers.Wait()
	c.wg.Wait()
	step("goroutines")
	if c.host != nil {
		if err := c.host.Close(); err != nil {
			errs = append(errs, fmt.Errorf("libp2p host: %w", err))
		}
		step("libp2p")
	}
	if c.store != nil {
		if err := c.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("log store: %w", err))
		}
	}
	c.log.Info("consensus stopped", "graceful", graceful, "took", time.Since(start))
	return errors.Join(errs...)
}

// isShutdown reports whether Shutdown has begun.
func (c *Cluster) isShutdown() bool {
	select {
	case <-c.shutdownC:
		return true
	default:
		return false
	}
}

// trackHandler registers an in-flight stream handler; it returns false once
// shutdown has begun.
func (c *Cluster) trackHandler() bool {
	c.hmu.RLock()
	defer c.hmu.RUnlock()
	if c.closed {
		return false
	}
	c.handlers.Add(1)
	return true
}
