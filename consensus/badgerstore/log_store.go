package badgerstore

import (
	"encoding/binary"
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/raft"
)

// FirstIndex returns the lowest stored log index, or 0 for an empty log.
// It reads an in-memory copy maintained by writes and recovered by New.
func (s *Store) FirstIndex() (uint64, error) {
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.release()
	return s.idx.Load().first, nil
}

// LastIndex returns the highest stored log index, or 0 for an empty log.
// It reads an in-memory copy maintained by writes and recovered by New.
func (s *Store) LastIndex() (uint64, error) {
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.release()
	return s.idx.Load().last, nil
}

// GetLog copies the entry at index into l, or returns raft.ErrLogNotFound.
// l.Data and l.Extensions may be shared with the Store's cache: the caller
// must not modify them (as with raft.LogCache).
func (s *Store) GetLog(index uint64, l *raft.Log) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	if !s.idx.Load().contains(index) {
		return raft.ErrLogNotFound
	}
	if s.cache.get(index, l) {
		return nil
	}
	var val []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(logKey(index))
		if err != nil {
			return err
		}
		val, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return raft.ErrLogNotFound
	}
	if err != nil {
		return fmt.Errorf("badgerstore: get log %d: %w", index, err)
	}
	var out raft.Log
	if err := decodeLog(val, &out); err != nil {
		return fmt.Errorf("badgerstore: log %d: %w", index, err)
	}
	if out.Index != index {
		return fmt.Errorf("badgerstore: %w: key %d holds log %d", ErrCorrupt, index, out.Index)
	}
	*l = out
	return nil
}

// StoreLog stores one entry; see StoreLogs.
func (s *Store) StoreLog(l *raft.Log) error {
	return s.StoreLogs([]*raft.Log{l})
}

// StoreLogs stores logs, replacing entries with the same indexes, in one
// Badger transaction that is synced once (with Config.SyncWrites). Gaps
// with earlier entries are allowed. A batch larger than one Badger
// transaction (15% of Config.MemTableSize) is split into several, committed
// in index order, so a crash can leave only a prefix of the batch: Raft
// never acknowledges the batch in that case, and a prefix keeps the log
// contiguous.
func (s *Store) StoreLogs(logs []*raft.Log) error {
	if len(logs) == 0 {
		return nil
	}
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()

	keys := make([]byte, 0, logKeyLen*len(logs))
	cached := make([]cacheSlot, len(logs))
	lo, hi := logs[0].Index, logs[0].Index

	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	committed := false // some transaction of this batch is durable
	txn := s.db.NewTransaction(true)
	defer func() { txn.Discard() }()
	fail := func(err error) error {
		if committed {
			s.resync(lo, hi)
		}
		return fmt.Errorf("badgerstore: store logs [%d, %d]: %w", logs[0].Index, logs[len(logs)-1].Index, err)
	}
	for i, l := range logs {
		// One buffer per entry, so a cached entry keeps only its own
		// bytes alive.
		val := appendLog(make([]byte, 0, encodedLen(l)), l)
		keys = binary.BigEndian.AppendUint64(append(keys, prefixLog), l.Index)
		key := keys[len(keys)-logKeyLen:]
		lo, hi = min(lo, l.Index), max(hi, l.Index)
		err := txn.Set(key, val)
		if errors.Is(err, badger.ErrTxnTooBig) {
			committed = true // even a failed commit may have been written
			s.splits.Add(1)
			if err = txn.Commit(); err != nil {
				return fail(err)
			}
			txn = s.db.NewTransaction(true)
			err = txn.Set(key, val)
		}
		if err != nil {
			return fail(err)
		}
		// Cache the decoded form, which shares the bytes handed to
		// Badger rather than the caller's slices.
		cached[i].log.Index = l.Index
		if len(val) <= maxCachedEntry {
			if err := decodeLog(val, &cached[i].log); err != nil {
				return fail(err)
			}
			cached[i].valid = true
		}
	}
	committed = true
	if err := txn.Commit(); err != nil {
		return fail(err)
	}

	b := s.idx.Load()
	if !b.empty {
		lo, hi = min(lo, b.first), max(hi, b.last)
	}
	s.idx.Store(&bounds{first: lo, last: hi})
	s.cache.put(cached)
	return nil
}

// DeleteRange deletes the entries with indexes in [min, max]; missing
// indexes are skipped. A range that ends at the last entry (Raft's conflict
// truncation) is deleted from the end backwards and any other range from
// the start forwards, so if a crash interrupts a delete that needs several
// Badger transactions the surviving entries are still contiguous.
func (s *Store) DeleteRange(min, max uint64) error {
	if min > max {
		return nil
	}
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	b := s.idx.Load()
	if b.empty || max < b.first || min > b.last {
		return nil
	}
	lo, hi := maxU(min, b.first), minU(max, b.last)
	reverse := hi == b.last && lo > b.first
	if err := s.deleteLogs(lo, hi, reverse); err != nil {
		s.resync(lo, hi)
		return fmt.Errorf("badgerstore: delete range [%d, %d]: %w", min, max, err)
	}
	s.cache.remove(lo, hi)

	nb := &bounds{first: b.first, last: b.last}
	switch {
	case lo == b.first && hi == b.last:
		nb = emptyBounds
	case lo == b.first || hi == b.last:
		err := s.db.View(func(txn *badger.Txn) error {
			var err error
			if lo == b.first {
				nb.first, _, err = seekLog(txn, hi+1, false)
			} else {
				nb.last, _, err = seekLog(txn, lo-1, true)
			}
			return err
		})
		if err != nil {
			// The deletes are durable; only the cached bounds are
			// stale. Rescan from scratch.
			if nb, err = s.scanBounds(); err != nil {
				return fmt.Errorf("badgerstore: delete range [%d, %d]: recover bounds: %w", min, max, err)
			}
		}
	}
	s.idx.Store(nb)
	return nil
}

// deleteLogs deletes the stored keys in [lo, hi] in as few transactions as
// Badger allows, walking the keys in the given direction.
func (s *Store) deleteLogs(lo, hi uint64, reverse bool) error {
	rtxn := s.db.NewTransaction(false)
	defer rtxn.Discard()
	it := rtxn.NewIterator(badger.IteratorOptions{Reverse: reverse, Prefix: []byte{prefixLog}})
	defer it.Close()

	wtxn := s.db.NewTransaction(true)
	defer func() { wtxn.Discard() }()
	start, end := logKey(lo), logKey(hi)
	if reverse {
		start, end = end, start
	}
	for it.Seek(start); it.Valid(); it.Next() {
		key := it.Item().KeyCopy(nil)
		if !reverse && string(key) > string(end) || reverse && string(key) < string(end) {
			break
		}
		err := wtxn.Delete(key)
		if errors.Is(err, badger.ErrTxnTooBig) {
			s.splits.Add(1)
			if err = wtxn.Commit(); err != nil {
				return err
			}
			wtxn = s.db.NewTransaction(true)
			err = wtxn.Delete(key)
		}
		if err != nil {
			return err
		}
	}
	return wtxn.Commit()
}

func minU(a, b uint64) uint64 { return min(a, b) }
func maxU(a, b uint64) uint64 { return max(a, b) }

// resync is called after a write to [lo, hi] failed part way, possibly
// after some of it became durable: it drops the range from the cache and
// recovers the bounds from disk. Callers hold writeMu.
func (s *Store) resync(lo, hi uint64) {
	s.cache.remove(lo, hi)
	b, err := s.scanBounds()
	if err != nil {
		s.logger.Error("badgerstore: cannot recover log bounds after a failed write", "error", err)
		return
	}
	s.idx.Store(b)
}
