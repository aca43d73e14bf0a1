package replication

import (
	"errors"
	"fmt"
	"log/slog"
)

// Config configures an FSM. Build it from DefaultConfig and fill in Dir,
// Secret and StoreID.
type Config struct {
	// Dir is the directory holding the state. The live Badger database is
	// a generation sub-directory named by the CURRENT file in Dir (a
	// restore builds the next generation beside it and switches
	// atomically). Required.
	Dir string
	// Secret is the store secret shared by every kiosk of the store, at
	// least MinSecretLen bytes. The store key (wrapping the per-customer
	// data keys) and the Badger at-rest key are derived from it with
	// HKDF-SHA256. Required.
	Secret []byte
	// StoreID names the store. It is bound into every key derivation and
	// every AAD, so ciphertext of one store never opens in another.
	// Required.
	StoreID string
	// Logger receives the FSM's logs. Nil means discard.
	Logger *slog.Logger
	// Observer is told about enrolments, deletions and restores after they
	// are committed. Nil means nobody is told.
	Observer Observer
	// SyncWrites makes every apply fsync Badger. Off by default: the raft
	// log is the source of truth, the FSM skips replayed entries, and the
	// FSM is fsynced whenever raft takes a snapshot (see DESIGN.md).
	SyncWrites bool
	// EncryptAtRest turns on Badger's own AES encryption of its files with
	// a key derived from Secret, on top of the template encryption. Note
	// that a database created with it cannot be opened without it (and the
	// reverse). On by default.
	EncryptAtRest bool
	// CacheBytes bounds Badger's block and index caches (each). Must be
	// positive when EncryptAtRest is on.
	CacheBytes int64
	// MemTableBytes is Badger's memtable size, at least MinMemTableBytes:
	// Badger caps a transaction at 15% of it, and one apply transaction
	// may hold about 2 MiB (see txnSplitBytes).
	MemTableBytes int64
}

// Limits on Config fields.
const (
	MinSecretLen     = 16       // shortest accepted Secret
	MinMemTableBytes = 16 << 20 // smallest accepted MemTableBytes
)

// DefaultConfig returns a Config with the tunables set for a kiosk (small
// caches); Dir, Secret and StoreID are left for the caller.
func DefaultConfig() Config {
	return Config{
		EncryptAtRest: true,
		CacheBytes:    16 << 20,
		MemTableBytes: 32 << 20,
	}
}

// Validate reports the first problem with c, wrapped around ErrInvalid.
func (c Config) Validate() error {
	var err error
	switch {
	case c.Dir == "":
		err = errors.New("dir is empty")
	case len(c.Secret) < MinSecretLen:
		err = fmt.Errorf("secret is %d bytes, want at least %d", len(c.Secret), MinSecretLen)
	case c.StoreID == "":
		err = errors.New("store id is empty")
	case len(c.StoreID) > maxIDLen:
		err = fmt.Errorf("store id longer than %d bytes", maxIDLen)
	case c.EncryptAtRest && c.CacheBytes <= 0:
		err = errors.New("cache bytes must be positive with encryption at rest")
	case c.CacheBytes < 0:
		err = errors.New("cache bytes is negative")
	case c.MemTableBytes < MinMemTableBytes:
		err = fmt.Errorf("memtable bytes %d below %d", c.MemTableBytes, MinMemTableBytes)
	}
	if err != nil {
		return fmt.Errorf("replication config: %w: %w", ErrInvalid, err)
	}
	return nil
}
