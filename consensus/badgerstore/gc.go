package badgerstore

import (
	"errors"
	"fmt"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// RunGC rewrites value-log files in which at least Config.GCDiscardRatio of
// the bytes belong to deleted or overwritten entries, until none is left,
// and returns nil when there was nothing (more) to do. Only entries larger
// than Config.ValueThreshold live in the value log; the LSM tree reclaims
// the rest by compaction on its own. Safe to call concurrently with every
// method; Close makes it stop after the file being rewritten and waits for
// it.
func (s *Store) RunGC() error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	for !s.closing.Load() {
		err := s.db.RunValueLogGC(s.cfg.GCDiscardRatio)
		switch {
		case err == nil:
			continue // a file was rewritten; try the next one
		case errors.Is(err, badger.ErrNoRewrite), errors.Is(err, badger.ErrRejected):
			return nil // nothing worth rewriting, or a GC already running
		default:
			return fmt.Errorf("badgerstore: value log gc: %w", err)
		}
	}
	return nil
}

// gcLoop runs RunGC every interval until Close.
func (s *Store) gcLoop(interval time.Duration) {
	defer close(s.gcDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.gcStop:
			return
		case <-t.C:
			if err := s.RunGC(); err != nil {
				s.logger.Warn("badgerstore: value log gc failed", "error", err)
			}
		}
	}
}
