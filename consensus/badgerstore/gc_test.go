package badgerstore

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/hashicorp/raft"
)

// TestRunGCReclaimsValueLog stores entries that go to the value log,
// deletes most of them as log compaction would, lets Badger compact the
// LSM tree (which records how much of each value-log file is garbage) and
// checks that RunGC then removes value-log files.
func TestRunGCReclaimsValueLog(t *testing.T) {
	dir := t.TempDir()
	cfg := func(c *Config) {
		c.MemTableSize = 1 << 20
		c.ValueThreshold = 1 << 10
		c.ValueLogFileSize = 1 << 20
	}
	const n = 600 // 600 x 8 KiB: about 5 value-log files
	// Reopening flushes the memtable, so each round leaves an L0 table.
	reopen := func(s *Store) *Store {
		t.Helper()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		return openStore(t, dir, cfg)
	}
	s := openStore(t, dir, cfg)
	for i := uint64(1); i <= n; i += 20 {
		var logs []*raft.Log
		for j := i; j < i+20; j++ {
			logs = append(logs, &raft.Log{Index: j, Term: 1, Data: bytes.Repeat([]byte{byte(j)}, 8<<10)})
		}
		if err := s.StoreLogs(logs); err != nil {
			t.Fatal(err)
		}
		if i == n/2+1 {
			s = reopen(s)
		}
	}
	s = reopen(s)
	if err := s.DeleteRange(1, n-20); err != nil {
		t.Fatal(err)
	}
	s = reopen(s)
	// Compact everything into one level: the deletes meet the entries
	// they delete, and Badger counts the garbage in each value-log file.
	if err := s.db.Flatten(2); err != nil {
		t.Fatalf("Flatten: %v", err)
	}
	before := vlogFiles(t, dir)
	if err := s.RunGC(); err != nil {
		t.Fatalf("RunGC: %v", err)
	}
	after := vlogFiles(t, dir)
	t.Logf("value-log files: %d before GC, %d after", before, after)
	if after >= before {
		t.Errorf("RunGC left %d value-log files of %d", after, before)
	}
	checkBounds(t, s, n-19, n)
	for i := uint64(n - 19); i <= n; i++ {
		var l raft.Log
		if err := s.GetLog(i, &l); err != nil || len(l.Data) != 8<<10 || l.Data[0] != byte(i) {
			t.Fatalf("GetLog(%d) after GC: %v", i, err)
		}
	}
}

func vlogFiles(t *testing.T, dir string) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.vlog"))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}
