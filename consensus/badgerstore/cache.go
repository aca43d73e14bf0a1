package badgerstore

import (
	"sync"

	"github.com/hashicorp/raft"
)

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

// put caches logs, which must not be modified afterwards.
func (c *logCache) put(logs []raft.Log) {
	if len(c.slots) == 0 {
		return
	}
	if len(logs) > len(c.slots) {
		logs = logs[len(logs)-len(c.slots):]
	}
	c.mu.Lock()
	for i := range logs {
		c.slots[logs[i].Index%uint64(len(c.slots))] = cacheSlot{log: logs[i], valid: true}
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
