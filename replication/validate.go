package replication

import (
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on command fields. They are part of the command format: Apply
// re-checks them, so every replica judges a command identically.
const (
	maxIDLen        = 128      // customer, charge, kiosk, batch ids, idempotency keys
	maxTokenLen     = 256      // card token
	maxTemplates    = 16       // templates per enrolment
	maxTemplateLen  = 64 << 10 // plain bytes per template
	maxAmountMinor  = 1e13     // per charge, in minor units
	maxCipherExtra  = 64       // nonce + tag + version overhead per ciphertext
	maxWrappedDEK   = 128
	maxCommandBytes = maxTemplates*(maxTemplateLen+maxCipherExtra) + 4096
)

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)
}

// checkID accepts 1..maxIDLen bytes of printable UTF-8 without spaces.
func checkID(field, v string) error {
	if v == "" {
		return invalid("%s is empty", field)
	}
	if len(v) > maxIDLen {
		return invalid("%s longer than %d bytes", field, maxIDLen)
	}
	if !utf8.ValidString(v) {
		return invalid("%s is not valid UTF-8", field)
	}
	for _, r := range v {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return invalid("%s contains a space or control character", field)
		}
	}
	return nil
}

func checkOptionalID(field, v string) error {
	if v == "" {
		return nil
	}
	return checkID(field, v)
}

// Times are carried as Unix nanoseconds; this window keeps them far from
// the int64 limits and from 0 (the encoding of the zero time), and catches
// kiosks with a broken clock.
var (
	minTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

func checkTime(field string, t time.Time) error {
	if t.IsZero() {
		return invalid("%s is zero", field)
	}
	if t.Before(minTime) || !t.Before(maxTime) {
		return invalid("%s %s outside [%d, %d)", field, t.UTC().Format(time.RFC3339), minTime.Year(), maxTime.Year())
	}
	return nil
}

// checkCardToken rejects empty or oversized tokens and anything that looks
// like a primary account number: 12..19 digits (spaces and dashes
// ignored) passing the Luhn check.
func checkCardToken(tok string) error {
	if tok == "" {
		return invalid("card token is empty")
	}
	if len(tok) > maxTokenLen {
		return invalid("card token longer than %d bytes", maxTokenLen)
	}
	if !utf8.ValidString(tok) {
		return invalid("card token is not valid UTF-8")
	}
	if looksLikePAN(tok) {
		return invalid("card token looks like a card number (PAN); send a payment token instead")
	}
	return nil
}

func looksLikePAN(s string) bool {
	digits := make([]byte, 0, 19)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, c-'0')
		case c == ' ' || c == '-':
		default:
			return false
		}
		if len(digits) > 19 {
			return false
		}
	}
	return len(digits) >= 12 && luhn(digits)
}

func luhn(d []byte) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i])
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

// Validate checks c as EncodeCharge does, without encoding it: the proposing kiosk calls it
// before it asks the customer for a palm. Errors wrap ErrInvalid.
func (c Charge) Validate() error { return c.validate() }

func (c Charge) validate() error {
	if err := checkID("charge id", c.ChargeID); err != nil {
		return err
	}
	if err := checkID("customer id", c.CustomerID); err != nil {
		return err
	}
	if c.AmountMinor <= 0 {
		return invalid("amount %d is not positive", c.AmountMinor)
	}
	if c.AmountMinor > maxAmountMinor {
		return invalid("amount %d above the per-charge limit %d", c.AmountMinor, int64(maxAmountMinor))
	}
	if !KnownCurrency(c.Currency) {
		return invalid("unknown currency %q (want an ISO 4217 code such as EUR)", c.Currency)
	}
	if err := checkID("kiosk", c.Kiosk); err != nil {
		return err
	}
	if err := checkTime("charge time", c.At); err != nil {
		return err
	}
	return checkID("idempotency key", c.IdempotencyKey)
}

func (d DeleteCustomer) validate() error {
	if err := checkID("customer id", d.CustomerID); err != nil {
		return err
	}
	if err := checkTime("delete time", d.At); err != nil {
		return err
	}
	return checkOptionalID("idempotency key", d.IdempotencyKey)
}

func (m MarkUploaded) validate() error {
	if m.UpToSeq == 0 {
		return invalid("upload mark sequence is zero")
	}
	if err := checkID("batch id", m.BatchID); err != nil {
		return err
	}
	return checkTime("upload time", m.At)
}

// ValidateFields checks every field of e except the templates, as EncodeEnrol does: the
// enrolling kiosk calls it before it captures the palm. Errors wrap ErrInvalid.
func (e Enrol) ValidateFields() error {
	if err := checkID("customer id", e.CustomerID); err != nil {
		return err
	}
	if err := checkCardToken(e.CardToken); err != nil {
		return err
	}
	if err := checkID("kiosk", e.Kiosk); err != nil {
		return err
	}
	if err := checkTime("enrol time", e.At); err != nil {
		return err
	}
	return checkID("idempotency key", e.IdempotencyKey)
}

// validateCommon checks an enrolment's fields and the count and presence of its templates.
func (e Enrol) validateCommon() error {
	if err := e.ValidateFields(); err != nil {
		return err
	}
	if len(e.Templates) == 0 {
		return invalid("no templates")
	}
	if len(e.Templates) > maxTemplates {
		return invalid("%d templates, at most %d", len(e.Templates), maxTemplates)
	}
	for i, t := range e.Templates {
		if len(t) == 0 {
			return invalid("template %d is empty", i)
		}
	}
	return nil
}
