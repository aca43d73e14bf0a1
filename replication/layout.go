package replication

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Badger key layout (see DESIGN.md). Every prefix is two bytes ending in
// '/', so ids may contain any byte without ambiguity.
const (
	prefixMeta      = "m/" // meta: applied index, counters, upload mark, totals
	prefixCustomer  = "c/" // c/<customer id>  -> customer record
	prefixDEK       = "k/" // k/<customer id>  -> wrapped data key
	prefixTemplates = "t/" // t/<customer id>  -> template ciphertexts
	prefixLedger    = "l/" // l/<seq, 8 bytes big-endian> -> charge record
	prefixIdem      = "i/" // i/<idempotency key> -> idempotency record
	prefixChargeID  = "x/" // x/<charge id>    -> seq, 8 bytes big-endian

	recordVersion = 1
)

var (
	keyApplied  = []byte("m/applied")
	keyCounts   = []byte("m/counts")
	keyUploaded = []byte("m/uploaded")
	prefixTotal = "m/total/" // m/total/<currency> -> varint
)

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

// uploadMark is the value under m/uploaded.
type uploadMark struct {
	Seq     uint64
	BatchID string
	At      time.Time
}

func (m uploadMark) encode() []byte {
	e := encoder{}
	e.byte1(recordVersion)
	e.uvarint(m.Seq)
	e.str(m.BatchID)
	e.time(m.At)
	return e.b
}

func decodeUploadMark(b []byte) (uploadMark, error) {
	d := decoder{b: b}
	if v := d.byte1(); v != recordVersion && d.err == nil {
		d.fail("upload mark version %d", v)
	}
	var m uploadMark
	m.Seq = d.uvarint()
	m.BatchID = d.str(maxIDLen)
	m.At = d.time()
	return m, d.done()
}

// counts is the value under m/counts.
type counts struct{ Customers, Charges uint64 }

func (c counts) encode() []byte {
	e := encoder{}
	e.byte1(recordVersion)
	e.uvarint(c.Customers)
	e.uvarint(c.Charges)
	return e.b
}

func decodeCounts(b []byte) (counts, error) {
	d := decoder{b: b}
	if v := d.byte1(); v != recordVersion && d.err == nil {
		d.fail("counts version %d", v)
	}
	c := counts{Customers: d.uvarint(), Charges: d.uvarint()}
	return c, d.done()
}

func encodeTotal(v int64) []byte {
	e := encoder{}
	e.varint(v)
	return e.b
}

func decodeTotal(b []byte) (int64, error) {
	d := decoder{b: b}
	v := d.varint()
	return v, d.done()
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
