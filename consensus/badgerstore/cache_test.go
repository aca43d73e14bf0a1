package badgerstore

import (
	"bytes"
	"testing"

	"github.com/hashicorp/raft"
)

// TestCacheNeverStale overwrites cached entries in ways that could leave a
// stale copy in the cache, and checks GetLog against Badger each time.
func TestCacheNeverStale(t *testing.T) {
	big := func(i uint64, b byte) *raft.Log {
		return &raft.Log{Index: i, Term: 2, Data: bytes.Repeat([]byte{b}, maxCachedEntry+1)}
	}
	small := func(i uint64, b byte) *raft.Log {
		return &raft.Log{Index: i, Term: 3, Data: []byte{b}}
	}
	steps := []struct {
		name  string
		batch []*raft.Log
	}{
		{"fill", mkLogs(1, 10)},
		{"large entry replaces a cached one", []*raft.Log{big(5, 'a')}},
		{"small replaces large", []*raft.Log{small(5, 'b')}},
		{"same index twice, large last", []*raft.Log{small(6, 'c'), big(6, 'd')}},
		{"same index twice, small last", []*raft.Log{big(7, 'e'), small(7, 'f')}},
		{"gappy batch longer than the cache", []*raft.Log{small(1, 'g'), small(2, 'h'), small(3, 'i'), small(6, 'j')}},
		{"slot shared by new index", []*raft.Log{small(11, 'k'), small(14, 'l')}},
	}
	for _, size := range []int{1, 3, 256} {
		s := openStore(t, "", func(c *Config) { c.LogCacheSize = size })
		want := map[uint64]*raft.Log{}
		for _, st := range steps {
			if err := s.StoreLogs(st.batch); err != nil {
				t.Fatalf("cache %d, %s: %v", size, st.name, err)
			}
			for _, l := range st.batch {
				want[l.Index] = l
			}
			for i, w := range want {
				var got raft.Log
				if err := s.GetLog(i, &got); err != nil || !logsEqual(&got, w) {
					t.Fatalf("cache %d, after %s: GetLog(%d) = %v, %v; want data %.8q", size, st.name, i, got.Data[:min(8, len(got.Data))], err, w.Data[:min(8, len(w.Data))])
				}
			}
		}
	}
}
