package replication

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/raft"
)

// TestApplySequence drives every command through Apply, in order, with
// the result expected at each step.
func TestApplySequence(t *testing.T) {
	f := newFSM(t)
	charge := func(id, cust, key string, amount int64, cur string) []byte {
		return mustCharge(t, Charge{ChargeID: id, CustomerID: cust, IdempotencyKey: key, AmountMinor: amount, Currency: cur})
	}
	enrolOther := func() []byte {
		b, err := f.EncodeEnrol(Enrol{CustomerID: "alice", CardToken: "tok_other", Templates: templatesFor("alice", 2),
			Kiosk: "k1", At: t0, IdempotencyKey: "enrol-alice"})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	steps := []struct {
		name string
		data []byte
		code Code
		dup  bool
		msg  string // substring of the message
	}{
		{"enrol alice", mustEnrol(t, f, "alice", "enrol-alice"), CodeOK, false, ""},
		{"enrol alice replay", mustEnrol(t, f, "alice", "enrol-alice"), CodeOK, true, "duplicate"},
		{"enrol alice key reused with other token", enrolOther(), CodeConflict, false, "other content"},
		{"enrol alice under a new key", mustEnrol(t, f, "alice", "enrol-alice-2"), CodeAlreadyExists, false, "already enrolled"},
		{"enrol bob with alice's key", mustEnrol(t, f, "bob", "enrol-alice"), CodeConflict, false, "already used"},
		{"enrol bob", mustEnrol(t, f, "bob", "enrol-bob"), CodeOK, false, ""},
		{"charge alice", charge("ch1", "alice", "pay-1", 250, "EUR"), CodeOK, false, ""},
		{"charge alice replay", charge("ch1", "alice", "pay-1", 250, "EUR"), CodeOK, true, "duplicate"},
		{"charge replay with new charge id", charge("ch1-retry", "alice", "pay-1", 250, "EUR"), CodeOK, true, "duplicate"},
		{"charge key reused other amount", charge("ch2", "alice", "pay-1", 999, "EUR"), CodeConflict, false, "already charged"},
		{"charge key reused other currency", charge("ch2", "alice", "pay-1", 250, "USD"), CodeConflict, false, "already charged"},
		{"charge key reused other customer", charge("ch2", "bob", "pay-1", 250, "EUR"), CodeConflict, false, "already charged"},
		{"charge id reused other key", charge("ch1", "alice", "pay-2", 250, "EUR"), CodeConflict, false, "charge id"},
		{"charge with an enrol key", charge("ch3", "alice", "enrol-bob", 250, "EUR"), CodeConflict, false, "already used for an enrolment"},
		{"charge unknown customer", charge("ch4", "nobody", "pay-4", 100, "EUR"), CodeNotFound, false, "not enrolled"},
		{"charge bob usd", charge("ch5", "bob", "pay-5", 1000, "USD"), CodeOK, false, ""},
		{"delete alice", mustDelete(t, "alice", "del-alice"), CodeOK, false, ""},
		{"delete alice replay", mustDelete(t, "alice", "del-alice"), CodeOK, true, "duplicate"},
		{"delete alice again without key", mustDelete(t, "alice", ""), CodeNotFound, false, "not enrolled"},
		{"delete key reused for bob", mustDelete(t, "bob", "del-alice"), CodeConflict, false, "already used"},
		{"charge deleted alice", charge("ch6", "alice", "pay-6", 100, "EUR"), CodeNotFound, false, "not enrolled"},
		{"old enrol replay after delete", mustEnrol(t, f, "alice", "enrol-alice"), CodeNotFound, false, "since been deleted"},
		{"re-enrol alice with a new key", mustEnrol(t, f, "alice", "enrol-alice-3"), CodeOK, false, ""},
		{"mark uploaded to 7", mustMark(t, 7), CodeOK, false, ""},
		{"mark uploaded backwards", mustMark(t, 5), CodeOK, true, "already at 7"},
		{"mark beyond the log", mustMark(t, 1000), CodeInvalid, false, "not below"},
	}
	for i, st := range steps {
		idx := uint64(i + 1)
		t.Run(st.name, func(t *testing.T) {
			r := apply(t, f, idx, st.data)
			if r.Code != st.code || r.Duplicate != st.dup || !strings.Contains(r.Message, st.msg) {
				t.Fatalf("index %d: got code=%v dup=%v msg=%q, want code=%v dup=%v msg~%q",
					idx, r.Code, r.Duplicate, r.Message, st.code, st.dup, st.msg)
			}
			if (r.Code == CodeOK) != (r.Err() == nil) {
				t.Fatalf("Err() = %v for %v", r.Err(), r.Code)
			}
		})
	}

	st := f.Stats()
	want := Stats{Customers: 2, Charges: 2, LedgerTotal: map[string]int64{"EUR": 250, "USD": 1000},
		UploadedSeq: 7, AppliedIndex: uint64(len(steps))}
	if !reflect.DeepEqual(st, want) {
		t.Fatalf("stats = %+v, want %+v", st, want)
	}
	if got := f.UploadedSeq(); got != 7 {
		t.Fatalf("UploadedSeq = %d", got)
	}
	charges, err := f.Charges(0, 0)
	if err != nil || len(charges) != 2 || charges[0].Seq != 7 || charges[1].Seq != 16 {
		t.Fatalf("charges = %+v, %v", charges, err)
	}
	if charges[0].ChargeID != "ch1" || charges[0].AmountMinor != 250 || !charges[0].At.Equal(t0) || charges[0].Kiosk != "k1" {
		t.Fatalf("charge 0 = %+v", charges[0])
	}
	if page, _ := f.Charges(7, 1); len(page) != 1 || page[0].Seq != 16 {
		t.Fatalf("page after 7 = %+v", page)
	}
	if page, _ := f.Charges(16, 10); len(page) != 0 {
		t.Fatalf("page after 16 = %+v", page)
	}
	if c, ok, err := f.ChargeByKey("pay-5"); err != nil || !ok || c.Seq != 16 || c.Currency != "USD" {
		t.Fatalf("ChargeByKey = %+v %v %v", c, ok, err)
	}
	if _, ok, err := f.ChargeByKey("enrol-bob"); err != nil || ok {
		t.Fatalf("ChargeByKey(enrol key) ok=%v err=%v", ok, err)
	}
	info, ok, err := f.Customer("alice")
	if err != nil || !ok || info.CardToken != "tok_alice" || info.Templates != 2 || !info.EnrolledAt.Equal(t0) {
		t.Fatalf("Customer(alice) = %+v %v %v", info, ok, err)
	}
	tpl, err := f.Templates("bob")
	if err != nil || !reflect.DeepEqual(tpl, templatesFor("bob", 2)) {
		t.Fatalf("Templates(bob) = %q, %v", tpl, err)
	}
}

func TestChargeResultCarriesRecord(t *testing.T) {
	f := newFSM(t)
	apply(t, f, 1, mustEnrol(t, f, "c1", "e1"))
	r := apply(t, f, 2, mustCharge(t, Charge{ChargeID: "x", CustomerID: "c1", IdempotencyKey: "k", AmountMinor: 42}))
	want := ChargeRecord{Seq: 2, ChargeID: "x", CustomerID: "c1", AmountMinor: 42, Currency: "EUR", Kiosk: "k1", At: t0, IdempotencyKey: "k"}
	if r.Charge == nil || *r.Charge != want {
		t.Fatalf("charge = %+v, want %+v", r.Charge, want)
	}
	dup := apply(t, f, 3, mustCharge(t, Charge{ChargeID: "y", CustomerID: "c1", IdempotencyKey: "k", AmountMinor: 42}))
	if !dup.Duplicate || dup.Charge == nil || *dup.Charge != want {
		t.Fatalf("duplicate = %+v", dup)
	}
	if st := f.Stats(); st.Charges != 1 || st.LedgerTotal["EUR"] != 42 {
		t.Fatalf("stats after duplicate = %+v", st)
	}
}

// TestUnknownCommand checks that commands this build does not understand
// are refused identically on every replica, without panicking, and that
// the index still advances.
func TestUnknownCommand(t *testing.T) {
	good, err := EncodeCharge(Charge{ChargeID: "c", CustomerID: "c", AmountMinor: 1, Currency: "EUR", Kiosk: "k", At: t0, IdempotencyKey: "i"})
	if err != nil {
		t.Fatal(err)
	}
	future := append([]byte(nil), good...)
	future[2] = 2
	newType := append([]byte(nil), good...)
	newType[3] = 99
	tests := []struct {
		name string
		data []byte
		code Code
		msg  string
	}{
		{"future version", future, CodeUnknownCommand, "version 2"},
		{"unknown type", newType, CodeUnknownCommand, "type 99"},
		{"empty", nil, CodeInvalid, "bad header"},
		{"garbage", []byte("hello world"), CodeInvalid, "bad header"},
		{"truncated", good[:len(good)-3], CodeInvalid, ""},
		{"trailing bytes", append(append([]byte(nil), good...), 0), CodeInvalid, "trailing"},
	}
	a, b := newFSM(t), newFSM(t)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			idx := uint64(i + 1)
			ra := a.Apply(entry(idx, tc.data)).([]byte)
			rb := b.Apply(entry(idx, tc.data)).([]byte)
			if !bytes.Equal(ra, rb) {
				t.Fatalf("replicas disagree: %q vs %q", ra, rb)
			}
			r, err := DecodeResult(ra)
			if err != nil {
				t.Fatal(err)
			}
			if r.Code != tc.code || !strings.Contains(r.Message, tc.msg) {
				t.Fatalf("got %v %q, want %v ~%q", r.Code, r.Message, tc.code, tc.msg)
			}
			if tc.code == CodeUnknownCommand && !errors.Is(r.Err(), ErrUnknownCommand) {
				t.Fatalf("Err() = %v", r.Err())
			}
			if a.AppliedIndex() != idx {
				t.Fatalf("applied = %d, want %d", a.AppliedIndex(), idx)
			}
		})
	}
	if !reflect.DeepEqual(dump(t, a), dump(t, b)) {
		t.Fatal("states differ")
	}
}

// TestApplyBatchMatchesApply checks that ApplyBatch gives the same results
// and state as applying one entry at a time, including skipped and
// non-command entries.
func TestApplyBatchMatchesApply(t *testing.T) {
	one, batch := newFSM(t), newFSM(t)
	var logs []*raft.Log
	add := func(data []byte) { logs = append(logs, entry(uint64(len(logs)+1), data)) }
	add(mustEnrol(t, one, "c1", "e1"))
	add(mustEnrol(t, one, "c2", "e2"))
	for i := range 50 {
		add(mustCharge(t, Charge{ChargeID: "ch" + string(rune('A'+i)), CustomerID: []string{"c1", "c2", "zz"}[i%3],
			IdempotencyKey: "k" + string(rune('A'+i%40)), AmountMinor: int64(10 + i%7)}))
	}
	add(mustDelete(t, "c1", "d1"))
	logs = append(logs, &raft.Log{Index: uint64(len(logs) + 1), Type: raft.LogConfiguration})
	add(mustMark(t, 10))
	add([]byte{'P', 'T', 9, 1})

	var want []interface{}
	for _, l := range logs {
		want = append(want, one.Apply(l))
	}
	got := batch.ApplyBatch(logs[:20])
	got = append(got, batch.ApplyBatch(logs[20:])...)
	for i := range want {
		if !bytes.Equal(want[i].([]byte), got[i].([]byte)) {
			t.Fatalf("entry %d: batch result %q, single %q", i+1, got[i], want[i])
		}
	}
	if !reflect.DeepEqual(dump(t, one), dump(t, batch)) {
		t.Fatal("states differ")
	}
	if !reflect.DeepEqual(one.Stats(), batch.Stats()) {
		t.Fatalf("stats differ: %+v vs %+v", one.Stats(), batch.Stats())
	}
	// A replayed batch is skipped entirely.
	before := dump(t, batch)
	for i, r := range batch.ApplyBatch(logs) {
		res, _ := DecodeResult(r.([]byte))
		if res.Code != CodeOK || !strings.Contains(res.Message, "already applied") {
			t.Fatalf("replayed entry %d: %+v", i+1, res)
		}
	}
	if !reflect.DeepEqual(before, dump(t, batch)) {
		t.Fatal("replay changed the state")
	}
}

func TestRestartKeepsStateAndSkipsReplay(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	f, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	logs := []*raft.Log{
		entry(1, mustEnrol(t, f, "c1", "e1")),
		entry(2, mustCharge(t, Charge{ChargeID: "a", CustomerID: "c1", IdempotencyKey: "k1", AmountMinor: 5})),
		entry(3, mustCharge(t, Charge{ChargeID: "b", CustomerID: "c1", IdempotencyKey: "k2", AmountMinor: 7})),
		entry(4, mustMark(t, 2)),
	}
	f.ApplyBatch(logs[:2])
	f.Apply(logs[2])
	f.Apply(logs[3])
	before, stats := dump(t, f), f.Stats()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Customer("c1"); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
	if r, _ := DecodeResult(f.Apply(entry(5, nil)).([]byte)); r.Code != CodeInternal {
		t.Fatalf("apply after close: %+v", r)
	}

	obs := &recorder{}
	cfg.Observer = obs
	g, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	if !reflect.DeepEqual(g.Stats(), stats) || g.AppliedIndex() != 4 || g.UploadedSeq() != 2 {
		t.Fatalf("stats after reopen %+v, want %+v", g.Stats(), stats)
	}
	// raft replays its log from the start: nothing is applied twice and
	// the observer hears nothing.
	g.ApplyBatch(logs)
	if !reflect.DeepEqual(dump(t, g), before) || len(obs.get()) != 0 {
		t.Fatalf("replay after restart changed state or notified %v", obs.get())
	}
	// The next new entry applies normally.
	r := apply(t, g, 5, mustCharge(t, Charge{ChargeID: "c", CustomerID: "c1", IdempotencyKey: "k3", AmountMinor: 1}))
	if r.Code != CodeOK || r.Charge.Seq != 5 || g.Stats().Charges != 3 {
		t.Fatalf("apply after restart: %+v stats %+v", r, g.Stats())
	}
}

func TestObserverCalls(t *testing.T) {
	obs := &recorder{}
	f := newFSM(t, withObserver(obs))
	apply(t, f, 1, mustEnrol(t, f, "c1", "e1"))
	apply(t, f, 2, mustEnrol(t, f, "c1", "e1")) // duplicate: no call
	apply(t, f, 3, mustEnrol(t, f, "c2", "e2"))
	apply(t, f, 4, mustDelete(t, "c1", "d1"))
	apply(t, f, 5, mustDelete(t, "c1", "d1")) // duplicate: no call
	apply(t, f, 6, mustCharge(t, Charge{ChargeID: "a", CustomerID: "c2", IdempotencyKey: "k", AmountMinor: 1}))
	want := []string{"enrolled:c1", "enrolled:c2", "deleted:c1"}
	if got := obs.get(); !reflect.DeepEqual(got, want) {
		t.Fatalf("observer calls %v, want %v", got, want)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if !reflect.DeepEqual(obs.enrolled["c2"], templatesFor("c2", 2)) {
		t.Fatalf("observer got templates %q", obs.enrolled["c2"])
	}
}

// TestCryptoShredding checks that deleting a customer removes its wrapped
// data key and ciphertext while its charges stay in the ledger.
func TestCryptoShredding(t *testing.T) {
	f := newFSM(t)
	apply(t, f, 1, mustEnrol(t, f, "c1", "e1"))
	apply(t, f, 2, mustCharge(t, Charge{ChargeID: "a", CustomerID: "c1", IdempotencyKey: "k", AmountMinor: 3}))
	apply(t, f, 3, mustDelete(t, "c1", ""))
	for k := range dump(t, f) {
		if strings.HasPrefix(k, prefixDEK) || strings.HasPrefix(k, prefixTemplates) || strings.HasPrefix(k, prefixCustomer) {
			t.Fatalf("key %q left after delete", k)
		}
	}
	if _, err := f.Templates("c1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Templates after delete: %v", err)
	}
	if _, ok, _ := f.Customer("c1"); ok {
		t.Fatal("customer still there")
	}
	if c, _ := f.Charges(0, 10); len(c) != 1 || c[0].CustomerID != "c1" {
		t.Fatalf("ledger after delete: %+v", c)
	}
	if st := f.Stats(); st.Customers != 0 || st.Charges != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestWrongSecretStaysDeterministic: a replica with another secret keeps
// the same state (ciphertext) but cannot decrypt, and says so.
func TestWrongSecretStaysDeterministic(t *testing.T) {
	obs := &recorder{}
	a := newFSM(t)
	b := newFSM(t, withObserver(obs), func(c *Config) { c.Secret = []byte("another-secret-of-enough-length") })
	cmd := mustEnrol(t, a, "c1", "e1")
	ra, rb := a.Apply(entry(1, cmd)), b.Apply(entry(1, cmd))
	if !bytes.Equal(ra.([]byte), rb.([]byte)) || !reflect.DeepEqual(dump(t, a), dump(t, b)) {
		t.Fatal("replicas diverged")
	}
	if _, err := b.Templates("c1"); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Templates with the wrong secret: %v", err)
	}
	if len(obs.get()) != 0 {
		t.Fatalf("observer called without plain templates: %v", obs.get())
	}
	if err := b.ForEachCustomer(func(CustomerInfo, [][]byte) error { return nil }); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("ForEachCustomer: %v", err)
	}
}

func TestForEachCustomer(t *testing.T) {
	f := newFSM(t)
	for i, id := range []string{"b", "a", "c"} {
		apply(t, f, uint64(i+1), mustEnrol(t, f, id, "e"+id))
	}
	var seen []string
	err := f.ForEachCustomer(func(info CustomerInfo, tpl [][]byte) error {
		if !reflect.DeepEqual(tpl, templatesFor(info.CustomerID, 2)) {
			t.Errorf("templates of %s = %q", info.CustomerID, tpl)
		}
		seen = append(seen, info.CustomerID)
		return nil
	})
	if err != nil || !reflect.DeepEqual(seen, []string{"a", "b", "c"}) {
		t.Fatalf("seen %v err %v", seen, err)
	}
	stop := errors.New("stop")
	if err := f.ForEachCustomer(func(CustomerInfo, [][]byte) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("error from fn: %v", err)
	}
}

// TestStorageFailureStopsApplying closes Badger underneath the FSM: the
// entry gets CodeInternal, the FSM reports unhealthy and refuses later
// entries instead of diverging.
func TestStorageFailureStopsApplying(t *testing.T) {
	f := newFSM(t)
	apply(t, f, 1, mustEnrol(t, f, "c1", "e1"))
	if err := f.db.db.Close(); err != nil {
		t.Fatal(err)
	}
	r := apply(t, f, 2, mustCharge(t, Charge{ChargeID: "a", CustomerID: "c1", IdempotencyKey: "k", AmountMinor: 1}))
	if r.Code != CodeInternal || !errors.Is(r.Err(), ErrInternal) {
		t.Fatalf("apply on a broken store: %+v", r)
	}
	if f.Healthy() == nil {
		t.Fatal("Healthy() = nil after a storage failure")
	}
	if r := apply(t, f, 3, mustDelete(t, "c1", "")); r.Code != CodeInternal {
		t.Fatalf("apply after failure: %+v", r)
	}
	if f.AppliedIndex() != 1 {
		t.Fatalf("applied index moved to %d", f.AppliedIndex())
	}
}

// TestConcurrentReads reads from several goroutines while entries are
// applied and a snapshot is restored (run with -race).
func TestConcurrentReads(t *testing.T) {
	src := newFSM(t)
	populate(t, src)
	snap := snapshotBytes(t, src)
	f := newFSM(t)
	apply(t, f, 1, mustEnrol(t, f, "c1", "e1"))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, _, _ = f.Customer("c1")
				_, _ = f.Charges(0, 10)
				_ = f.Stats()
				_ = f.ForEachCustomer(func(CustomerInfo, [][]byte) error { return nil })
			}
		}()
	}
	for i := uint64(2); i < 200; i++ {
		apply(t, f, i, mustCharge(t, Charge{ChargeID: itoa(int(i)), CustomerID: "c1", IdempotencyKey: itoa(int(i)), AmountMinor: 1}))
		if i == 100 {
			if err := f.Restore(io.NopCloser(bytes.NewReader(snap))); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(stop)
	wg.Wait()
}

// TestLargeBatchIsSplit applies a batch far larger than one Badger
// transaction may hold (20 enrolments of 16 × 64 KiB templates).
func TestLargeBatchIsSplit(t *testing.T) {
	obs := &recorder{}
	f := newFSM(t, withObserver(obs))
	big := make([][]byte, maxTemplates)
	for i := range big {
		big[i] = bytes.Repeat([]byte{byte(i)}, maxTemplateLen)
	}
	var logs []*raft.Log
	var want []string
	for i := range 20 {
		id := "big" + itoa(i)
		b, err := f.EncodeEnrol(Enrol{CustomerID: id, CardToken: "tok", Templates: big, Kiosk: "k", At: t0, IdempotencyKey: id})
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, entry(uint64(i+1), b))
		want = append(want, "enrolled:"+id)
	}
	for i, raw := range f.ApplyBatch(logs) {
		if r, err := DecodeResult(raw.([]byte)); err != nil || r.Code != CodeOK {
			t.Fatalf("entry %d: %+v %v", i+1, r, err)
		}
	}
	if f.Healthy() != nil || f.AppliedIndex() != 20 || f.Stats().Customers != 20 {
		t.Fatalf("healthy=%v applied=%d stats=%+v", f.Healthy(), f.AppliedIndex(), f.Stats())
	}
	if got := obs.get(); !reflect.DeepEqual(got, want) {
		t.Fatalf("observer calls %v", got)
	}
}

func TestCollectGarbage(t *testing.T) {
	f := newFSM(t)
	apply(t, f, 1, mustEnrol(t, f, "c1", "e1"))
	apply(t, f, 2, mustDelete(t, "c1", ""))
	if err := f.CollectGarbage(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.CollectGarbage(); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}
