package replication

import (
	"bytes"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/raft"
)

var (
	testSecret = []byte("0123456789abcdef-test-store-secret")
	testStore  = "store-1"
	t0         = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
)

// tlogWriter sends log lines to t.Log.
type tlogWriter struct{ tb testing.TB }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.tb.Helper()
	w.tb.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

func testConfig(tb testing.TB, dir string) Config {
	cfg := DefaultConfig()
	cfg.Dir = dir
	cfg.Secret = testSecret
	cfg.StoreID = testStore
	cfg.Logger = slog.New(slog.NewTextHandler(tlogWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return cfg
}

// newFSM opens an FSM in a fresh directory, closed at cleanup.
func newFSM(tb testing.TB, mod ...func(*Config)) *FSM {
	tb.Helper()
	cfg := testConfig(tb, tb.TempDir())
	for _, m := range mod {
		m(&cfg)
	}
	f, err := Open(cfg)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { _ = f.Close() })
	return f
}

func withObserver(o Observer) func(*Config) { return func(c *Config) { c.Observer = o } }

// recorder is an Observer that records its calls.
type recorder struct {
	mu       sync.Mutex
	calls    []string
	enrolled map[string][][]byte
}

func (r *recorder) CustomerEnrolled(id string, t [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.enrolled == nil {
		r.enrolled = map[string][][]byte{}
	}
	r.enrolled[id] = t
	r.calls = append(r.calls, "enrolled:"+id)
}

func (r *recorder) CustomerDeleted(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "deleted:"+id)
}

func (r *recorder) Restored() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "restored")
}

func (r *recorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

func entry(idx uint64, data []byte) *raft.Log {
	return &raft.Log{Index: idx, Term: 1, Type: raft.LogCommand, Data: data}
}

// apply applies data at idx and decodes the result.
func apply(tb testing.TB, f *FSM, idx uint64, data []byte) Result {
	tb.Helper()
	raw := f.Apply(entry(idx, data))
	b, ok := raw.([]byte)
	if !ok {
		tb.Fatalf("apply %d returned %T, want []byte", idx, raw)
	}
	r, err := DecodeResult(b)
	if err != nil {
		tb.Fatalf("decode result %d: %v", idx, err)
	}
	return r
}

func templatesFor(id string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(fmt.Sprintf("template-%s-%d-%s", id, i, bytes.Repeat([]byte{byte('a' + i)}, 40)))
	}
	return out
}

func mustEnrol(tb testing.TB, f *FSM, id, key string) []byte {
	tb.Helper()
	b, err := f.EncodeEnrol(Enrol{CustomerID: id, CardToken: "tok_" + id, Templates: templatesFor(id, 2),
		Kiosk: "k1", At: t0, IdempotencyKey: key})
	if err != nil {
		tb.Fatalf("encode enrol: %v", err)
	}
	return b
}

func mustCharge(tb testing.TB, c Charge) []byte {
	tb.Helper()
	if c.Kiosk == "" {
		c.Kiosk = "k1"
	}
	if c.At.IsZero() {
		c.At = t0
	}
	if c.Currency == "" {
		c.Currency = "EUR"
	}
	b, err := EncodeCharge(c)
	if err != nil {
		tb.Fatalf("encode charge: %v", err)
	}
	return b
}

func mustDelete(tb testing.TB, id, key string) []byte {
	tb.Helper()
	b, err := EncodeDeleteCustomer(DeleteCustomer{CustomerID: id, At: t0, IdempotencyKey: key})
	if err != nil {
		tb.Fatalf("encode delete: %v", err)
	}
	return b
}

func mustMark(tb testing.TB, seq uint64) []byte {
	tb.Helper()
	b, err := EncodeMarkUploaded(MarkUploaded{UpToSeq: seq, BatchID: fmt.Sprintf("batch-%d", seq), At: t0})
	if err != nil {
		tb.Fatalf("encode mark: %v", err)
	}
	return b
}

// dump returns every key/value of the FSM's database, for comparing states.
func dump(tb testing.TB, f *FSM) map[string]string {
	tb.Helper()
	out := map[string]string{}
	err := f.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out[string(it.Item().KeyCopy(nil))] = string(v)
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("dump: %v", err)
	}
	return out
}

// memSink is a raft.SnapshotSink into memory.
type memSink struct {
	bytes.Buffer
	closed, cancelled bool
}

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Close() error  { s.closed = true; return nil }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }

func snapshotBytes(tb testing.TB, f *FSM) []byte {
	tb.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		tb.Fatalf("snapshot: %v", err)
	}
	defer snap.Release()
	var sink memSink
	if err := snap.Persist(&sink); err != nil {
		tb.Fatalf("persist: %v", err)
	}
	if !sink.closed || sink.cancelled {
		tb.Fatalf("sink closed=%v cancelled=%v", sink.closed, sink.cancelled)
	}
	return sink.Bytes()
}
