package badgerstore

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/raft"
)

// testConfig is a fast Config for tests: fsync on (as in production; ext4
// makes it cheap enough), GC goroutine off unless a test wants it.
func testConfig(t testing.TB, dir string) Config {
	cfg := DefaultConfig(dir)
	cfg.GCInterval = 0
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return cfg
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// openStore opens a Store in dir (a new temp dir if empty) and closes it
// when the test ends, unless the test closed it already.
func openStore(t testing.TB, dir string, mutate ...func(*Config)) *Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	cfg := testConfig(t, dir)
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func mkLog(i uint64) *raft.Log {
	return &raft.Log{
		Index:      i,
		Term:       i/10 + 1,
		Type:       raft.LogCommand,
		Data:       []byte{byte(i), byte(i >> 8), 'd'},
		Extensions: []byte("ext"),
		AppendedAt: time.Unix(1700000000+int64(i), int64(i)),
	}
}

func mkLogs(lo, hi uint64) []*raft.Log {
	var logs []*raft.Log
	for i := lo; i <= hi; i++ {
		logs = append(logs, mkLog(i))
	}
	return logs
}

func logsEqual(a, b *raft.Log) bool {
	return a.Index == b.Index && a.Term == b.Term && a.Type == b.Type &&
		bytes.Equal(a.Data, b.Data) && (a.Data == nil) == (b.Data == nil) &&
		bytes.Equal(a.Extensions, b.Extensions) && (a.Extensions == nil) == (b.Extensions == nil) &&
		a.AppendedAt.Equal(b.AppendedAt)
}

func TestSmoke(t *testing.T) {
	s := openStore(t, "")
	if err := s.StoreLogs(mkLogs(1, 10)); err != nil {
		t.Fatal(err)
	}
	var l raft.Log
	if err := s.GetLog(5, &l); err != nil || !logsEqual(&l, mkLog(5)) {
		t.Fatalf("GetLog: %v %+v", err, l)
	}
	if _, err := s.Get([]byte("x")); err == nil || err.Error() != "not found" {
		t.Fatalf("Get missing: %v", err)
	}
}

// logsPresent reports, for each index in [lo, hi], whether GetLog finds it,
// checking the content of every entry found.
func logsPresent(t *testing.T, s *Store, lo, hi uint64) []uint64 {
	t.Helper()
	var present []uint64
	for i := lo; i <= hi; i++ {
		var l raft.Log
		err := s.GetLog(i, &l)
		switch {
		case err == nil:
			if !logsEqual(&l, mkLog(i)) {
				t.Fatalf("GetLog(%d) = %+v, want %+v", i, l, mkLog(i))
			}
			present = append(present, i)
		case errors.Is(err, raft.ErrLogNotFound):
		default:
			t.Fatalf("GetLog(%d): %v", i, err)
		}
	}
	return present
}

func checkBounds(t *testing.T, s *Store, first, last uint64) {
	t.Helper()
	f, err := s.FirstIndex()
	if err != nil {
		t.Fatalf("FirstIndex: %v", err)
	}
	l, err := s.LastIndex()
	if err != nil {
		t.Fatalf("LastIndex: %v", err)
	}
	if f != first || l != last {
		t.Fatalf("bounds = [%d, %d], want [%d, %d]", f, l, first, last)
	}
}

func seq(lo, hi uint64) []uint64 {
	var out []uint64
	for i := lo; i <= hi; i++ {
		out = append(out, i)
	}
	return out
}

func equalU64(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// cacheModes runs a test with the recent-entry cache on and off, so both
// GetLog paths are covered.
var cacheModes = []struct {
	name string
	size int
}{{"cached", 256}, {"uncached", 0}, {"tiny cache", 3}}

func TestEmptyStore(t *testing.T) {
	s := openStore(t, "")
	checkBounds(t, s, 0, 0)
	for _, i := range []uint64{0, 1, math.MaxUint64} {
		var l raft.Log
		if err := s.GetLog(i, &l); !errors.Is(err, raft.ErrLogNotFound) {
			t.Errorf("GetLog(%d) = %v, want raft.ErrLogNotFound", i, err)
		}
	}
	if err := s.DeleteRange(1, 10); err != nil {
		t.Errorf("DeleteRange on empty: %v", err)
	}
	if err := s.StoreLogs(nil); err != nil {
		t.Errorf("StoreLogs(nil): %v", err)
	}
	checkBounds(t, s, 0, 0)
	// Raft decides whether to bootstrap with this; a new store has no state.
	has, err := raft.HasExistingState(s, s, raft.NewInmemSnapshotStore())
	if err != nil || has {
		t.Errorf("HasExistingState = %v, %v; want false, nil", has, err)
	}
}

func TestStoreAndGetLogs(t *testing.T) {
	for _, cm := range cacheModes {
		t.Run(cm.name, func(t *testing.T) {
			s := openStore(t, "", func(c *Config) { c.LogCacheSize = cm.size })
			steps := []struct {
				name        string
				store       func() error
				first, last uint64
				present     []uint64
			}{
				{"StoreLog first", func() error { return s.StoreLog(mkLog(1)) }, 1, 1, seq(1, 1)},
				{"StoreLogs batch", func() error { return s.StoreLogs(mkLogs(2, 20)) }, 1, 20, seq(1, 20)},
				{"StoreLog next", func() error { return s.StoreLog(mkLog(21)) }, 1, 21, seq(1, 21)},
				{"gap after last", func() error { return s.StoreLogs(mkLogs(30, 31)) }, 1, 31, append(seq(1, 21), 30, 31)},
				{"overwrite existing", func() error { return s.StoreLogs(mkLogs(10, 12)) }, 1, 31, append(seq(1, 21), 30, 31)},
			}
			for _, st := range steps {
				if err := st.store(); err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				checkBounds(t, s, st.first, st.last)
				if got := logsPresent(t, s, 0, 40); !equalU64(got, st.present) {
					t.Fatalf("%s: present %v, want %v", st.name, got, st.present)
				}
			}
		})
	}
}

func TestOverwriteReplacesContent(t *testing.T) {
	s := openStore(t, "")
	if err := s.StoreLogs(mkLogs(1, 5)); err != nil {
		t.Fatal(err)
	}
	repl := &raft.Log{Index: 3, Term: 99, Type: raft.LogNoop, Data: []byte("new")}
	if err := s.StoreLog(repl); err != nil {
		t.Fatal(err)
	}
	var got raft.Log
	if err := s.GetLog(3, &got); err != nil || !logsEqual(&got, repl) {
		t.Fatalf("GetLog(3) = %+v, %v; want %+v", got, err, repl)
	}
}

func TestStoreLogsDoesNotAliasCaller(t *testing.T) {
	s := openStore(t, "")
	l := mkLog(1)
	if err := s.StoreLog(l); err != nil {
		t.Fatal(err)
	}
	l.Data[0] = 0xee // the caller reuses its buffer
	var got raft.Log
	if err := s.GetLog(1, &got); err != nil || !logsEqual(&got, mkLog(1)) {
		t.Fatalf("GetLog(1) = %+v, %v; cache aliases the caller's Data", got, err)
	}
}

func TestDeleteRange(t *testing.T) {
	// The log holds 1..10 and 20..25 (a gap, as after a snapshot restore).
	initial := append(seq(1, 10), seq(20, 25)...)
	tests := []struct {
		name        string
		min, max    uint64
		first, last uint64
		present     []uint64
	}{
		{"head", 1, 3, 4, 25, append(seq(4, 10), seq(20, 25)...)},
		{"head from zero", 0, 3, 4, 25, append(seq(4, 10), seq(20, 25)...)},
		{"head across gap", 1, 15, 20, 25, seq(20, 25)},
		{"head ending in gap edge", 0, 19, 20, 25, seq(20, 25)},
		{"tail", 23, 25, 1, 22, append(seq(1, 10), seq(20, 22)...)},
		{"tail beyond last", 23, 1000, 1, 22, append(seq(1, 10), seq(20, 22)...)},
		{"tail across gap", 8, math.MaxUint64, 1, 7, seq(1, 7)},
		{"tail starting in gap", 15, 30, 1, 10, seq(1, 10)},
		{"whole log", 1, 25, 0, 0, nil},
		{"superset", 0, math.MaxUint64, 0, 0, nil},
		{"middle", 4, 6, 1, 25, append(append(seq(1, 3), seq(7, 10)...), seq(20, 25)...)},
		{"only the gap", 11, 19, 1, 25, initial},
		{"below first", 0, 0, 1, 25, initial},
		{"above last", 26, 100, 1, 25, initial},
		{"min greater than max", 5, 4, 1, 25, initial},
		{"single first", 1, 1, 2, 25, append(seq(2, 10), seq(20, 25)...)},
		{"single last", 25, 25, 1, 24, append(seq(1, 10), seq(20, 24)...)},
	}
	for _, tt := range tests {
		for _, cm := range cacheModes[:2] {
			t.Run(tt.name+"/"+cm.name, func(t *testing.T) {
				dir := t.TempDir()
				// A small memtable only to open and close faster.
				cfg := func(c *Config) { c.LogCacheSize = cm.size; c.MemTableSize = 1 << 20; c.ValueThreshold = 1 << 10 }
				s := openStore(t, dir, cfg)
				if err := s.StoreLogs(append(mkLogs(1, 10), mkLogs(20, 25)...)); err != nil {
					t.Fatal(err)
				}
				if err := s.DeleteRange(tt.min, tt.max); err != nil {
					t.Fatalf("DeleteRange(%d, %d): %v", tt.min, tt.max, err)
				}
				checkBounds(t, s, tt.first, tt.last)
				if got := logsPresent(t, s, 0, 30); !equalU64(got, tt.present) {
					t.Fatalf("present %v, want %v", got, tt.present)
				}
				if cm.size == 0 {
					return // reopening does not depend on the cache
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				s = openStore(t, dir, cfg)
				checkBounds(t, s, tt.first, tt.last)
				if got := logsPresent(t, s, 0, 30); !equalU64(got, tt.present) {
					t.Fatalf("after reopen: present %v, want %v", got, tt.present)
				}
			})
		}
	}
}

func TestDeleteThenAppend(t *testing.T) {
	// Raft's conflict handling: truncate the tail, then write new entries
	// at the same indexes; and snapshot compaction: drop the head.
	s := openStore(t, "")
	if err := s.StoreLogs(mkLogs(1, 10)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRange(6, 10); err != nil {
		t.Fatal(err)
	}
	repl := &raft.Log{Index: 6, Term: 50, Data: []byte("leader's version")}
	if err := s.StoreLog(repl); err != nil {
		t.Fatal(err)
	}
	checkBounds(t, s, 1, 6)
	var got raft.Log
	if err := s.GetLog(6, &got); err != nil || !logsEqual(&got, repl) {
		t.Fatalf("GetLog(6) = %+v, %v", got, err)
	}
	if err := s.DeleteRange(1, 6); err != nil {
		t.Fatal(err)
	}
	checkBounds(t, s, 0, 0)
	// After emptying, a new start far ahead (as after installing a snapshot).
	if err := s.StoreLogs(mkLogs(1000, 1002)); err != nil {
		t.Fatal(err)
	}
	checkBounds(t, s, 1000, 1002)
}

// TestLargeBatches stores and deletes batches larger than one Badger
// transaction (a 1 MiB memtable caps one at ~150 KiB or ~1,600 entries),
// with entries inline in the LSM tree and in the value log.
func TestLargeBatches(t *testing.T) {
	tests := []struct {
		name      string
		threshold int64 // Config.ValueThreshold
		n         uint64
		dataLen   int
	}{
		{"inline", 8 << 10, 400, 4000},     // 1.6 MB of values
		{"value log", 1 << 10, 1800, 1500}, // 1,800 pointers
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := func(c *Config) {
				c.MemTableSize = 1 << 20
				c.ValueThreshold = tt.threshold
				c.ValueLogFileSize = 1 << 20
			}
			s := openStore(t, dir, cfg)
			entry := func(i uint64) *raft.Log {
				return &raft.Log{Index: i, Term: 1, Data: bytes.Repeat([]byte{byte(i)}, tt.dataLen+int(i%7))}
			}
			var logs []*raft.Log
			for i := uint64(1); i <= tt.n; i++ {
				logs = append(logs, entry(i))
			}
			if err := s.StoreLogs(logs); err != nil {
				t.Fatalf("StoreLogs of %d entries: %v", len(logs), err)
			}
			if s.splits.Load() == 0 {
				t.Fatal("the batch fitted in one transaction; make it larger")
			}
			check := func(s *Store, lo, hi uint64) {
				t.Helper()
				checkBounds(t, s, lo, hi)
				for _, i := range []uint64{lo, (lo + hi) / 2, hi} {
					var got raft.Log
					if err := s.GetLog(i, &got); err != nil || !logsEqual(&got, entry(i)) {
						t.Fatalf("GetLog(%d): %v", i, err)
					}
				}
			}
			check(s, 1, tt.n)
			splits := s.splits.Load()
			keep := tt.n / 20
			if err := s.DeleteRange(0, tt.n-keep); err != nil {
				t.Fatalf("DeleteRange: %v", err)
			}
			if tt.n-keep > 1700 && s.splits.Load() == splits {
				t.Error("the delete fitted in one transaction")
			}
			check(s, tt.n-keep+1, tt.n)
			if err := s.RunGC(); err != nil {
				t.Fatalf("RunGC: %v", err)
			}
			check(s, tt.n-keep+1, tt.n)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			check(openStore(t, dir, cfg), tt.n-keep+1, tt.n)
		})
	}
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	if err := s.StoreLogs(mkLogs(5, 50)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRange(5, 9); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 7); err != nil {
		t.Fatal(err)
	}
	if err := s.Set([]byte("LastVoteCand"), []byte("node-2")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		s = openStore(t, dir)
		checkBounds(t, s, 10, 50)
		if got := logsPresent(t, s, 0, 60); !equalU64(got, seq(10, 50)) {
			t.Fatalf("round %d: present %v", round, got)
		}
		if v, err := s.GetUint64([]byte("CurrentTerm")); err != nil || v != 7 {
			t.Fatalf("round %d: GetUint64 = %d, %v", round, v, err)
		}
		if v, err := s.Get([]byte("LastVoteCand")); err != nil || string(v) != "node-2" {
			t.Fatalf("round %d: Get = %q, %v", round, v, err)
		}
		has, err := raft.HasExistingState(s, s, raft.NewInmemSnapshotStore())
		if err != nil || !has {
			t.Fatalf("round %d: HasExistingState = %v, %v", round, has, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRecoverWithoutClose copies the directory of a Store that was never
// closed (as a killed process leaves it: everything written is in the page
// cache and, with SyncWrites, on disk) and opens the copy.
func TestRecoverWithoutClose(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	if err := s.StoreLogs(mkLogs(1, 100)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRange(1, 20); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRange(91, 100); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 3); err != nil {
		t.Fatal(err)
	}
	crashed := t.TempDir()
	if err := os.CopyFS(crashed, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(crashed, "LOCK")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	r := openStore(t, crashed)
	checkBounds(t, r, 21, 90)
	if got := logsPresent(t, r, 0, 100); !equalU64(got, seq(21, 90)) {
		t.Fatalf("present %v", got)
	}
	if v, err := r.GetUint64([]byte("CurrentTerm")); err != nil || v != 3 {
		t.Fatalf("GetUint64 = %d, %v", v, err)
	}
}

func TestCorruptEntry(t *testing.T) {
	s := openStore(t, "", func(c *Config) { c.LogCacheSize = 0 })
	if err := s.StoreLogs(mkLogs(1, 3)); err != nil {
		t.Fatal(err)
	}
	put := func(index uint64, val []byte) {
		t.Helper()
		if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(logKey(index), val) }); err != nil {
			t.Fatal(err)
		}
	}
	put(2, []byte{0xde, 0xad})
	put(3, appendLog(nil, mkLog(4))) // the entry under key 3 says index 4
	for _, i := range []uint64{2, 3} {
		var l raft.Log
		if err := s.GetLog(i, &l); !errors.Is(err, ErrCorrupt) {
			t.Errorf("GetLog(%d) = %v, want ErrCorrupt", i, err)
		}
	}
}

func TestClosed(t *testing.T) {
	s := openStore(t, "")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var l raft.Log
	calls := map[string]func() error{
		"Close":       s.Close,
		"FirstIndex":  func() error { _, err := s.FirstIndex(); return err },
		"LastIndex":   func() error { _, err := s.LastIndex(); return err },
		"GetLog":      func() error { return s.GetLog(1, &l) },
		"StoreLog":    func() error { return s.StoreLog(mkLog(1)) },
		"StoreLogs":   func() error { return s.StoreLogs(mkLogs(1, 2)) },
		"DeleteRange": func() error { return s.DeleteRange(1, 2) },
		"Set":         func() error { return s.Set([]byte("k"), nil) },
		"Get":         func() error { _, err := s.Get([]byte("k")); return err },
		"SetUint64":   func() error { return s.SetUint64([]byte("k"), 1) },
		"GetUint64":   func() error { _, err := s.GetUint64([]byte("k")); return err },
		"RunGC":       s.RunGC,
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, ErrClosed) {
				t.Fatalf("%s after Close = %v, want ErrClosed", name, err)
			}
		})
	}
}

func TestDirLocked(t *testing.T) {
	dir := t.TempDir()
	openStore(t, dir)
	if s, err := New(testConfig(t, dir)); err == nil {
		s.Close()
		t.Fatal("second New on an open directory succeeded")
	}
}

func TestGCLoopStopsOnClose(t *testing.T) {
	// goleak in TestMain fails the package if the loop outlives Close.
	s := openStore(t, "", func(c *Config) { c.GCInterval = time.Millisecond })
	if err := s.StoreLogs(mkLogs(1, 10)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestFailedBatchKeepsBoundsTrue makes the second transaction of a split
// batch fail (one inline entry larger than a Badger transaction) and
// checks that the bounds then match what reached disk.
func TestFailedBatchKeepsBoundsTrue(t *testing.T) {
	var threshold int64
	s := openStore(t, "", func(c *Config) {
		c.MemTableSize = 1 << 20
		c.ValueThreshold = c.MemTableSize * 15 / 100 // Badger's transaction limit
		threshold = c.ValueThreshold
	})
	// Encoded size threshold-1: stays inline but, with its key, exceeds
	// the transaction limit.
	huge := &raft.Log{Index: 2, Term: 1, Data: make([]byte, threshold-1-9)}
	if n := len(appendLog(nil, huge)); int64(n) != threshold-1 {
		t.Fatalf("encoded %d bytes, want %d", n, threshold-1)
	}
	err := s.StoreLogs([]*raft.Log{mkLog(1), huge})
	if !errors.Is(err, badger.ErrTxnTooBig) {
		t.Fatalf("StoreLogs = %v, want ErrTxnTooBig", err)
	}
	checkBounds(t, s, 1, 1)
	if got := logsPresent(t, s, 0, 3); !equalU64(got, []uint64{1}) {
		t.Fatalf("present %v, want [1]", got)
	}
}
