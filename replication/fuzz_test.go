package replication

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func FuzzDecodeCommand(f *testing.F) {
	fsm := newFSM(f)
	f.Add(mustEnrol(f, fsm, "c1", "e1"))
	f.Add(mustCharge(f, Charge{ChargeID: "a", CustomerID: "c", IdempotencyKey: "k", AmountMinor: 1}))
	f.Add(mustDelete(f, "c1", "d"))
	f.Add(mustMark(f, 9))
	f.Add([]byte{'P', 'T', 1, 99})
	f.Add([]byte{'P', 'T', 2, 1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeCommand(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnknownCommand) {
				t.Fatalf("error %v wraps neither ErrInvalid nor ErrUnknownCommand", err)
			}
			return
		}
		// A command that decodes re-encodes to the same bytes: one
		// encoding per command, so replicas cannot read it differently.
		var again []byte
		switch {
		case c.enrol != nil:
			again = encodeSealedEnrol(*c.enrol)
		case c.delete != nil:
			again, err = EncodeDeleteCustomer(*c.delete)
		case c.charge != nil:
			again, err = EncodeCharge(*c.charge)
		case c.mark != nil:
			again, err = EncodeMarkUploaded(*c.mark)
		default:
			t.Fatal("decoded to no command")
		}
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			// Varints may be non-minimal in the input; the decoded values
			// must still agree.
			c2, err := decodeCommand(again)
			if err != nil || !reflect.DeepEqual(c, c2) {
				t.Fatalf("re-encoded command differs: %v", err)
			}
		}
	})
}

func FuzzDecodeResult(f *testing.F) {
	rec := &ChargeRecord{Seq: 7, ChargeID: "ch", CustomerID: "c", AmountMinor: 5, Currency: "EUR", Kiosk: "k", At: t0, IdempotencyKey: "i"}
	f.Add(encodeResult(Result{Code: CodeOK, Charge: rec, Duplicate: true}))
	f.Add(encodeResult(Result{Code: CodeAlreadyExists, Message: "x", Customer: &CustomerInfo{CustomerID: "c", Templates: 2}}))
	f.Add(encodeResult(Result{Code: CodeInvalid, Message: "bad"}))
	f.Add([]byte("R\x01\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeResult(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		r2, err := DecodeResult(encodeResult(r))
		if err != nil || !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip: %+v vs %+v (%v)", r, r2, err)
		}
	})
}

func FuzzReadSnapshot(f *testing.F) {
	fsm := newFSM(f)
	apply(f, fsm, 1, mustEnrol(f, fsm, "c1", "e1"))
	apply(f, fsm, 2, mustCharge(f, Charge{ChargeID: "a", CustomerID: "c1", IdempotencyKey: "k", AmountMinor: 1}))
	f.Add(snapshotBytes(f, fsm))
	f.Add([]byte("PTSN\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pairs := 0
		err := readSnapshot(bytes.NewReader(b), func(string, uint64) error { return nil },
			func(k, v []byte) error { pairs++; return nil })
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
	})
}
