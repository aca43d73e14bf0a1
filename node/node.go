// Package node wires one palmtill kiosk process: its configuration, the replicated state
// (replication), the store cluster (consensus), the palm scanner and capture pipeline (scanner),
// the in-memory 1:N gallery (matchcore), the kiosk HTTP API, Prometheus metrics and the nightly
// reconciliation with the cloud.
//
// A Node is built with New, serves with Run until its context ends, and is closed with Close.
// Every write (enrolment, charge, deletion, reconciliation mark) goes through Raft: a follower
// forwards it to the leader over the cluster's authenticated libp2p channel, so a kiosk takes
// checkouts whichever kiosk leads. Reads (status, ledger, identification) use local state.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/palmtill/palmtill/consensus"
	"github.com/palmtill/palmtill/matchcore"
	"github.com/palmtill/palmtill/replication"
)

// Node is one running kiosk. Its methods are safe for concurrent use.
type Node struct {
	cfg     Config
	log     *slog.Logger
	fsm     *replication.FSM
	cluster *consensus.Cluster
	gallery atomic.Pointer[matchcore.Gallery] // swapped whole on snapshot restore
	ext     *matchcore.Extractor
	scan    *capturer
	metrics *metrics
	recon   *reconciler
	adminTk string

	ln   net.Listener
	srv  *http.Server
	stop context.CancelFunc
	wg   sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// New validates cfg, opens the kiosk's state, joins or forms the store cluster, loads the
// gallery and starts listening. It returns once the API listens; call Run to serve.
func New(cfg Config) (n *Node, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	n = &Node{cfg: cfg, log: cfg.Logger.With("store", cfg.StoreID)}
	n.adminTk = AdminToken(cfg.Secret, cfg.StoreID)
	defer func() {
		if err != nil {
			n.Close()
		}
	}()

	if n.ext, err = matchcore.NewExtractor(matchcore.DefaultExtractorConfig()); err != nil {
		return nil, fmt.Errorf("extractor: %w", err)
	}
	n.metrics = newMetrics(n)

	rcfg := replication.DefaultConfig()
	rcfg.Dir = filepath.Join(cfg.DataDir, "state")
	rcfg.Secret = cfg.Secret
	rcfg.StoreID = cfg.StoreID
	rcfg.Logger = n.log
	rcfg.Observer = (*galleryObserver)(n)
	if n.fsm, err = replication.Open(rcfg); err != nil {
		return nil, fmt.Errorf("replicated state: %w", err)
	}
	if err := n.reloadGallery(); err != nil {
		return nil, err
	}

	if n.scan, err = newCapturer(cfg); err != nil {
		return nil, err
	}

	ccfg := consensus.DefaultConfig()
	ccfg.NodeID = cfg.Name
	ccfg.DataDir = cfg.DataDir
	ccfg.StoreID = cfg.StoreID
	ccfg.Secret = cfg.Secret
	ccfg.GossipAddr = cfg.GossipAddr
	ccfg.P2PAddr = cfg.P2PAddr
	ccfg.APIAddr = cfg.HTTPAddr
	ccfg.BootstrapExpect = cfg.BootstrapExpect
	ccfg.Join = cfg.Join
	ccfg.Logger = n.log
	ccfg.PersistentFSM = true // replication.FSM keeps its state in Badger and skips replayed entries
	if n.cluster, err = consensus.New(ccfg, n.fsm); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	n.log = n.log.With("node", n.cluster.Self().ID)

	n.recon = newReconciler(n)
	if n.ln, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, fmt.Errorf("http listen: %w", err)
	}
	n.srv = &http.Server{
		Handler:           n.routes(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(n.log.Handler(), slog.LevelWarn),
	}
	return n, nil
}

// Addr is the address the kiosk API listens on.
func (n *Node) Addr() string { return n.ln.Addr().String() }

// ID is this kiosk's Raft server ID.
func (n *Node) ID() string { return n.cluster.Self().ID }

// Run serves the API and runs the scheduled jobs until ctx ends or the server fails. It does not
// close the node: call Close after it returns.
func (n *Node) Run(ctx context.Context) error {
	ctx, n.stop = context.WithCancel(ctx)
	defer n.stop()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.recon.run(ctx)
	}()
	n.log.Info("kiosk api listening", "addr", n.Addr(), "gossip", n.cfg.GossipAddr, "p2p", n.cfg.P2PAddr)
	errc := make(chan error, 1)
	go func() { errc <- n.srv.Serve(n.ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := n.srv.Shutdown(sctx)
		<-errc
		return err
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}

// Close stops the jobs, leaves the store's gossip, shuts Raft down and closes the state. It is
// safe to call more than once and after a failed New.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		if n.stop != nil {
			n.stop()
		}
		if n.srv != nil {
			n.srv.Close()
		} else if n.ln != nil {
			n.ln.Close()
		}
		n.wg.Wait()
		var errs []error
		if n.cluster != nil {
			errs = append(errs, n.cluster.Shutdown())
		}
		if n.fsm != nil {
			errs = append(errs, n.fsm.Close())
		}
		if n.scan != nil {
			errs = append(errs, n.scan.close())
		}
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}

// reloadGallery rebuilds the in-memory gallery from the decrypted templates of the local state.
func (n *Node) reloadGallery() error {
	fresh, err := matchcore.NewGallery(matchcore.DefaultGalleryConfig())
	if err != nil {
		return err
	}
	count := 0
	err = n.fsm.ForEachCustomer(func(c replication.CustomerInfo, plain [][]byte) error {
		ts, err := decodeTemplates(plain)
		if err != nil {
			n.log.Error("customer templates unreadable; not matchable", "customer", c.CustomerID, "err", err)
			return nil
		}
		count++
		return fresh.Add(c.CustomerID, ts...)
	})
	if err != nil {
		return fmt.Errorf("load gallery: %w", err)
	}
	n.gallery.Store(fresh)
	n.log.Info("gallery loaded", "customers", count)
	return nil
}

func decodeTemplates(plain [][]byte) ([]*matchcore.Template, error) {
	ts := make([]*matchcore.Template, 0, len(plain))
	for _, b := range plain {
		t := new(matchcore.Template)
		if err := t.UnmarshalBinary(b); err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// galleryObserver keeps the in-memory gallery in step with the replicated state. Replication
// calls it from Raft's apply goroutine, after the change is committed locally.
type galleryObserver Node

func (o *galleryObserver) CustomerEnrolled(id string, templates [][]byte) {
	n := (*Node)(o)
	ts, err := decodeTemplates(templates)
	if err != nil {
		n.log.Error("enrolled templates unreadable; customer not matchable", "customer", id, "err", err)
		return
	}
	if err := n.currentGallery().Add(id, ts...); err != nil {
		n.log.Error("gallery add", "customer", id, "err", err)
	}
}

func (o *galleryObserver) CustomerDeleted(id string) {
	(*Node)(o).currentGallery().Remove(id)
}

func (o *galleryObserver) Restored() {
	n := (*Node)(o)
	if err := n.reloadGallery(); err != nil {
		n.log.Error("reload gallery after snapshot restore", "err", err)
	}
}

func (n *Node) currentGallery() *matchcore.Gallery { return n.gallery.Load() }
