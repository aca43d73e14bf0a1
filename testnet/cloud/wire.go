package cloud

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"time"
)

// Limits on individual fields, enforced by Batch.Validate.
const (
	// MaxIDLen is the longest store, batch, charge, customer, kiosk or
	// idempotency id accepted, in bytes.
	MaxIDLen = 256
	// MaxAmountMinor is the largest single charge accepted, in minor units.
	// It keeps per-store sums far from int64 overflow.
	MaxAmountMinor = 100_000_000_000
)

// Charge is one settled charge as the store's replicated ledger recorded it.
// ChargeID is globally unique and is the deduplication key.
type Charge struct {
	// ChargeID is the unique id of the charge; required.
	ChargeID string `json:"charge_id"`
	// Seq is the charge's position in the store's ledger; at most MaxInt64.
	Seq uint64 `json:"seq"`
	// CustomerID identifies the paying customer; required.
	CustomerID string `json:"customer_id"`
	// AmountMinor is the amount in the currency's minor units; 1..MaxAmountMinor.
	AmountMinor int64 `json:"amount_minor"`
	// Currency is an ISO 4217 code: three upper-case ASCII letters.
	Currency string `json:"currency"`
	// Kiosk is the kiosk that took the charge; optional.
	Kiosk string `json:"kiosk"`
	// At is when the charge was taken; required (non-zero).
	At time.Time `json:"at"`
	// IdempotencyKey is the key the kiosk used for the charge; optional.
	IdempotencyKey string `json:"idempotency_key"`
}

// Batch is one upload: charges of one store. BatchID names the attempt for
// logs and bookkeeping; deduplication is by ChargeID, so a retried or
// re-batched upload under a new BatchID is still safe.
type Batch struct {
	StoreID string   `json:"store_id"`
	BatchID string   `json:"batch_id"`
	Charges []Charge `json:"charges"`
}

// Ack acknowledges a stored batch. Accepted+Duplicates == len(Charges).
type Ack struct {
	BatchID    string `json:"batch_id"`
	Accepted   int    `json:"accepted"`
	Duplicates int    `json:"duplicates"`
	// UpToSeq is the highest seq in the batch; all of the batch's charges
	// are durably stored.
	UpToSeq uint64 `json:"up_to_seq"`
}

// Totals summarises what the receiver holds for one store. An unknown store
// has all-zero totals.
type Totals struct {
	StoreID string `json:"store_id"`
	Charges int64  `json:"charges"`
	// TotalMinor is the sum of amounts per currency, in minor units.
	TotalMinor map[string]int64 `json:"total_minor"`
	// TotalCents sums minor units over all currencies (demo only: it mixes
	// currencies).
	TotalCents int64 `json:"total_cents"`
	// Batches counts distinct batch ids acknowledged for the store.
	Batches int64 `json:"batches"`
	// Duplicates counts charges ignored as already stored, over all uploads.
	Duplicates int64 `json:"duplicates_ignored"`
}

// Validate checks b for upload. maxBatch > 0 caps the number of charges.
// Errors wrap ErrInvalidBatch.
func (b Batch) Validate(maxBatch int) error {
	if err := validID("store_id", b.StoreID, true); err != nil {
		return err
	}
	if err := validID("batch_id", b.BatchID, true); err != nil {
		return err
	}
	if len(b.Charges) == 0 {
		return fmt.Errorf("%w: empty batch", ErrInvalidBatch)
	}
	if maxBatch > 0 && len(b.Charges) > maxBatch {
		return fmt.Errorf("%w: %d charges exceed the maximum of %d", ErrInvalidBatch, len(b.Charges), maxBatch)
	}
	for i, c := range b.Charges {
		if err := c.validate(); err != nil {
			return fmt.Errorf("charge %d: %w", i, err)
		}
	}
	return nil
}

func (c Charge) validate() error {
	for _, f := range []struct {
		name, v  string
		required bool
	}{
		{"charge_id", c.ChargeID, true},
		{"customer_id", c.CustomerID, true},
		{"kiosk", c.Kiosk, false},
		{"idempotency_key", c.IdempotencyKey, false},
	} {
		if err := validID(f.name, f.v, f.required); err != nil {
			return err
		}
	}
	switch {
	case c.Seq > math.MaxInt64:
		return fmt.Errorf("%w: seq %d out of range", ErrInvalidBatch, c.Seq)
	case c.AmountMinor <= 0:
		return fmt.Errorf("%w: amount_minor %d must be positive", ErrInvalidBatch, c.AmountMinor)
	case c.AmountMinor > MaxAmountMinor:
		return fmt.Errorf("%w: amount_minor %d exceeds %d", ErrInvalidBatch, c.AmountMinor, int64(MaxAmountMinor))
	case !validCurrency(c.Currency):
		return fmt.Errorf("%w: currency %q must be 3 upper-case letters", ErrInvalidBatch, c.Currency)
	case c.At.IsZero():
		return fmt.Errorf("%w: at is required", ErrInvalidBatch)
	case c.At.Year() < 1 || c.At.Year() > 9999 || c.At.UTC().Year() < 1 || c.At.UTC().Year() > 9999:
		return fmt.Errorf("%w: at out of range", ErrInvalidBatch)
	}
	return nil
}

func validID(name, v string, required bool) error {
	switch {
	case v == "" && required:
		return fmt.Errorf("%w: %s is required", ErrInvalidBatch, name)
	case len(v) > MaxIDLen:
		return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalidBatch, name, MaxIDLen)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] == 0x7f {
			return fmt.Errorf("%w: %s contains a control character", ErrInvalidBatch, name)
		}
	}
	return nil
}

func validCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// decodeBatch strictly decodes one JSON Batch from r (unknown fields and
// trailing data are errors) and validates it. Errors wrap ErrInvalidBatch,
// except a body over an http.MaxBytesReader limit, which is returned as the
// reader's *http.MaxBytesError (wrapped).
func decodeBatch(r io.Reader, maxBatch int) (Batch, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var b Batch
	if err := dec.Decode(&b); err != nil {
		return Batch{}, decodeErr(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err == nil {
			err = errors.New("trailing data after batch")
		}
		return Batch{}, decodeErr(err)
	}
	if err := b.Validate(maxBatch); err != nil {
		return Batch{}, err
	}
	return b, nil
}

// decodeErr keeps byte-limit errors recognisable and marks the rest invalid.
func decodeErr(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fmt.Errorf("decode batch: %w", err)
	}
	return fmt.Errorf("%w: decode: %v", ErrInvalidBatch, err)
}

// encodeJSON is the one JSON encoder for responses and requests.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
