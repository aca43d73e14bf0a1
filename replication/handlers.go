package replication

import (
	"fmt"
	"math"
)

// The per-command state transitions. Each runs inside the batch's Badger
// transaction, reads only through the applier (so it sees the batch's
// earlier writes) and returns the Result; storage errors go to a.err.

// idem looks up an idempotency key. A stored record that does not decode
// is a storage failure.
func (a *applier) idem(k string) (idemRecord, bool) {
	v, ok := a.get(key(prefixIdem, k))
	if !ok {
		return idemRecord{}, false
	}
	rec, err := decodeIdemRecord(v)
	if err != nil {
		a.err = fmt.Errorf("idempotency record %q: %w", k, err)
		return idemRecord{}, false
	}
	return rec, true
}

func (a *applier) customer(id string) (customerRecord, bool) {
	v, ok := a.get(key(prefixCustomer, id))
	if !ok {
		return customerRecord{}, false
	}
	rec, err := decodeCustomerRecord(v)
	if err != nil {
		a.err = fmt.Errorf("customer record %q: %w", id, err)
		return customerRecord{}, false
	}
	return rec, true
}

// enrolled reports whether a customer is enrolled, as of the open
// transaction.
func (a *applier) enrolled(id string) bool {
	if v, ok := a.custs[id]; ok {
		return v
	}
	_, ok := a.f.customers[id]
	return ok
}

func (a *applier) setEnrolled(id string, v bool) {
	if a.custs == nil {
		a.custs = map[string]bool{}
	}
	a.custs[id] = v
}

var typeNames = map[byte]string{typeEnrol: "an enrolment", typeDelete: "a deletion", typeCharge: "a charge"}

func conflict(format string, args ...any) Result {
	return Result{Code: CodeConflict, Message: fmt.Sprintf(format, args...)}
}

func (a *applier) charge(idx uint64, c *Charge) Result {
	if rec, ok := a.idem(c.IdempotencyKey); ok {
		if rec.Type != typeCharge {
			return conflict("idempotency key %q was already used for %s", c.IdempotencyKey, typeNames[rec.Type])
		}
		v, ok := a.get(ledgerKey(rec.Seq))
		if !ok {
			if a.err == nil {
				a.err = fmt.Errorf("ledger entry %d of idempotency key %q missing", rec.Seq, c.IdempotencyKey)
			}
			return Result{}
		}
		prev, err := decodeStoredCharge(v)
		if err != nil {
			a.err = fmt.Errorf("ledger entry %d: %w", rec.Seq, err)
			return Result{}
		}
		if prev.CustomerID == c.CustomerID && prev.AmountMinor == c.AmountMinor && prev.Currency == c.Currency {
			return Result{Code: CodeOK, Duplicate: true, Charge: &prev,
				Message: fmt.Sprintf("duplicate of charge seq %d", prev.Seq)}
		}
		return Result{Code: CodeConflict, Charge: &prev, Message: fmt.Sprintf(
			"idempotency key %q already charged %s %d %s (seq %d)",
			c.IdempotencyKey, prev.CustomerID, prev.AmountMinor, prev.Currency, prev.Seq)}
	}
	if v, ok := a.get(key(prefixChargeID, c.ChargeID)); ok {
		seq, _ := readU64(v)
		return conflict("charge id %q already used (seq %d) under another idempotency key", c.ChargeID, seq)
	}
	if !a.enrolled(c.CustomerID) {
		return Result{Code: CodeNotFound, Message: fmt.Sprintf("customer %q is not enrolled", c.CustomerID)}
	}
	if total := a.st.totals[c.Currency]; total > math.MaxInt64-c.AmountMinor {
		return Result{Code: CodeInvalid, Message: fmt.Sprintf("ledger total for %s would overflow", c.Currency)}
	}
	rec := ChargeRecord{Seq: idx, ChargeID: c.ChargeID, CustomerID: c.CustomerID, AmountMinor: c.AmountMinor,
		Currency: c.Currency, Kiosk: c.Kiosk, At: c.At, IdempotencyKey: c.IdempotencyKey}
	a.set(ledgerKey(idx), encodeChargeRecord(rec))
	a.set(key(prefixIdem, c.IdempotencyKey), idemRecord{Type: typeCharge, CustomerID: c.CustomerID, Seq: idx, At: c.At}.encode())
	a.set(key(prefixChargeID, c.ChargeID), u64(idx))
	a.st.counts.Charges++
	a.st.totals[c.Currency] += c.AmountMinor
	return Result{Code: CodeOK, Charge: &rec}
}

func (a *applier) enrol(idx uint64, e *sealedEnrol) Result {
	if rec, ok := a.idem(e.IdempotencyKey); ok {
		if rec.Type != typeEnrol || rec.CustomerID != e.CustomerID {
			return conflict("idempotency key %q was already used for %s of customer %q",
				e.IdempotencyKey, typeNames[rec.Type], rec.CustomerID)
		}
		cur, ok := a.customer(e.CustomerID)
		if !ok || cur.IdempotencyKey != e.IdempotencyKey {
			return Result{Code: CodeNotFound, Message: fmt.Sprintf(
				"customer %q enrolled under idempotency key %q has since been deleted", e.CustomerID, e.IdempotencyKey)}
		}
		if cur.Info.CardToken != e.CardToken || cur.Info.Templates != len(e.Templates) {
			return conflict("idempotency key %q already enrolled customer %q with other content", e.IdempotencyKey, e.CustomerID)
		}
		return Result{Code: CodeOK, Duplicate: true, Customer: &cur.Info, Message: "duplicate enrolment"}
	}
	if cur, ok := a.customer(e.CustomerID); ok {
		return Result{Code: CodeAlreadyExists, Customer: &cur.Info,
			Message: fmt.Sprintf("customer %q is already enrolled", e.CustomerID)}
	}
	info := CustomerInfo{CustomerID: e.CustomerID, CardToken: e.CardToken, Templates: len(e.Templates),
		EnrolledAt: e.At, Kiosk: e.Kiosk}
	a.set(key(prefixCustomer, e.CustomerID), customerRecord{Info: info, IdempotencyKey: e.IdempotencyKey}.encode())
	a.set(key(prefixDEK, e.CustomerID), e.WrappedDEK)
	a.set(key(prefixTemplates, e.CustomerID), encodeTemplates(e.Templates))
	a.set(key(prefixIdem, e.IdempotencyKey), idemRecord{Type: typeEnrol, CustomerID: e.CustomerID, Seq: idx, At: e.At}.encode())
	a.st.counts.Customers++
	a.setEnrolled(e.CustomerID, true)
	a.txnEvents = append(a.txnEvents, event{customerID: e.CustomerID, wrapped: e.WrappedDEK, cts: e.Templates})
	return Result{Code: CodeOK, Customer: &info}
}

func (a *applier) deleteCustomer(idx uint64, d *DeleteCustomer) Result {
	if d.IdempotencyKey != "" {
		if rec, ok := a.idem(d.IdempotencyKey); ok {
			if rec.Type != typeDelete || rec.CustomerID != d.CustomerID {
				return conflict("idempotency key %q was already used for %s of customer %q",
					d.IdempotencyKey, typeNames[rec.Type], rec.CustomerID)
			}
			return Result{Code: CodeOK, Duplicate: true, Message: "duplicate delete"}
		}
	}
	cur, ok := a.customer(d.CustomerID)
	if !ok {
		return Result{Code: CodeNotFound, Message: fmt.Sprintf("customer %q is not enrolled", d.CustomerID)}
	}
	a.del(key(prefixCustomer, d.CustomerID))
	a.del(key(prefixDEK, d.CustomerID))
	a.del(key(prefixTemplates, d.CustomerID))
	if d.IdempotencyKey != "" {
		a.set(key(prefixIdem, d.IdempotencyKey), idemRecord{Type: typeDelete, CustomerID: d.CustomerID, Seq: idx, At: d.At}.encode())
	}
	a.st.counts.Customers--
	a.setEnrolled(d.CustomerID, false)
	a.txnEvents = append(a.txnEvents, event{deleted: true, customerID: d.CustomerID})
	return Result{Code: CodeOK, Customer: &cur.Info}
}

func (a *applier) markUploaded(idx uint64, m *MarkUploaded) Result {
	if m.UpToSeq >= idx {
		return Result{Code: CodeInvalid, Message: fmt.Sprintf("upload mark %d is not below its own log index %d", m.UpToSeq, idx)}
	}
	if m.UpToSeq <= a.st.mark.Seq {
		return Result{Code: CodeOK, Duplicate: true, Message: fmt.Sprintf("upload mark already at %d", a.st.mark.Seq)}
	}
	a.st.mark = uploadMark{Seq: m.UpToSeq, BatchID: m.BatchID, At: m.At}
	return Result{Code: CodeOK}
}
