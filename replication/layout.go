package replication

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Badger key layout (see DESIGN.md). Every prefix is two bytes ending in
// '/', so ids may contain any byte without ambiguity.
const (
	prefixMeta      = "m/" // m/state: applied index, counters, upload mark, totals
	prefixCustomer  = "c/" // c/<customer id>  -> customer record
	prefixDEK       = "k/" // k/<customer id>  -> wrapped data key
	prefixTemplates = "t/" // t/<customer id>  -> template ciphertexts
	prefixLedger    = "l/" // l/<seq, 8 bytes big-endian> -> charge record
	prefixIdem      = "i/" // i/<idempotency key> -> idempotency record
	prefixChargeID  = "x/" // x/<charge id>    -> seq, 8 bytes big-endian

	recordVersion = 1
)

// keyState holds the meta state (memState): applied index, counters,
// upload mark and ledger totals.
var keyState = []byte("m/state")

func key(prefix, id string) []byte {
	k := make([]byte, 0, len(prefix)+len(id))
	return append(append(k, prefix...), id...)
}

func ledgerKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(prefixLedger), seq)
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func readU64(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("%w: want 8 bytes, have %d", ErrMalformed, len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

// customerRecord is the value under c/<id>.
type customerRecord struct {
	Info           CustomerInfo
	IdempotencyKey string
}

func (r customerRecord) encode() []byte {
	e := encoder{}
	e.byte1(recordVersion)
	r.Info.encode(&e)
	e.str(r.IdempotencyKey)
	return e.b
}

func decodeCustomerRecord(b []byte) (customerRecord, error) {
	d := decoder{b: b}
	if v := d.byte1(); v != recordVersion && d.err == nil {
		d.fail("customer record version %d", v)
	}
	r := customerRecord{Info: decodeCustomerInfo(&d)}
	r.IdempotencyKey = d.str(maxIDLen)
	return r, d.done()
}

func encodeChargeRecord(c ChargeRecord) []byte {
	e := encoder{b: make([]byte, 0, 96)}
	e.byte1(recordVersion)
	c.encode(&e)
	return e.b
}

func decodeStoredCharge(b []byte) (ChargeRecord, error) {
	d := decoder{b: b}
	if v := d.byte1(); v != recordVersion && d.err == nil {
		d.fail("charge record version %d", v)
	}
	c := decodeChargeRecord(&d)
	return c, d.done()
}

// idemRecord is the value under i/<key>: what the key was first used for.
type idemRecord struct {
	Type       byte // typeEnrol, typeDelete, typeCharge
	CustomerID string
	Seq        uint64 // the ledger seq for a charge; the log index otherwise
	At         time.Time
}

func (r idemRecord) encode() []byte {
	e := encoder{}
	e.byte1(recordVersion)
	e.byte1(r.Type)
	e.str(r.CustomerID)
	e.uvarint(r.Seq)
	e.time(r.At)
	return e.b
}

func decodeIdemRecord(b []byte) (idemRecord, error) {
	d := decoder{b: b}
	if v := d.byte1(); v != recordVersion && d.err == nil {
		d.fail("idempotency record version %d", v)
	}
	var r idemRecord
	r.Type = d.byte1()
	r.CustomerID = d.str(maxIDLen)
	r.Seq = d.uvarint()
	r.At = d.time()
	return r, d.done()
}

// uploadMark is the reconciliation mark, part of the meta state.
type uploadMark struct {
	Seq     uint64
	BatchID string
	At      time.Time
}

// counts are the record counters, part of the meta state.
type counts struct{ Customers, Charges uint64 }

// memState is the meta state: the value under m/state, rewritten in every
// apply transaction, and mirrored in memory.
type memState struct {
	applied uint64 // last applied raft index
	counts  counts
	mark    uploadMark
	totals  map[string]int64 // ledger total per currency
}

func (m memState) encode() []byte {
	e := encoder{b: make([]byte, 0, 64)}
	e.byte1(recordVersion)
	e.uvarint(m.applied)
	e.uvarint(m.counts.Customers)
	e.uvarint(m.counts.Charges)
	e.uvarint(m.mark.Seq)
	e.str(m.mark.BatchID)
	e.time(m.mark.At)
	curs := slices.Sorted(maps.Keys(m.totals)) // deterministic bytes on every replica
	e.uvarint(uint64(len(curs)))
	for _, c := range curs {
		e.str(c)
		e.varint(m.totals[c])
	}
	return e.b
}

func decodeState(b []byte) (memState, error) {
	d := decoder{b: b}
	if v := d.byte1(); v != recordVersion && d.err == nil {
		d.fail("state version %d", v)
	}
	m := memState{totals: map[string]int64{}}
	m.applied = d.uvarint()
	m.counts.Customers = d.uvarint()
	m.counts.Charges = d.uvarint()
	m.mark.Seq = d.uvarint()
	m.mark.BatchID = d.str(maxIDLen)
	m.mark.At = d.time()
	n := d.uvarint()
	if n > uint64(len(currencies)) {
		d.fail("%d currencies", n)
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		c := d.str(8)
		m.totals[c] = d.varint()
	}
	return m, d.done()
}

func encodeTemplates(cts [][]byte) []byte {
	e := encoder{}
	e.byte1(recordVersion)
	e.strs(cts)
	return e.b
}

func decodeTemplates(b []byte) ([][]byte, error) {
	d := decoder{b: b}
	if v := d.byte1(); v != recordVersion && d.err == nil {
		d.fail("templates record version %d", v)
	}
	t := d.list(maxTemplates, maxTemplateLen+maxCipherExtra)
	return t, d.done()
}
