package replication

import (
	"errors"
	"fmt"
	"maps"

	"github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/raft"
)

// Split an apply batch across Badger transactions before it nears Badger's
// per-transaction limits (15% of the memtable). One entry is at most about
// maxCommandBytes, far below.
const (
	txnSplitBytes = 1 << 20
	txnSplitOps   = 4096
)

// Apply applies one committed log entry and returns the encoded Result
// ([]byte). It never returns an error value; see ApplyBatch.
func (f *FSM) Apply(l *raft.Log) interface{} {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

// ApplyBatch applies committed entries in one Badger transaction (split if
// very large) that also records the last applied index, then tells the
// Observer. Each response is the []byte of an encoded Result. Entries at or
// below AppliedIndex (raft replaying after a restart) are skipped with an
// OK result. Non-command entries only advance the applied index. After a
// storage failure every entry not committed gets CodeInternal and the FSM
// refuses further entries (see Healthy).
func (f *FSM) ApplyBatch(logs []*raft.Log) []interface{} {
	out := make([]interface{}, len(logs))
	events, err := f.applyLocked(logs, out)
	if err != nil {
		internal := encodeResult(Result{Code: CodeInternal, Message: err.Error()})
		for i := range out {
			if out[i] == nil {
				out[i] = internal
			}
		}
	}
	f.notify(events)
	return out
}

func (f *FSM) applyLocked(logs []*raft.Log, out []interface{}) ([]event, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.closed {
		return nil, ErrClosed
	}
	if err := f.Healthy(); err != nil {
		return nil, fmt.Errorf("refusing to apply after an earlier failure: %w", err)
	}
	a := f.newApplier()
	for i, l := range logs {
		if l.Index <= a.applied {
			out[i] = encodeResult(Result{Code: CodeOK, Message: fmt.Sprintf("index %d already applied", l.Index)})
			continue
		}
		if a.pendingBytes > txnSplitBytes || a.pendingOps > txnSplitOps {
			if err := a.flush(); err != nil {
				return a.events, a.abort(out, err)
			}
		}
		res := Result{Code: CodeOK}
		if l.Type == raft.LogCommand {
			res = a.apply(l.Index, l.Data)
		}
		if a.err != nil {
			a.txn.Discard()
			return a.events, a.abort(out, a.err)
		}
		a.applied = l.Index
		a.pending = append(a.pending, i)
		out[i] = encodeResult(res)
	}
	if err := a.flush(); err != nil {
		return a.events, a.abort(out, err)
	}
	a.txn.Discard()
	return a.events, nil
}

// abort forgets the results of the uncommitted transaction (the caller
// fills them with CodeInternal) and stops the FSM.
func (a *applier) abort(out []interface{}, err error) error {
	for _, i := range a.pending {
		out[i] = nil
	}
	return a.f.fail(err)
}

// fail records the first storage failure (under stateMu, as Healthy reads)
// and returns err, which becomes the message of the CodeInternal results.
func (f *FSM) fail(err error) error {
	f.stateMu.Lock()
	if f.failed == nil {
		f.failed = err
	}
	f.stateMu.Unlock()
	f.log.Error("replication: apply failed; state machine stopped", "error", err)
	return err
}

// event is an Observer call due once its transaction is committed.
type event struct {
	deleted    bool
	customerID string
	wrapped    []byte
	cts        [][]byte
}

func (f *FSM) notify(events []event) {
	if f.obs == nil {
		return
	}
	for _, ev := range events {
		if ev.deleted {
			f.obs.CustomerDeleted(ev.customerID)
			continue
		}
		plain, err := f.openTemplates(ev.customerID, ev.wrapped, ev.cts)
		if err != nil {
			f.log.Error("replication: cannot decrypt enrolled templates; check the store secret", "customer", ev.customerID, "error", err)
			continue
		}
		f.obs.CustomerEnrolled(ev.customerID, plain)
	}
}

// applier accumulates one batch's writes in a Badger transaction.
type applier struct {
	f       *FSM
	db      *badger.DB
	txn     *badger.Txn
	applied uint64 // last index applied into txn (or committed)

	st           memState
	custs        map[string]bool // enrolments (true) and deletions (false) not yet merged into f.customers
	pendingBytes int
	pendingOps   int
	pending      []int   // out positions in the open txn
	txnEvents    []event // events of the open txn
	events       []event // events of committed txns
	err          error   // first storage error
}

func (f *FSM) newApplier() *applier {
	f.stateMu.Lock()
	st := f.state
	f.stateMu.Unlock()
	st.totals = maps.Clone(st.totals)
	if st.totals == nil {
		st.totals = map[string]int64{}
	}
	return &applier{
		f: f, db: f.db.db, txn: f.db.db.NewTransaction(true),
		applied: st.applied, st: st,
	}
}

// flush writes the meta keys, commits, publishes the new state and opens
// a fresh transaction.
func (a *applier) flush() error {
	if len(a.pending) == 0 {
		a.txn.Discard()
		a.txn = a.db.NewTransaction(true)
		return nil
	}
	a.st.applied = a.applied
	a.set(keyState, a.st.encode())
	err := a.err
	if err == nil {
		err = a.txn.Commit()
	} else {
		a.txn.Discard()
	}
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	published := a.st
	published.totals = maps.Clone(a.st.totals)
	a.f.setState(published)
	for id, enrolled := range a.custs {
		if enrolled {
			a.f.customers[id] = struct{}{}
		} else {
			delete(a.f.customers, id)
		}
	}
	a.events = append(a.events, a.txnEvents...)
	a.txnEvents, a.pending, a.custs = nil, a.pending[:0], nil
	a.pendingBytes, a.pendingOps = 0, 0
	a.txn = a.db.NewTransaction(true)
	return nil
}

func (a *applier) set(k, v []byte) {
	if a.err != nil {
		return
	}
	a.pendingBytes += len(k) + len(v) + 32
	a.pendingOps++
	a.err = a.txn.Set(k, v)
}

func (a *applier) del(k []byte) {
	if a.err != nil {
		return
	}
	a.pendingBytes += len(k) + 32
	a.pendingOps++
	a.err = a.txn.Delete(k)
}

// get returns a copy of the value of k, or ok=false.
func (a *applier) get(k []byte) (v []byte, ok bool) {
	if a.err != nil {
		return nil, false
	}
	item, err := a.txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false
	}
	if err == nil {
		v, err = item.ValueCopy(nil)
	}
	if err != nil {
		a.err = err
		return nil, false
	}
	return v, true
}

// apply decodes and applies one command at log index idx.
func (a *applier) apply(idx uint64, data []byte) Result {
	cmd, err := decodeCommand(data)
	switch {
	case errors.Is(err, ErrUnknownCommand):
		a.f.log.Warn("replication: refusing command this kiosk does not understand", "index", idx, "error", err)
		return Result{Code: CodeUnknownCommand, Message: err.Error()}
	case err != nil:
		return Result{Code: CodeInvalid, Message: err.Error()}
	}
	switch {
	case cmd.charge != nil:
		return a.charge(idx, cmd.charge)
	case cmd.enrol != nil:
		return a.enrol(idx, cmd.enrol)
	case cmd.delete != nil:
		return a.deleteCustomer(idx, cmd.delete)
	default:
		return a.markUploaded(idx, cmd.mark)
	}
}
