package badgerstore

import (
	"sync"

	"github.com/hashicorp/raft"
)

// maxCachedEntry is the largest encoded entry the log cache keeps, which
// bounds its memory to LogCacheSize*maxCachedEntry (8 MiB by default).
const maxCachedEntry = 32 << 10

// logCache keeps the most recently stored log entries, slot index%len.
// Only writers (under Store.writeMu) fill or clear it, never a GetLog miss,
// so a concurrent DeleteRange cannot be undone by a reader putting back an
// entry it read just before the delete.
//
// Cached entries share their Data and Extensions with the encoded value
// written to Badger; nothing writes to those bytes after StoreLogs.
type logCache struct {
	mu    sync.RWMutex
	slots []cacheSlot
}

type cacheSlot struct {
	log   raft.Log
	valid bool
}

func newLogCache(n int) *logCache {
	return &logCache{slots: make([]cacheSlot, n)}
}

// get copies the cached entry at index into l and reports whether it was
// there.
func (c *logCache) get(index uint64, l *raft.Log) bool {
	if len(c.slots) == 0 {
		return false
	}
	c.mu.RLock()
	slot := &c.slots[index%uint64(len(c.slots))]
	ok := slot.valid && slot.log.Index == index
	if ok {
		*l = slot.log
	}
	c.mu.RUnlock()
	return ok
}

// put applies a batch in order: a valid slot caches its entry (which must
// not be modified afterwards); an invalid one forgets the entry at its
// log.Index (overwritten by an entry too large to cache). Every entry of
// the batch is applied, so nothing stale is left for any of its indexes.
func (c *logCache) put(batch []cacheSlot) {
	if len(c.slots) == 0 {
		return
	}
	n := uint64(len(c.slots))
	c.mu.Lock()
	for _, e := range batch {
		s := &c.slots[e.log.Index%n]
		switch {
		case e.valid:
			*s = e
		case s.valid && s.log.Index == e.log.Index:
			*s = cacheSlot{}
		}
	}
	c.mu.Unlock()
}

// remove drops every cached entry with an index in [min, max].
func (c *logCache) remove(min, max uint64) {
	if len(c.slots) == 0 {
		return
	}
	c.mu.Lock()
	for i := range c.slots {
		if s := &c.slots[i]; s.valid && s.log.Index >= min && s.log.Index <= max {
			*s = cacheSlot{}
		}
	}
	c.mu.Unlock()
}
