package replication

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// DefaultChargesLimit is the page size Charges uses for a limit <= 0.
const DefaultChargesLimit = 1000

// Customer returns a customer of the local state (stale by at most the
// replication lag). ok is false for an unknown or deleted customer.
func (f *FSM) Customer(id string) (info CustomerInfo, ok bool, err error) {
	err = f.view(func(txn *badger.Txn) error {
		rec, found, err := readCustomer(txn, id)
		info, ok = rec.Info, found
		return err
	})
	return info, ok, err
}

// Templates returns the decrypted templates of a customer; the plain bytes
// exist only in the returned slices. Unknown customer: ErrNotFound.
func (f *FSM) Templates(id string) ([][]byte, error) {
	var plain [][]byte
	err := f.view(func(txn *badger.Txn) error {
		var err error
		plain, err = f.readTemplates(txn, id)
		return err
	})
	return plain, err
}

// ForEachCustomer calls fn for every customer, in customer id order, with
// its decrypted templates, from one consistent read view. It stops at and
// returns the first error of fn or of decryption. fn must not call Apply.
func (f *FSM) ForEachCustomer(fn func(CustomerInfo, [][]byte) error) error {
	return f.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixCustomer), PrefetchValues: true, PrefetchSize: 16})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			rec, err := decodeCustomerRecord(v)
			if err != nil {
				return fmt.Errorf("customer record %q: %w", it.Item().Key(), err)
			}
			plain, err := f.readTemplates(txn, rec.Info.CustomerID)
			if err != nil {
				return err
			}
			if err := fn(rec.Info, plain); err != nil {
				return err
			}
		}
		return nil
	})
}

// Charges returns up to limit ledger entries with Seq > afterSeq, in Seq
// order (limit <= 0 means DefaultChargesLimit). Page with the last Seq.
func (f *FSM) Charges(afterSeq uint64, limit int) ([]ChargeRecord, error) {
	if limit <= 0 {
		limit = DefaultChargesLimit
	}
	var out []ChargeRecord
	if afterSeq == ^uint64(0) {
		return nil, nil
	}
	err := f.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixLedger), PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Seek(ledgerKey(afterSeq + 1)); it.Valid() && len(out) < limit; it.Next() {
			var c ChargeRecord
			err := it.Item().Value(func(v []byte) (err error) { c, err = decodeStoredCharge(v); return })
			if err != nil {
				return fmt.Errorf("ledger entry %x: %w", it.Item().Key(), err)
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

// ChargeByKey returns the charge made under an idempotency key.
func (f *FSM) ChargeByKey(idempotencyKey string) (rec ChargeRecord, ok bool, err error) {
	err = f.view(func(txn *badger.Txn) error {
		var idem idemRecord
		var found bool
		err := getInto(txn, key(prefixIdem, idempotencyKey), func(v []byte) (err error) {
			found = true
			idem, err = decodeIdemRecord(v)
			return err
		})
		if err != nil || !found || idem.Type != typeCharge {
			return err
		}
		err = getInto(txn, ledgerKey(idem.Seq), func(v []byte) (err error) {
			ok = true
			rec, err = decodeStoredCharge(v)
			return err
		})
		if err == nil && !ok {
			err = fmt.Errorf("%w: ledger entry %d of key %q missing", ErrMalformed, idem.Seq, idempotencyKey)
		}
		return err
	})
	return rec, ok, err
}

// view runs fn in a read transaction on the live database.
func (f *FSM) view(fn func(*badger.Txn) error) error {
	db, err := f.acquire()
	if err != nil {
		return err
	}
	defer f.release()
	return db.View(fn)
}

func readCustomer(txn *badger.Txn, id string) (rec customerRecord, ok bool, err error) {
	err = getInto(txn, key(prefixCustomer, id), func(v []byte) (err error) {
		ok = true
		rec, err = decodeCustomerRecord(v)
		return err
	})
	return rec, ok, err
}

func (f *FSM) readTemplates(txn *badger.Txn, id string) ([][]byte, error) {
	item, err := txn.Get(key(prefixDEK, id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: customer %q", ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	wrapped, err := item.ValueCopy(nil)
	if err != nil {
		return nil, err
	}
	var cts [][]byte
	err = getInto(txn, key(prefixTemplates, id), func(v []byte) (err error) {
		cts, err = decodeTemplates(v)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("templates of %q: %w", id, err)
	}
	return f.openTemplates(id, wrapped, cts)
}
