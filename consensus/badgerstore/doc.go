// Package badgerstore is a hashicorp/raft LogStore and StableStore kept in
// one Badger v4 database.
//
// A Store implements raft.LogStore (FirstIndex, LastIndex, GetLog,
// StoreLog, StoreLogs, DeleteRange) and raft.StableStore (Set, Get,
// SetUint64, GetUint64), so one Store serves as both the logs and stable
// arguments of raft.NewRaft:
//
//	s, err := badgerstore.New(badgerstore.DefaultConfig(dir))
//	if err != nil { ... }
//	defer s.Close()
//	r, err := raft.NewRaft(conf, fsm, s, s, snaps, trans)
//
// Durability: with Config.SyncWrites (the default) every write method
// returns only after Badger has synced its write-ahead files, once per
// call; StoreLogs writes its whole batch in one transaction (split, in index
// order, only if it exceeds Badger's transaction limit of 15% of
// Config.MemTableSize). Reopening the same directory, after Close or a
// crash, sees every write that returned.
//
// Log entries are stored in a compact versioned binary encoding (see
// DESIGN.md) under big-endian index keys, so Badger's key order is index
// order. FirstIndex and LastIndex read in-memory copies; GetLog serves the
// most recently stored entries from a small cache; Get and GetUint64 read a
// write-through in-memory copy of the stable keys.
//
// Get and GetUint64 of a missing key return ErrKeyNotFound, whose message is
// "not found" as Raft expects; GetLog of a missing index returns
// raft.ErrLogNotFound.
//
// The Store tolerates gaps between log indexes and so does not implement
// raft.MonotonicLogStore.
//
// Badger is tuned for a kiosk (small memtables, no block cache, two
// compactors; see Config) and logs through log/slog at warning level and
// above. Large entries kept in Badger's value log are reclaimed by RunGC,
// which a background goroutine runs every Config.GCInterval until Close.
package badgerstore
