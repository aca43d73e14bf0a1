package badgerstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/raft"
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrKeyNotFound is returned by Get and GetUint64 for a key that was
	// never set. Its message is exactly "not found" because hashicorp/raft
	// compares err.Error() with that string (raft.NewRaft,
	// raft.HasExistingState).
	ErrKeyNotFound = errors.New("not found")

	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("badgerstore: store closed")

	// ErrCorrupt is wrapped by errors about stored bytes that do not
	// decode: a log entry in an unknown format or damaged, a uint64 of the
	// wrong length, or a log entry whose index differs from its key.
	ErrCorrupt = errors.New("badgerstore: corrupt record")

	// ErrInvalidConfig is wrapped by Config.Validate errors.
	ErrInvalidConfig = errors.New("badgerstore: invalid config")
)

// Key layout. Every key starts with one prefix byte, so each kind of record
// is one contiguous key range and log keys sort in index order.
const (
	prefixLog    = 'l' // 'l' + big-endian uint64 index -> encoded raft.Log
	prefixStable = 's' // 's' + caller's key -> caller's value
	prefixMeta   = 'm' // 'm' + name -> store metadata
)

// keyFormat is the meta key holding the on-disk layout version, written
// when a directory is first used.
var keyFormat = []byte{prefixMeta, 'f', 'o', 'r', 'm', 'a', 't'}

// formatVersion is the on-disk layout described in DESIGN.md.
const formatVersion = 1

// logKeyLen is the length of a log key: prefix byte + 8-byte index.
const logKeyLen = 9

func logKey(index uint64) []byte {
	var k [logKeyLen]byte
	k[0] = prefixLog
	binary.BigEndian.PutUint64(k[1:], index)
	return k[:]
}

func stableKey(key []byte) []byte {
	k := make([]byte, 1+len(key))
	k[0] = prefixStable
	copy(k[1:], key)
	return k
}

// bounds is an immutable snapshot of the log's first and last index.
type bounds struct {
	first, last uint64
	empty       bool
}

var emptyBounds = &bounds{empty: true}

func (b *bounds) contains(i uint64) bool { return !b.empty && i >= b.first && i <= b.last }

// Store is a raft.LogStore and raft.StableStore kept in one Badger
// database. All methods are safe for concurrent use. Log writes are
// serialised among themselves, as are stable-store writes; reads never
// wait for a write to reach the disk.
//
// Store does not implement raft.MonotonicLogStore: it accepts gaps between
// log indexes (Raft leaves one after installing a snapshot), so Raft may
// rely on the default non-monotonic behaviour.
type Store struct {
	db     *badger.DB
	cfg    Config
	logger *slog.Logger

	// closeMu is read-held by every operation and write-held by Close, so
	// Close waits for operations in flight and none starts afterwards.
	closeMu sync.RWMutex
	closed  bool
	closing atomic.Bool // set when Close starts; ends a running RunGC early

	// writeMu serialises StoreLogs and DeleteRange so that the bounds and
	// the log cache are updated in the same order as Badger.
	writeMu sync.Mutex
	idx     atomic.Pointer[bounds]
	cache   *logCache
	splits  atomic.Uint64 // writes split over several transactions (tests)

	// stableMu guards stable, a write-through copy of the stable store,
	// which Raft uses for a handful of tiny keys (term, vote).
	stableMu      sync.RWMutex
	stable        map[string][]byte
	stableWriteMu sync.Mutex // serialises Set

	gcOnce sync.Once
	gcStop chan struct{}
	gcDone chan struct{}
}

var (
	_ raft.LogStore    = (*Store)(nil)
	_ raft.StableStore = (*Store)(nil)
)

// New opens the Store in cfg.Dir, creating it if needed. A Store reopened
// on the same directory sees every write that returned before Close (or,
// with SyncWrites, before a crash). The caller must Close it.
func New(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if !cfg.SyncWrites {
		logger.Warn("badgerstore: SyncWrites is off; a crash can lose Raft state that was acknowledged", "dir", cfg.Dir)
	}
	db, err := badger.Open(cfg.badgerOptions(logger))
	if err != nil {
		return nil, fmt.Errorf("badgerstore: open %s: %w", cfg.Dir, err)
	}
	s := &Store{
		db:     db,
		cfg:    cfg,
		logger: logger,
		cache:  newLogCache(cfg.LogCacheSize),
	}
	if err := s.load(); err != nil {
		_ = db.Close()
		return nil, err
	}
	if cfg.GCInterval > 0 {
		s.gcStop = make(chan struct{})
		s.gcDone = make(chan struct{})
		go s.gcLoop(cfg.GCInterval)
	}
	return s, nil
}

// load checks the format version and recovers the log bounds and the stable
// store from disk.
func (s *Store) load() error {
	err := s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(keyFormat)
		switch {
		case errors.Is(err, badger.ErrKeyNotFound):
			return txn.Set(keyFormat, binary.BigEndian.AppendUint64(nil, formatVersion))
		case err != nil:
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) != 8 || binary.BigEndian.Uint64(v) != formatVersion {
				return fmt.Errorf("%w: unsupported on-disk format %x", ErrCorrupt, v)
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("badgerstore: format version: %w", err)
	}
	b, err := s.scanBounds()
	if err != nil {
		return fmt.Errorf("badgerstore: recover log bounds: %w", err)
	}
	s.idx.Store(b)

	s.stable = make(map[string][]byte)
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 16, Prefix: []byte{prefixStable}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			s.stable[string(item.Key()[1:])] = v
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("badgerstore: load stable store: %w", err)
	}
	s.logger.Debug("badgerstore opened", "dir", s.cfg.Dir, "first_index", b.first, "last_index", b.last, "stable_keys", len(s.stable))
	return nil
}

// scanBounds finds the first and last log keys with two key-only seeks.
func (s *Store) scanBounds() (*bounds, error) {
	var b bounds
	err := s.db.View(func(txn *badger.Txn) error {
		var ok bool
		var err error
		if b.first, ok, err = seekLog(txn, 0, false); err != nil || !ok {
			b.empty = true
			return err
		}
		b.last, _, err = seekLog(txn, ^uint64(0), true)
		return err
	})
	if err != nil {
		return nil, err
	}
	if b.empty {
		return emptyBounds, nil
	}
	return &b, nil
}

// seekLog returns the first log index >= from (or <= from if reverse).
func seekLog(txn *badger.Txn, from uint64, reverse bool) (uint64, bool, error) {
	it := txn.NewIterator(badger.IteratorOptions{Reverse: reverse, Prefix: []byte{prefixLog}})
	defer it.Close()
	it.Seek(logKey(from))
	if !it.Valid() {
		return 0, false, nil
	}
	k := it.Item().Key()
	if len(k) != logKeyLen {
		return 0, false, fmt.Errorf("%w: log key %x has length %d", ErrCorrupt, k, len(k))
	}
	return binary.BigEndian.Uint64(k[1:]), true, nil
}

// acquire read-holds closeMu; it fails once the Store is closed. Callers
// must call s.release() when it succeeds.
func (s *Store) acquire() error {
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return ErrClosed
	}
	return nil
}

func (s *Store) release() { s.closeMu.RUnlock() }

// Close stops the GC goroutine, waits for operations in flight and closes
// Badger, which flushes nothing that was not already durable when
// SyncWrites is set. Further calls return ErrClosed.
func (s *Store) Close() error {
	// Stop GC before taking closeMu: RunGC read-holds it.
	s.closing.Store(true)
	s.gcOnce.Do(func() {
		if s.gcStop != nil {
			close(s.gcStop)
			<-s.gcDone
		}
	})
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("badgerstore: close: %w", err)
	}
	return nil
}
