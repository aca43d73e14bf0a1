package badgerstore

import (
	"fmt"
	"log/slog"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// Config configures a Store. Start from DefaultConfig and change what you
// need; New calls Validate. The defaults are sized for a kiosk: a Raft log
// of small entries (enrolments, payments, membership changes) that is
// truncated after every snapshot, a few MiB of RAM, and fsync on every write.
type Config struct {
	// Dir is the directory holding the Badger files. It is created if
	// missing. Only one Store may have it open at a time (Badger takes a
	// directory lock).
	Dir string

	// SyncWrites makes every write (StoreLog, StoreLogs, DeleteRange, Set,
	// SetUint64) reach stable storage before it returns. Raft's safety
	// depends on it: a vote or log entry acknowledged and then lost on power
	// failure can elect two leaders in one term. DefaultConfig sets it; turn
	// it off only in tests and benchmarks that say so.
	SyncWrites bool

	// Logger receives the Store's own messages and Badger's, at
	// BadgerLogLevel and above. Nil discards them.
	Logger *slog.Logger

	// BadgerLogLevel is the lowest level of Badger's internal messages that
	// is passed to Logger. Badger is chatty at info level (every
	// compaction and memtable flush), so the default is slog.LevelWarn.
	BadgerLogLevel slog.Level

	// MemTableSize is the size in bytes of one Badger memtable (an
	// in-memory skiplist backed by an mmapped write-ahead file of twice
	// that size). It also caps one write transaction at 15% of it: a
	// StoreLogs batch larger than that is committed in several
	// transactions (see DESIGN.md). Badger's default is 64 MiB; a Raft
	// log sees a few KiB/s, so 8 MiB flushes rarely and keeps RSS small.
	MemTableSize int64

	// NumMemtables is how many memtables (one mutable, the rest waiting to
	// be flushed) Badger keeps in memory. Badger's default is 5; 2 is
	// enough when writes are slow and steady.
	NumMemtables int

	// ValueThreshold is the value size in bytes above which Badger keeps a
	// value in the value log and only a pointer in the LSM tree. Log
	// entries at or below it stay inline in the LSM tree, which costs one
	// sync instead of two and needs no value-log GC. Must not exceed 15%
	// of MemTableSize nor 1 MiB.
	ValueThreshold int64

	// ValueLogFileSize is the size in bytes at which Badger starts a new
	// value-log file. Value-log GC reclaims space a whole file at a time,
	// so smaller files free space sooner after log truncation. Badger's
	// default is 1 GiB; 16 MiB suits large entries that are deleted soon.
	// Must be in [1 MiB, 2 GiB).
	ValueLogFileSize int64

	// BlockCacheSize is the size in bytes of Badger's block cache. It is
	// only needed for compressed or encrypted tables; this Store writes
	// neither (Raft entries here are already encrypted by the replication
	// layer, so compression gains nothing), and reads come straight from
	// the mmapped tables and the OS page cache. Badger's default is
	// 256 MiB; 0 disables the cache.
	BlockCacheSize int64

	// NumCompactors is how many goroutines compact the LSM tree. Badger
	// rejects 1; 0 disables compaction (never do that outside tests).
	// Badger's default is 4; 2 is plenty for a small log on a 2-core box.
	NumCompactors int

	// LogCacheSize is how many of the most recently stored log entries
	// GetLog serves from memory without touching Badger. Raft reads those
	// entries right after writing them (to replicate them to followers and
	// to apply them to the FSM). Entries over 32 KiB encoded are not
	// cached, so the cache holds at most LogCacheSize*32 KiB. 0 disables
	// the cache.
	LogCacheSize int

	// GCInterval is how often a background goroutine runs value-log GC
	// (see Store.RunGC). 0 disables the goroutine; Close stops it.
	GCInterval time.Duration

	// GCDiscardRatio is the fraction of a value-log file that must be
	// garbage before GC rewrites it, in (0, 1).
	GCDiscardRatio float64
}

// DefaultConfig returns a Config for dir with fsync on and the small-memory
// tuning described on each field.
func DefaultConfig(dir string) Config {
	return Config{
		Dir:              dir,
		SyncWrites:       true,
		BadgerLogLevel:   slog.LevelWarn,
		MemTableSize:     8 << 20,
		NumMemtables:     2,
		ValueThreshold:   64 << 10,
		ValueLogFileSize: 16 << 20,
		BlockCacheSize:   0,
		NumCompactors:    2,
		LogCacheSize:     256,
		GCInterval:       5 * time.Minute,
		GCDiscardRatio:   0.5,
	}
}

// Validate reports the first invalid field, wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	switch {
	case c.Dir == "":
		return bad("dir is empty")
	case c.MemTableSize < 1<<20:
		return bad("mem table size %d is below 1 MiB", c.MemTableSize)
	case c.NumMemtables < 1:
		return bad("num memtables %d is below 1", c.NumMemtables)
	case c.ValueThreshold < 0 || c.ValueThreshold > 1<<20 || c.ValueThreshold > c.MemTableSize*15/100:
		return bad("value threshold %d is outside [0, min(1 MiB, 15%% of mem table size)]", c.ValueThreshold)
	case c.ValueLogFileSize < 1<<20 || c.ValueLogFileSize >= 2<<30:
		return bad("value log file size %d is outside [1 MiB, 2 GiB)", c.ValueLogFileSize)
	case c.BlockCacheSize < 0:
		return bad("block cache size %d is negative", c.BlockCacheSize)
	case c.NumCompactors < 0 || c.NumCompactors == 1:
		return bad("num compactors %d must be 0 or at least 2", c.NumCompactors)
	case c.LogCacheSize < 0:
		return bad("log cache size %d is negative", c.LogCacheSize)
	case c.GCInterval < 0:
		return bad("gc interval %v is negative", c.GCInterval)
	case !(c.GCDiscardRatio > 0 && c.GCDiscardRatio < 1):
		return bad("gc discard ratio %v is outside (0, 1)", c.GCDiscardRatio)
	}
	return nil
}

// badgerOptions maps c onto Badger's options, starting from Badger's
// defaults and changing only what a small Raft log needs.
func (c Config) badgerOptions(logger *slog.Logger) badger.Options {
	return badger.DefaultOptions(c.Dir).
		WithSyncWrites(c.SyncWrites).
		WithLogger(newBadgerLogger(logger, c.BadgerLogLevel)).
		WithMemTableSize(c.MemTableSize).
		WithNumMemtables(c.NumMemtables).
		// Flush L0 to L1 early and stall late: few, small tables.
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(8).
		// SSTables of 2 MiB at the base level, as Badger does, but a
		// smaller base level (Badger: 10 MiB) as the log stays small.
		WithBaseLevelSize(4 << 20).
		WithValueThreshold(c.ValueThreshold).
		WithValueLogFileSize(c.ValueLogFileSize).
		// No compression: entries are encrypted upstream, so Snappy would
		// burn CPU for nothing, and without compression (or encryption)
		// Badger needs no block cache.
		WithCompression(options.None).
		WithBlockCacheSize(c.BlockCacheSize).
		WithNumCompactors(c.NumCompactors).
		// Goroutines used only by Badger's Stream framework (backups);
		// Badger's default of 8 is for servers.
		WithNumGoroutines(2).
		// Writers are serialised by the Store, so conflict detection
		// would only cost time and memory per transaction.
		WithDetectConflicts(false).
		// Badger's metrics go to the process-global expvar registry; the
		// node exports its own Prometheus metrics instead.
		WithMetricsEnabled(false)
}
