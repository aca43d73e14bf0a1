package replication

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"testing"

	"github.com/hashicorp/raft"
	"pgregory.net/rapid"
)

// model is an independent, in-memory statement of the FSM's rules
// (DESIGN.md, "Idempotency"), for property tests.
type model struct {
	customers map[string]modelCustomer
	idem      map[string]idemRecord
	chargeIDs map[string]bool
	ledger    map[uint64]Charge
	mark      uint64
	totals    map[string]int64
}

type modelCustomer struct {
	token string
	n     int
	key   string
}

func newModel() *model {
	return &model{customers: map[string]modelCustomer{}, idem: map[string]idemRecord{},
		chargeIDs: map[string]bool{}, ledger: map[uint64]Charge{}, totals: map[string]int64{}}
}

// op is one generated command with what the model needs to judge it.
type op struct {
	enrol  *Enrol
	delete *DeleteCustomer
	charge *Charge
	mark   *MarkUploaded
}

func (m *model) apply(idx uint64, o op) (Code, bool) {
	switch {
	case o.charge != nil:
		c := o.charge
		if rec, ok := m.idem[c.IdempotencyKey]; ok {
			if rec.Type != typeCharge {
				return CodeConflict, false
			}
			p := m.ledger[rec.Seq]
			if p.CustomerID == c.CustomerID && p.AmountMinor == c.AmountMinor && p.Currency == c.Currency {
				return CodeOK, true
			}
			return CodeConflict, false
		}
		if m.chargeIDs[c.ChargeID] {
			return CodeConflict, false
		}
		if _, ok := m.customers[c.CustomerID]; !ok {
			return CodeNotFound, false
		}
		m.ledger[idx] = *c
		m.idem[c.IdempotencyKey] = idemRecord{Type: typeCharge, CustomerID: c.CustomerID, Seq: idx}
		m.chargeIDs[c.ChargeID] = true
		m.totals[c.Currency] += c.AmountMinor
		return CodeOK, false
	case o.enrol != nil:
		e := o.enrol
		if rec, ok := m.idem[e.IdempotencyKey]; ok {
			if rec.Type != typeEnrol || rec.CustomerID != e.CustomerID {
				return CodeConflict, false
			}
			cur, ok := m.customers[e.CustomerID]
			if !ok || cur.key != e.IdempotencyKey {
				return CodeNotFound, false
			}
			if cur.token != e.CardToken || cur.n != len(e.Templates) {
				return CodeConflict, false
			}
			return CodeOK, true
		}
		if _, ok := m.customers[e.CustomerID]; ok {
			return CodeAlreadyExists, false
		}
		m.customers[e.CustomerID] = modelCustomer{token: e.CardToken, n: len(e.Templates), key: e.IdempotencyKey}
		m.idem[e.IdempotencyKey] = idemRecord{Type: typeEnrol, CustomerID: e.CustomerID}
		return CodeOK, false
	case o.delete != nil:
		d := o.delete
		if rec, ok := m.idem[d.IdempotencyKey]; ok && d.IdempotencyKey != "" {
			if rec.Type != typeDelete || rec.CustomerID != d.CustomerID {
				return CodeConflict, false
			}
			return CodeOK, true
		}
		if _, ok := m.customers[d.CustomerID]; !ok {
			return CodeNotFound, false
		}
		delete(m.customers, d.CustomerID)
		if d.IdempotencyKey != "" {
			m.idem[d.IdempotencyKey] = idemRecord{Type: typeDelete, CustomerID: d.CustomerID}
		}
		return CodeOK, false
	default:
		if o.mark.UpToSeq >= idx {
			return CodeInvalid, false
		}
		if o.mark.UpToSeq <= m.mark {
			return CodeOK, true
		}
		m.mark = o.mark.UpToSeq
		return CodeOK, false
	}
}

// genOp draws commands over small pools of ids and keys, so that
// duplicates, conflicts and deleted customers are frequent.
// ns prefixes every id and key, and base offsets upload marks, so that
// successive runs share one FSM without seeing each other.
func genOp(ns string, base uint64) func(t *rapid.T) op {
	return func(t *rapid.T) op { return genOpIn(t, ns, base) }
}

func genOpIn(t *rapid.T, ns string, base uint64) op {
	cust := ns + rapid.SampledFrom([]string{"ann", "bob"}).Draw(t, "customer")
	key := ns + rapid.SampledFrom([]string{"k1", "k2", "k3", "k4"}).Draw(t, "key")
	switch rapid.IntRange(0, 9).Draw(t, "kind") {
	case 0, 1, 2:
		n := rapid.IntRange(1, 2).Draw(t, "templates")
		return op{enrol: &Enrol{CustomerID: cust, CardToken: rapid.SampledFrom([]string{"tok_a", "tok_b"}).Draw(t, "token"),
			Templates: templatesFor(cust, n), Kiosk: "k", At: t0, IdempotencyKey: key}}
	case 3:
		if rapid.Bool().Draw(t, "keyless") {
			key = ""
		}
		return op{delete: &DeleteCustomer{CustomerID: cust, At: t0, IdempotencyKey: key}}
	case 4:
		return op{mark: &MarkUploaded{UpToSeq: base + uint64(rapid.IntRange(1, 40).Draw(t, "mark")), BatchID: "b", At: t0}}
	default:
		return op{charge: &Charge{ChargeID: ns + rapid.SampledFrom([]string{"c1", "c2", "c3", "c4"}).Draw(t, "charge id"),
			CustomerID: cust, AmountMinor: int64(rapid.IntRange(1, 2).Draw(t, "amount")),
			Currency: rapid.SampledFrom([]string{"EUR", "USD"}).Draw(t, "currency"), Kiosk: "k", At: t0, IdempotencyKey: key}}
	}
}

func (o op) encode(t *rapid.T, f *FSM) []byte {
	var b []byte
	var err error
	switch {
	case o.enrol != nil:
		b, err = f.EncodeEnrol(*o.enrol)
	case o.delete != nil:
		b, err = EncodeDeleteCustomer(*o.delete)
	case o.charge != nil:
		b, err = EncodeCharge(*o.charge)
	default:
		b, err = EncodeMarkUploaded(*o.mark)
	}
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return b
}

// TestModel checks random command sequences, applied in random batches,
// against the model. Runs share one FSM (Badger takes tens of ms to open)
// with ids namespaced per run; at the end, a snapshot of everything must
// restore to an identical state.
func TestModel(t *testing.T) {
	f := newFSM(t)
	run := 0
	rapid.Check(t, func(rt *rapid.T) {
		run++
		before := f.Stats()
		base := before.AppliedIndex
		m := newModel()
		m.mark = before.UploadedSeq
		ops := rapid.SliceOfN(rapid.Custom(genOp(fmt.Sprintf("r%d-", run), base)), 10, 60).Draw(rt, "ops")
		var logs []*raft.Log
		for i, o := range ops {
			logs = append(logs, entry(base+uint64(i+1), o.encode(rt, f)))
		}
		var results []interface{}
		for len(logs) > 0 {
			n := rapid.IntRange(1, len(logs)).Draw(rt, "batch")
			results = append(results, f.ApplyBatch(logs[:n])...)
			logs = logs[n:]
		}
		for i, o := range ops {
			idx := base + uint64(i+1)
			code, dup := m.apply(idx, o)
			r, err := DecodeResult(results[i].([]byte))
			if err != nil {
				rt.Fatal(err)
			}
			if r.Code != code || r.Duplicate != dup {
				rt.Fatalf("entry %d %+v: FSM said %v dup=%v (%s), model %v dup=%v", idx, o, r.Code, r.Duplicate, r.Message, code, dup)
			}
		}
		st := f.Stats()
		if st.Customers-before.Customers != len(m.customers) || st.Charges-before.Charges != len(m.ledger) ||
			st.UploadedSeq != m.mark || st.AppliedIndex != base+uint64(len(ops)) {
			rt.Fatalf("stats %+v (before %+v), model customers=%d charges=%d mark=%d",
				st, before, len(m.customers), len(m.ledger), m.mark)
		}
		for cur, v := range m.totals {
			if st.LedgerTotal[cur]-before.LedgerTotal[cur] != v {
				rt.Fatalf("total %s moved by %d, model %d", cur, st.LedgerTotal[cur]-before.LedgerTotal[cur], v)
			}
		}
		charges, err := f.Charges(base, 100)
		if err != nil || len(charges) != len(m.ledger) {
			rt.Fatalf("ledger %d entries (%v), model %d", len(charges), err, len(m.ledger))
		}
		for _, c := range charges {
			want := m.ledger[c.Seq]
			if c.ChargeID != want.ChargeID || c.CustomerID != want.CustomerID || c.AmountMinor != want.AmountMinor {
				rt.Fatalf("ledger seq %d = %+v, model %+v", c.Seq, c, want)
			}
		}
		for id, mc := range m.customers {
			tpl, err := f.Templates(id)
			if err != nil || !reflect.DeepEqual(tpl, templatesFor(id, mc.n)) {
				rt.Fatalf("templates of %s: %v", id, err)
			}
		}
	})
	g := newFSM(t)
	if err := g.Restore(io.NopCloser(bytes.NewReader(snapshotBytes(t, f)))); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(dump(t, f), dump(t, g)) || !reflect.DeepEqual(f.Stats(), g.Stats()) {
		t.Fatal("restored state differs")
	}
}
