package badgerstore

import (
	"encoding/binary"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// Set durably stores val under key (with Config.SyncWrites), replacing any
// previous value. The StableStore is meant for Raft's handful of small keys
// (current term, last vote): the Store also keeps every stable key and
// value in memory, so Get never reads from disk.
func (s *Store) Set(key, val []byte) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	v := append([]byte{}, val...)

	// stableWriteMu orders the Badger commits and the map updates alike.
	s.stableWriteMu.Lock()
	defer s.stableWriteMu.Unlock()
	err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(stableKey(key), v)
	})
	if err != nil {
		return fmt.Errorf("badgerstore: set %q: %w", key, err)
	}
	s.stableMu.Lock()
	s.stable[string(key)] = v
	s.stableMu.Unlock()
	return nil
}

// Get returns a copy of the value stored under key, or ErrKeyNotFound
// (whose message is "not found", as Raft expects).
func (s *Store) Get(key []byte) ([]byte, error) {
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.release()
	s.stableMu.RLock()
	v, ok := s.stable[string(key)]
	s.stableMu.RUnlock()
	if !ok {
		return nil, ErrKeyNotFound
	}
	return append([]byte{}, v...), nil
}

// SetUint64 stores val under key as 8 big-endian bytes; see Set.
func (s *Store) SetUint64(key []byte, val uint64) error {
	return s.Set(key, binary.BigEndian.AppendUint64(nil, val))
}

// GetUint64 returns the value SetUint64 stored under key, ErrKeyNotFound
// if there is none, or an error wrapping ErrCorrupt if the value is not 8
// bytes long (it was written with Set).
func (s *Store) GetUint64(key []byte) (uint64, error) {
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.release()
	s.stableMu.RLock()
	v, ok := s.stable[string(key)]
	s.stableMu.RUnlock()
	if !ok {
		return 0, ErrKeyNotFound
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("badgerstore: %w: key %q holds %d bytes, not a uint64", ErrCorrupt, key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}
