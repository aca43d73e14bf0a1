package replication

import (
	"fmt"
	"time"
)

// Enrol registers a customer: a card token and the palm templates to match
// against. Build its bytes with FSM.EncodeEnrol, which encrypts Templates.
type Enrol struct {
	CustomerID string
	// CardToken is a payment token, never a card number: strings of 12-19
	// digits that pass the Luhn check are rejected.
	CardToken string
	// Templates are the PLAIN template bytes (1..16, each up to 64 KiB);
	// only their ciphertext ever leaves EncodeEnrol.
	Templates [][]byte
	Kiosk     string
	At        time.Time
	// IdempotencyKey is required: a retried proposal with the same key and
	// content is answered with the existing customer (Duplicate).
	IdempotencyKey string
}

// DeleteCustomer removes a customer, its wrapped data key and templates.
// The customer's charges stay in the ledger.
type DeleteCustomer struct {
	CustomerID string
	At         time.Time
	// IdempotencyKey is optional; when set, a retry is answered as a
	// Duplicate instead of NotFound.
	IdempotencyKey string
}

// Charge debits an enrolled customer.
type Charge struct {
	ChargeID    string
	CustomerID  string
	AmountMinor int64  // > 0, in minor units (cents)
	Currency    string // ISO 4217, see KnownCurrency
	Kiosk       string
	At          time.Time
	// IdempotencyKey is required; see Result.Duplicate.
	IdempotencyKey string
}

// MarkUploaded records that the cloud acknowledged every charge with
// Seq <= UpToSeq. The mark only moves forward.
type MarkUploaded struct {
	UpToSeq uint64
	BatchID string
	At      time.Time
}

// CommandVersion is the command format version this build writes and
// understands. Kiosks should advertise it (e.g. in gossip metadata) so that
// the node proposes a newer format only once every kiosk of the store
// understands it: a kiosk refuses newer commands (CodeUnknownCommand), and
// in a mixed-version store that refusal would make its state diverge.
const CommandVersion = cmdVersion

// Command wire format (version 1): 'P' 'T' version type body, where the body
// is a fixed sequence of varints and uvarint-length-prefixed strings.
const (
	cmdMagic0  = 'P'
	cmdMagic1  = 'T'
	cmdVersion = 1

	typeEnrol        = 1
	typeDelete       = 2
	typeCharge       = 3
	typeMarkUploaded = 4
)

func cmdHeader(typ byte) encoder {
	e := encoder{b: make([]byte, 0, 96)}
	e.raw([]byte{cmdMagic0, cmdMagic1, cmdVersion, typ})
	return e
}

// sealedEnrol is an Enrol as it travels and is stored: ciphertext only.
type sealedEnrol struct {
	CustomerID, CardToken, Kiosk, IdempotencyKey string
	At                                           time.Time
	WrappedDEK                                   []byte
	Templates                                    [][]byte // ciphertext
}

// command is a decoded command: exactly one field is set.
type command struct {
	enrol  *sealedEnrol
	delete *DeleteCustomer
	charge *Charge
	mark   *MarkUploaded
}

// EncodeEnrol validates e, seals its templates (see package doc) and
// returns the command bytes to propose. Validation errors wrap ErrInvalid.
func (f *FSM) EncodeEnrol(e Enrol) ([]byte, error) {
	if err := e.validateCommon(); err != nil {
		return nil, err
	}
	for i, t := range e.Templates {
		if len(t) > maxTemplateLen {
			return nil, invalid("template %d is %d bytes, at most %d", i, len(t), maxTemplateLen)
		}
	}
	wrapped, cts, err := f.sealEnrolment(e.CustomerID, e.Templates)
	if err != nil {
		return nil, fmt.Errorf("encode enrol: %w", err)
	}
	return encodeSealedEnrol(sealedEnrol{
		CustomerID: e.CustomerID, CardToken: e.CardToken, Kiosk: e.Kiosk,
		IdempotencyKey: e.IdempotencyKey, At: e.At, WrappedDEK: wrapped, Templates: cts,
	}), nil
}

func encodeSealedEnrol(s sealedEnrol) []byte {
	e := cmdHeader(typeEnrol)
	e.str(s.CustomerID)
	e.str(s.CardToken)
	e.str(s.Kiosk)
	e.time(s.At)
	e.str(s.IdempotencyKey)
	e.bytes(s.WrappedDEK)
	e.strs(s.Templates)
	return e.b
}

// EncodeDeleteCustomer validates d and returns the command bytes.
func EncodeDeleteCustomer(d DeleteCustomer) ([]byte, error) {
	if err := d.validate(); err != nil {
		return nil, err
	}
	e := cmdHeader(typeDelete)
	e.str(d.CustomerID)
	e.time(d.At)
	e.str(d.IdempotencyKey)
	return e.b, nil
}

// EncodeCharge validates c and returns the command bytes.
func EncodeCharge(c Charge) ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	e := cmdHeader(typeCharge)
	e.str(c.ChargeID)
	e.str(c.CustomerID)
	e.varint(c.AmountMinor)
	e.str(c.Currency)
	e.str(c.Kiosk)
	e.time(c.At)
	e.str(c.IdempotencyKey)
	return e.b, nil
}

// EncodeMarkUploaded validates m and returns the command bytes.
func EncodeMarkUploaded(m MarkUploaded) ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	e := cmdHeader(typeMarkUploaded)
	e.uvarint(m.UpToSeq)
	e.str(m.BatchID)
	e.time(m.At)
	return e.b, nil
}

// decodeCommand parses and re-validates command bytes. Errors wrap
// ErrUnknownCommand (version or type not understood) or ErrInvalid
// (malformed or failing validation). It never panics.
func decodeCommand(b []byte) (command, error) {
	if len(b) < 4 || b[0] != cmdMagic0 || b[1] != cmdMagic1 {
		return command{}, invalid("not a palmtill command (bad header)")
	}
	if b[2] != cmdVersion {
		return command{}, fmt.Errorf("%w: command format version %d (this kiosk understands version %d; upgrade it)",
			ErrUnknownCommand, b[2], cmdVersion)
	}
	if len(b) > maxCommandBytes {
		return command{}, invalid("command of %d bytes exceeds %d", len(b), maxCommandBytes)
	}
	d := decoder{b: b[4:]}
	var c command
	var err error
	switch b[3] {
	case typeEnrol:
		s := &sealedEnrol{}
		s.CustomerID = d.str(maxIDLen)
		s.CardToken = d.str(maxTokenLen)
		s.Kiosk = d.str(maxIDLen)
		s.At = d.time()
		s.IdempotencyKey = d.str(maxIDLen)
		s.WrappedDEK = append([]byte(nil), d.bytes(maxWrappedDEK)...)
		s.Templates = d.list(maxTemplates, maxTemplateLen+maxCipherExtra)
		c.enrol = s
		if err = d.done(); err == nil {
			err = s.validate()
		}
	case typeDelete:
		x := &DeleteCustomer{}
		x.CustomerID = d.str(maxIDLen)
		x.At = d.time()
		x.IdempotencyKey = d.str(maxIDLen)
		c.delete = x
		if err = d.done(); err == nil {
			err = x.validate()
		}
	case typeCharge:
		x := &Charge{}
		x.ChargeID = d.str(maxIDLen)
		x.CustomerID = d.str(maxIDLen)
		x.AmountMinor = d.varint()
		x.Currency = d.str(8)
		x.Kiosk = d.str(maxIDLen)
		x.At = d.time()
		x.IdempotencyKey = d.str(maxIDLen)
		c.charge = x
		if err = d.done(); err == nil {
			err = x.validate()
		}
	case typeMarkUploaded:
		x := &MarkUploaded{}
		x.UpToSeq = d.uvarint()
		x.BatchID = d.str(maxIDLen)
		x.At = d.time()
		c.mark = x
		if err = d.done(); err == nil {
			err = x.validate()
		}
	default:
		return command{}, fmt.Errorf("%w: command type %d in format version %d (this kiosk does not know it; upgrade it)",
			ErrUnknownCommand, b[3], cmdVersion)
	}
	if err != nil {
		if d.err != nil {
			return command{}, invalid("%v", err)
		}
		return command{}, err
	}
	return c, nil
}

// validate re-checks a decoded enrolment. It cannot decrypt (replicas may
// hold different secrets, and Apply must be deterministic), so it checks
// shapes only.
func (s *sealedEnrol) validate() error {
	e := Enrol{CustomerID: s.CustomerID, CardToken: s.CardToken, Kiosk: s.Kiosk,
		At: s.At, IdempotencyKey: s.IdempotencyKey, Templates: s.Templates}
	if err := e.validateCommon(); err != nil {
		return err
	}
	if len(s.WrappedDEK) < 1+nonceLen+16 {
		return invalid("wrapped data key too short")
	}
	for i, t := range s.Templates {
		if len(t) < 1+nonceLen+16 {
			return invalid("template %d ciphertext too short", i)
		}
	}
	return nil
}
