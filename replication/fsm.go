package replication

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/hashicorp/raft"
)

// Observer is told about committed changes so the node can keep its
// in-memory gallery in sync. Methods are called synchronously on raft's FSM
// goroutine (never concurrently), after the change is committed to Badger;
// they must not block for long and must not call back into Apply.
// templates are plain bytes owned by the callee.
type Observer interface {
	// CustomerEnrolled is called for each new enrolment (not for
	// duplicates). If the templates cannot be decrypted on this kiosk (a
	// wrong Secret), the error is logged and the call is skipped.
	CustomerEnrolled(id string, templates [][]byte)
	// CustomerDeleted is called after a customer is deleted.
	CustomerDeleted(id string)
	// Restored is called after a snapshot replaced the whole state: reload
	// everything with ForEachCustomer.
	Restored()
}

// Stats summarises the state.
type Stats struct {
	Customers    int
	Charges      int
	LedgerTotal  map[string]int64 // per currency, in minor units, over all charges ever applied
	UploadedSeq  uint64
	AppliedIndex uint64
}

// FSM is the store's replicated state machine. It implements raft.FSM and
// raft.BatchingFSM; its read methods are safe for concurrent use with
// Apply and with each other.
type FSM struct {
	cfg Config
	log *slog.Logger
	obs Observer
	kek cipher.AEAD // store key

	// mu guards db, gen and closed. Restore and Close take it for writing
	// to swap or close the database; everything else takes it for reading.
	mu     sync.RWMutex
	db     *handle
	gen    uint64
	closed bool

	stateMu sync.Mutex
	state   memState // mirror of the meta keys, updated after each commit
	failed  error    // first storage failure; Apply refuses after it

	// customers is the set of enrolled customer ids. It is owned by the
	// apply path (Open, Apply, Restore), which raft never runs
	// concurrently, and spares a Badger read per charge.
	customers map[string]struct{}

	applied  atomic.Uint64
	uploaded atomic.Uint64
}

// handle is an open Badger database and the snapshots reading it.
type handle struct {
	db   *badger.DB
	refs sync.WaitGroup
}

var (
	_ raft.FSM         = (*FSM)(nil)
	_ raft.BatchingFSM = (*FSM)(nil)
)

// Open opens (or creates) the state in cfg.Dir. It fails if the state was
// written under another Secret or StoreID with EncryptAtRest.
func Open(cfg Config) (*FSM, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	kek, err := deriveKey(cfg.Secret, storeKeyInfo, cfg.StoreID)
	if err != nil {
		return nil, err
	}
	aead, err := newGCM(kek)
	if err != nil {
		return nil, err
	}
	f := &FSM{cfg: cfg, log: cfg.Logger, obs: cfg.Observer, kek: aead}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	gen, err := prepareDir(cfg.Dir)
	if err == nil {
		err = checkKey(cfg.Dir, cfg.Secret, cfg.StoreID)
	}
	if err != nil {
		return nil, fmt.Errorf("open state: %w", err)
	}
	db, err := f.openBadger(gen)
	if err != nil {
		return nil, fmt.Errorf("open state: %w", err)
	}
	f.db, f.gen = &handle{db: db}, gen
	if err := f.loadMeta(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open state: %w", err)
	}
	f.log.Info("replication state opened", "dir", cfg.Dir, "generation", gen,
		"applied_index", f.applied.Load(), "customers", len(f.customers), "charges", f.state.counts.Charges)
	return f, nil
}

// openBadger opens generation gen of the state directory.
func (f *FSM) openBadger(gen uint64) (*badger.DB, error) {
	opts := badger.DefaultOptions(genDir(f.cfg.Dir, gen)).
		WithLogger(badgerLogger{f.log}).
		WithLoggingLevel(badger.WARNING).
		WithSyncWrites(f.cfg.SyncWrites).
		WithNumVersionsToKeep(1).
		WithValueLogFileSize(64 << 20).
		WithValueThreshold(1 << 20).
		WithMemTableSize(f.cfg.MemTableBytes).
		WithBlockCacheSize(f.cfg.CacheBytes).
		WithNumCompactors(2).
		WithCompactL0OnClose(true).
		WithDetectConflicts(false).
		WithCompression(options.None).
		WithMetricsEnabled(false)
	if f.cfg.EncryptAtRest {
		k, err := deriveKey(f.cfg.Secret, badgerKeyInfo, f.cfg.StoreID)
		if err != nil {
			return nil, err
		}
		opts = opts.WithEncryptionKey(k).WithIndexCacheSize(f.cfg.CacheBytes)
	}
	return badger.Open(opts)
}

// loadMeta fills the in-memory mirror from the meta key, and the set of
// enrolled customers from the customer keys.
func (f *FSM) loadMeta() error {
	st := memState{totals: map[string]int64{}}
	custs := map[string]struct{}{}
	err := f.db.db.View(func(txn *badger.Txn) error {
		if err := getInto(txn, keyState, func(v []byte) (err error) { st, err = decodeState(v); return }); err != nil {
			return err
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixCustomer)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			custs[string(it.Item().Key()[len(prefixCustomer):])] = struct{}{}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load meta: %w", err)
	}
	f.customers = custs
	f.setState(st)
	return nil
}

func (f *FSM) setState(st memState) {
	f.stateMu.Lock()
	f.state = st
	f.stateMu.Unlock()
	f.applied.Store(st.applied)
	f.uploaded.Store(st.mark.Seq)
}

// getInto calls fn with the value of k; a missing key is not an error.
func getInto(txn *badger.Txn, k []byte, fn func([]byte) error) error {
	item, err := txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return item.Value(fn)
}

// Close closes the database. It waits for snapshots being persisted
// (until raft releases them). Shut raft down first: Apply after Close
// answers CodeInternal, reads fail with ErrClosed. Closing twice is a no-op.
func (f *FSM) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	f.db.refs.Wait()
	if err := f.db.db.Close(); err != nil {
		return fmt.Errorf("close state: %w", err)
	}
	return nil
}

// acquire returns the live database for reading; call release after.
func (f *FSM) acquire() (*badger.DB, error) {
	f.mu.RLock()
	if f.closed {
		f.mu.RUnlock()
		return nil, ErrClosed
	}
	return f.db.db, nil
}

func (f *FSM) release() { f.mu.RUnlock() }

// AppliedIndex is the raft index of the last entry applied (or skipped).
// After a restart the consensus layer may compare it with the latest
// snapshot's index: it is never below it (see DESIGN.md).
func (f *FSM) AppliedIndex() uint64 { return f.applied.Load() }

// UploadedSeq is the reconciliation mark: every charge with Seq <= it has
// been acknowledged by the cloud.
func (f *FSM) UploadedSeq() uint64 { return f.uploaded.Load() }

// Healthy returns nil, or the storage failure that stopped the FSM from
// applying. A kiosk whose FSM failed must restart; raft then replays the
// entries after AppliedIndex.
func (f *FSM) Healthy() error {
	f.stateMu.Lock()
	defer f.stateMu.Unlock()
	return f.failed
}

// Stats returns counters of the local state.
func (f *FSM) Stats() Stats {
	f.stateMu.Lock()
	defer f.stateMu.Unlock()
	return Stats{
		Customers:    int(f.state.counts.Customers),
		Charges:      int(f.state.counts.Charges),
		LedgerTotal:  maps.Clone(f.state.totals),
		UploadedSeq:  f.uploaded.Load(),
		AppliedIndex: f.applied.Load(),
	}
}

// badgerLogger sends Badger's logs to slog; its chatty info goes to debug.
// Badger is also set to log warnings and up only, as it formats eagerly.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) log(level slog.Level, format string, a ...any) {
	if !b.l.Enabled(context.Background(), level) {
		return
	}
	b.l.Log(context.Background(), level, "badger: "+strings.TrimSpace(fmt.Sprintf(format, a...)))
}

func (b badgerLogger) Errorf(f string, a ...any)   { b.log(slog.LevelError, f, a...) }
func (b badgerLogger) Warningf(f string, a ...any) { b.log(slog.LevelWarn, f, a...) }
func (b badgerLogger) Infof(f string, a ...any)    { b.log(slog.LevelDebug, f, a...) }
func (b badgerLogger) Debugf(f string, a ...any)   { b.log(slog.LevelDebug, f, a...) }

// CollectGarbage reclaims Badger value-log space held by deleted or
// overwritten values (only records over 1 MiB live there: enrolments with
// many large templates). Call it from a periodic job; it is safe to run
// concurrently with Apply and reads.
func (f *FSM) CollectGarbage() error {
	db, err := f.acquire()
	if err != nil {
		return err
	}
	defer f.release()
	for {
		err := db.RunValueLogGC(0.5)
		if errors.Is(err, badger.ErrNoRewrite) || errors.Is(err, badger.ErrRejected) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("value log gc: %w", err)
		}
	}
}
