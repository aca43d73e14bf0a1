package replication

import (
	"fmt"
	"time"
)

// Code is the outcome of applying a command. It is part of the wire format:
// values are never renumbered.
type Code uint8

// Result codes.
const (
	CodeOK             Code = 0 // applied (or an idempotent replay: see Result.Duplicate)
	CodeInvalid        Code = 1 // malformed or failing validation
	CodeConflict       Code = 2 // idempotency key (or charge id) reused with different content
	CodeNotFound       Code = 3 // unknown or deleted customer
	CodeUnknownCommand Code = 4 // command version/type this kiosk does not understand
	CodeAlreadyExists  Code = 5 // customer id enrolled under another idempotency key
	CodeInternal       Code = 6 // local storage failure; the FSM stops applying
)

var codeNames = [...]string{"ok", "invalid", "conflict", "not found", "unknown command", "already exists", "internal"}

// String names the code.
func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("code(%d)", uint8(c))
}

// sentinel maps a code to its sentinel error (nil for OK).
func (c Code) sentinel() error {
	switch c {
	case CodeOK:
		return nil
	case CodeInvalid:
		return ErrInvalid
	case CodeConflict:
		return ErrConflict
	case CodeNotFound:
		return ErrNotFound
	case CodeUnknownCommand:
		return ErrUnknownCommand
	case CodeAlreadyExists:
		return ErrExists
	default:
		return ErrInternal
	}
}

// Result is what applying a command returns, encoded, through raft.
type Result struct {
	Code    Code
	Message string // human-readable reason; empty or informative for OK
	// Charge is the ledger record for a Charge (the existing one on a
	// duplicate, or on Conflict the record the key belongs to).
	Charge *ChargeRecord
	// Customer is set for Enrol (new or duplicate) and for DeleteCustomer
	// (the customer as it was before deletion).
	Customer *CustomerInfo
	// Duplicate: an idempotent replay; nothing changed and the existing
	// record is returned.
	Duplicate bool
}

// Err returns nil for CodeOK, otherwise an error wrapping the code's
// sentinel (ErrInvalid, ErrConflict, ErrNotFound, ErrUnknownCommand,
// ErrExists, ErrInternal) with the message.
func (r Result) Err() error {
	s := r.Code.sentinel()
	if s == nil {
		return nil
	}
	if r.Message == "" {
		return s
	}
	return fmt.Errorf("%w: %s", s, r.Message)
}

// ChargeRecord is one ledger entry.
type ChargeRecord struct {
	Seq            uint64 // raft log index at apply: the ledger order, identical on every replica
	ChargeID       string
	CustomerID     string
	AmountMinor    int64
	Currency       string
	Kiosk          string
	At             time.Time
	IdempotencyKey string
}

// CustomerInfo is a customer without its templates.
type CustomerInfo struct {
	CustomerID string
	CardToken  string
	Templates  int // number of templates
	EnrolledAt time.Time
	Kiosk      string
}

const (
	resultMagic   = 'R'
	resultVersion = 1

	flagDuplicate = 1 << 0
	flagCharge    = 1 << 1
	flagCustomer  = 1 << 2
	maxMessage    = 4096
)

func encodeResult(r Result) []byte {
	e := encoder{b: make([]byte, 0, 64)}
	e.raw([]byte{resultMagic, resultVersion, byte(r.Code)})
	var flags byte
	if r.Duplicate {
		flags |= flagDuplicate
	}
	if r.Charge != nil {
		flags |= flagCharge
	}
	if r.Customer != nil {
		flags |= flagCustomer
	}
	e.byte1(flags)
	msg := r.Message
	if len(msg) > maxMessage {
		msg = msg[:maxMessage]
	}
	e.str(msg)
	if r.Charge != nil {
		r.Charge.encode(&e)
	}
	if r.Customer != nil {
		r.Customer.encode(&e)
	}
	return e.b
}

// DecodeResult parses the bytes returned by Apply. Malformed input yields
// an error wrapping ErrMalformed; it never panics.
func DecodeResult(b []byte) (Result, error) {
	if len(b) < 4 || b[0] != resultMagic {
		return Result{}, fmt.Errorf("%w: not a result", ErrMalformed)
	}
	if b[1] != resultVersion {
		return Result{}, fmt.Errorf("%w: result version %d, want %d", ErrMalformed, b[1], resultVersion)
	}
	r := Result{Code: Code(b[2])}
	if r.Code > CodeInternal {
		return Result{}, fmt.Errorf("%w: unknown result code %d", ErrMalformed, b[2])
	}
	flags := b[3]
	if flags&^(flagDuplicate|flagCharge|flagCustomer) != 0 {
		return Result{}, fmt.Errorf("%w: unknown result flags %#x", ErrMalformed, flags)
	}
	d := decoder{b: b[4:]}
	r.Duplicate = flags&flagDuplicate != 0
	r.Message = d.str(maxMessage)
	if flags&flagCharge != 0 {
		c := decodeChargeRecord(&d)
		r.Charge = &c
	}
	if flags&flagCustomer != 0 {
		c := decodeCustomerInfo(&d)
		r.Customer = &c
	}
	if err := d.done(); err != nil {
		return Result{}, err
	}
	return r, nil
}

func (c *ChargeRecord) encode(e *encoder) {
	e.uvarint(c.Seq)
	e.str(c.ChargeID)
	e.str(c.CustomerID)
	e.varint(c.AmountMinor)
	e.str(c.Currency)
	e.str(c.Kiosk)
	e.time(c.At)
	e.str(c.IdempotencyKey)
}

func decodeChargeRecord(d *decoder) ChargeRecord {
	var c ChargeRecord
	c.Seq = d.uvarint()
	c.ChargeID = d.str(maxIDLen)
	c.CustomerID = d.str(maxIDLen)
	c.AmountMinor = d.varint()
	c.Currency = d.str(8)
	c.Kiosk = d.str(maxIDLen)
	c.At = d.time()
	c.IdempotencyKey = d.str(maxIDLen)
	return c
}

func (c *CustomerInfo) encode(e *encoder) {
	e.str(c.CustomerID)
	e.str(c.CardToken)
	e.uvarint(uint64(c.Templates))
	e.time(c.EnrolledAt)
	e.str(c.Kiosk)
}

func decodeCustomerInfo(d *decoder) CustomerInfo {
	var c CustomerInfo
	c.CustomerID = d.str(maxIDLen)
	c.CardToken = d.str(maxTokenLen)
	n := d.uvarint()
	if n > maxTemplates {
		d.fail("template count %d", n)
	}
	c.Templates = int(n)
	c.EnrolledAt = d.time()
	c.Kiosk = d.str(maxIDLen)
	return c
}
