package badgerstore

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/raft"
)

// TestConcurrentReaders runs readers against a writer that appends and
// compacts the head, as Raft's replication, FSM and snapshot goroutines
// do. Run with -race. Readers check every entry they get and that the
// bounds they see never go backwards.
func TestConcurrentReaders(t *testing.T) {
	for _, cm := range cacheModes[:2] {
		t.Run(cm.name, func(t *testing.T) {
			s := openStore(t, "", func(c *Config) { c.LogCacheSize = cm.size; c.SyncWrites = false })
			const total, batch, keep = 300, 6, 60
			var done atomic.Bool
			var wg sync.WaitGroup
			errs := make(chan error, 16)
			report := func(err error) {
				select {
				case errs <- err:
				default:
				}
			}

			wg.Add(1)
			go func() { // writer
				defer wg.Done()
				defer done.Store(true)
				for i := uint64(1); i <= total; i += batch {
					if err := s.StoreLogs(mkLogs(i, i+batch-1)); err != nil {
						report(err)
						return
					}
					if err := s.SetUint64([]byte("last"), i+batch-1); err != nil {
						report(err)
						return
					}
					if last := i + batch - 1; last > keep {
						if err := s.DeleteRange(0, last-keep); err != nil {
							report(err)
							return
						}
					}
				}
			}()

			for r := range 3 {
				wg.Add(1)
				go func() { // reader
					defer wg.Done()
					var prevFirst, prevLast uint64
					for n := 0; !done.Load(); n++ {
						first, err1 := s.FirstIndex()
						last, err2 := s.LastIndex()
						if err := errors.Join(err1, err2); err != nil {
							report(err)
							return
						}
						if first < prevFirst || last < prevLast {
							report(fmt.Errorf("reader %d: bounds went back: [%d,%d] after [%d,%d]", r, first, last, prevFirst, prevLast))
							return
						}
						prevFirst, prevLast = first, last
						if last == 0 {
							continue
						}
						// Read the tail, the head and something likely
						// compacted away meanwhile.
						for _, i := range []uint64{last, first, first + uint64(n)%keep} {
							var l raft.Log
							err := s.GetLog(i, &l)
							if errors.Is(err, raft.ErrLogNotFound) {
								continue // deleted since we looked
							}
							if err != nil {
								report(fmt.Errorf("GetLog(%d): %w", i, err))
								return
							}
							if !logsEqual(&l, mkLog(i)) {
								report(fmt.Errorf("GetLog(%d) = %+v", i, l))
								return
							}
						}
						if _, err := s.GetUint64([]byte("last")); err != nil && !errors.Is(err, ErrKeyNotFound) {
							report(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			checkBounds(t, s, total-keep+1, total)
		})
	}
}
