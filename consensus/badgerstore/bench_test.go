package badgerstore

import (
	"testing"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	raftbench "github.com/hashicorp/raft/bench"
)

// store is what hashicorp/raft's bench package drives.
type store interface {
	raft.LogStore
	raft.StableStore
}

type benchCase struct {
	name string
	fn   func(*testing.B, store)
	// walRejects marks cases raft-wal cannot run as written: bench's
	// StoreLog starts at index 0 and appends 0, 1, 2, ... each as a "first"
	// entry, and DeleteRange stores indexes with gaps (0-2, 10-12, ...) and
	// deletes from the middle; raft-wal requires contiguous appends and
	// only deletes a prefix or suffix.
	walRejects bool
}

var benchCases = []benchCase{
	{"FirstIndex", func(b *testing.B, s store) { raftbench.FirstIndex(b, s) }, false},
	{"LastIndex", func(b *testing.B, s store) { raftbench.LastIndex(b, s) }, false},
	{"GetLog", func(b *testing.B, s store) { raftbench.GetLog(b, s) }, false},
	{"StoreLog", func(b *testing.B, s store) { raftbench.StoreLog(b, s) }, true},
	{"StoreLogs", func(b *testing.B, s store) { raftbench.StoreLogs(b, s) }, false},
	{"DeleteRange", func(b *testing.B, s store) { raftbench.DeleteRange(b, s) }, true},
	{"Set", func(b *testing.B, s store) { raftbench.Set(b, s) }, false},
	{"Get", func(b *testing.B, s store) { raftbench.Get(b, s) }, false},
	{"SetUint64", func(b *testing.B, s store) { raftbench.SetUint64(b, s) }, false},
	{"GetUint64", func(b *testing.B, s store) { raftbench.GetUint64(b, s) }, false},
}

// BenchmarkBadger runs raft's bench suite against a Store with the default
// configuration (fsync on, GC goroutine off so it cannot add noise).
func BenchmarkBadger(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			s := openStore(b, "")
			bc.fn(b, s)
		})
	}
	// GetLog with the recent-entry cache off: every read goes to Badger.
	b.Run("GetLogUncached", func(b *testing.B) {
		s := openStore(b, "", func(c *Config) { c.LogCacheSize = 0 })
		raftbench.GetLog(b, s)
	})
}

// BenchmarkWAL runs the same suite against hashicorp/raft-wal (which syncs
// every append, and its bbolt metadata store every Set).
func BenchmarkWAL(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			if bc.walRejects {
				b.Skip("raft-wal rejects this bench case as written (starts at index 0 / non-contiguous)")
			}
			w, err := wal.Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = w.Close() })
			bc.fn(b, w)
		})
	}
}
