package consensus

import (
	"log/slog"

	"github.com/hashicorp/raft"
	"github.com/palmtill/palmtill/consensus/badgerstore"
)

// logStore is the seam between the cluster and the raft log/stable store.
type logStore interface {
	raft.LogStore
	raft.StableStore
	Close() error
}

// openLogStore opens the Badger-backed log and stable store kept in dir
// (synced writes; see badgerstore/DESIGN.md).
func openLogStore(dir string, log *slog.Logger) (logStore, error) {
	cfg := badgerstore.DefaultConfig(dir)
	cfg.Logger = log.With("component", "badgerstore")
	return badgerstore.New(cfg)
}
