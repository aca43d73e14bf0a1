package consensus

import (
	"github.com/hashicorp/raft"
)

// logStore is the seam between the cluster and the raft log/stable store
// implementation (badgerstore in production).
type logStore interface {
	raft.LogStore
	raft.StableStore
	Close() error
}

// inmemLogStore adapts raft.InmemStore until badgerstore lands.
type inmemLogStore struct{ *raft.InmemStore }

func (inmemLogStore) Close() error { return nil }

// openLogStore opens the log and stable store kept in dir.
func openLogStore(dir string) (logStore, error) {
	_ = dir
	return inmemLogStore{raft.NewInmemStore()}, nil
}
