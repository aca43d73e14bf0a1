package replication

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestEncodeValidation(t *testing.T) {
	f := newFSM(t)
	okCharge := Charge{ChargeID: "ch1", CustomerID: "c1", AmountMinor: 100, Currency: "EUR", Kiosk: "k1", At: t0, IdempotencyKey: "key1"}
	okEnrol := Enrol{CustomerID: "c1", CardToken: "tok_abc", Templates: [][]byte{[]byte("t")}, Kiosk: "k1", At: t0, IdempotencyKey: "e1"}
	tests := []struct {
		name string
		enc  func() ([]byte, error)
		want string // substring of the error, "" for success
	}{
		{"charge ok", func() ([]byte, error) { return EncodeCharge(okCharge) }, ""},
		{"charge zero amount", func() ([]byte, error) { c := okCharge; c.AmountMinor = 0; return EncodeCharge(c) }, "not positive"},
		{"charge negative amount", func() ([]byte, error) { c := okCharge; c.AmountMinor = -5; return EncodeCharge(c) }, "not positive"},
		{"charge huge amount", func() ([]byte, error) { c := okCharge; c.AmountMinor = 1 << 62; return EncodeCharge(c) }, "limit"},
		{"charge unknown currency", func() ([]byte, error) { c := okCharge; c.Currency = "XYZ"; return EncodeCharge(c) }, "unknown currency"},
		{"charge lowercase currency", func() ([]byte, error) { c := okCharge; c.Currency = "eur"; return EncodeCharge(c) }, "unknown currency"},
		{"charge empty charge id", func() ([]byte, error) { c := okCharge; c.ChargeID = ""; return EncodeCharge(c) }, "charge id is empty"},
		{"charge empty customer", func() ([]byte, error) { c := okCharge; c.CustomerID = ""; return EncodeCharge(c) }, "customer id is empty"},
		{"charge empty kiosk", func() ([]byte, error) { c := okCharge; c.Kiosk = ""; return EncodeCharge(c) }, "kiosk is empty"},
		{"charge empty key", func() ([]byte, error) { c := okCharge; c.IdempotencyKey = ""; return EncodeCharge(c) }, "idempotency key is empty"},
		{"charge zero time", func() ([]byte, error) { c := okCharge; c.At = time.Time{}; return EncodeCharge(c) }, "time is zero"},
		{"charge time 1970", func() ([]byte, error) { c := okCharge; c.At = time.Unix(0, 0); return EncodeCharge(c) }, "outside"},
		{"charge time far future", func() ([]byte, error) {
			c := okCharge
			c.At = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
			return EncodeCharge(c)
		}, "outside"},
		{"charge id with space", func() ([]byte, error) { c := okCharge; c.ChargeID = "a b"; return EncodeCharge(c) }, "space"},
		{"charge id too long", func() ([]byte, error) { c := okCharge; c.ChargeID = strings.Repeat("x", 129); return EncodeCharge(c) }, "longer"},
		{"enrol ok", func() ([]byte, error) { return f.EncodeEnrol(okEnrol) }, ""},
		{"enrol PAN as token", func() ([]byte, error) { e := okEnrol; e.CardToken = "4111111111111111"; return f.EncodeEnrol(e) }, "PAN"},
		{"enrol spaced PAN", func() ([]byte, error) { e := okEnrol; e.CardToken = "4111 1111 1111 1111"; return f.EncodeEnrol(e) }, "PAN"},
		{"enrol empty token", func() ([]byte, error) { e := okEnrol; e.CardToken = ""; return f.EncodeEnrol(e) }, "card token is empty"},
		{"enrol no templates", func() ([]byte, error) { e := okEnrol; e.Templates = nil; return f.EncodeEnrol(e) }, "no templates"},
		{"enrol empty template", func() ([]byte, error) { e := okEnrol; e.Templates = [][]byte{{}}; return f.EncodeEnrol(e) }, "template 0 is empty"},
		{"enrol too many templates", func() ([]byte, error) {
			e := okEnrol
			e.Templates = make([][]byte, 17)
			return f.EncodeEnrol(e)
		}, "17 templates"},
		{"enrol template too big", func() ([]byte, error) {
			e := okEnrol
			e.Templates = [][]byte{make([]byte, 64<<10+1)}
			return f.EncodeEnrol(e)
		}, "at most"},
		{"enrol empty key", func() ([]byte, error) { e := okEnrol; e.IdempotencyKey = ""; return f.EncodeEnrol(e) }, "idempotency key is empty"},
		{"enrol empty customer", func() ([]byte, error) { e := okEnrol; e.CustomerID = ""; return f.EncodeEnrol(e) }, "customer id is empty"},
		{"delete ok without key", func() ([]byte, error) { return EncodeDeleteCustomer(DeleteCustomer{CustomerID: "c1", At: t0}) }, ""},
		{"delete empty customer", func() ([]byte, error) { return EncodeDeleteCustomer(DeleteCustomer{At: t0}) }, "customer id is empty"},
		{"delete zero time", func() ([]byte, error) { return EncodeDeleteCustomer(DeleteCustomer{CustomerID: "c1"}) }, "time is zero"},
		{"mark ok", func() ([]byte, error) { return EncodeMarkUploaded(MarkUploaded{UpToSeq: 3, BatchID: "b", At: t0}) }, ""},
		{"mark zero seq", func() ([]byte, error) { return EncodeMarkUploaded(MarkUploaded{BatchID: "b", At: t0}) }, "zero"},
		{"mark empty batch", func() ([]byte, error) { return EncodeMarkUploaded(MarkUploaded{UpToSeq: 1, At: t0}) }, "batch id is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.enc()
			if tc.want == "" {
				if err != nil || len(b) == 0 {
					t.Fatalf("got %v, want success", err)
				}
				if _, err := decodeCommand(b); err != nil {
					t.Fatalf("decode of a valid command: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrInvalid containing %q", err, tc.want)
			}
		})
	}
}

func TestLooksLikePAN(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"4111111111111111", true},      // Visa test number
		{"5500-0000-0000-0004", true},   // dashes
		{"378282246310005", true},       // Amex, 15 digits
		{"4111111111111112", false},     // Luhn fails
		{"411111111111", false},         // 12 digits, Luhn fails
		{"12345678903", false},          // 11 digits
		{"tok_4111111111111111", false}, // a token containing digits
		{"41111111111111111111111", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := looksLikePAN(tc.in); got != tc.want {
				t.Fatalf("looksLikePAN(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	base := testConfig(t, t.TempDir())
	tests := []struct {
		name string
		mod  func(*Config)
		ok   bool
	}{
		{"default filled", func(*Config) {}, true},
		{"no dir", func(c *Config) { c.Dir = "" }, false},
		{"short secret", func(c *Config) { c.Secret = []byte("short") }, false},
		{"no store", func(c *Config) { c.StoreID = "" }, false},
		{"no cache with encryption", func(c *Config) { c.CacheBytes = 0 }, false},
		{"tiny memtable", func(c *Config) { c.MemTableBytes = 10 }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.mod(&c)
			err := c.Validate()
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestResultRoundTripAndErr(t *testing.T) {
	rec := &ChargeRecord{Seq: 7, ChargeID: "ch", CustomerID: "c", AmountMinor: 5, Currency: "EUR", Kiosk: "k", At: t0, IdempotencyKey: "i"}
	cust := &CustomerInfo{CustomerID: "c", CardToken: "tok", Templates: 2, EnrolledAt: t0, Kiosk: "k"}
	tests := []struct {
		r    Result
		want error
	}{
		{Result{Code: CodeOK, Charge: rec, Duplicate: true}, nil},
		{Result{Code: CodeOK, Customer: cust}, nil},
		{Result{Code: CodeInvalid, Message: "bad"}, ErrInvalid},
		{Result{Code: CodeConflict, Charge: rec}, ErrConflict},
		{Result{Code: CodeNotFound}, ErrNotFound},
		{Result{Code: CodeUnknownCommand, Message: "v9"}, ErrUnknownCommand},
		{Result{Code: CodeAlreadyExists, Customer: cust}, ErrExists},
		{Result{Code: CodeInternal}, ErrInternal},
	}
	for _, tc := range tests {
		t.Run(tc.r.Code.String(), func(t *testing.T) {
			got, err := DecodeResult(encodeResult(tc.r))
			if err != nil {
				t.Fatal(err)
			}
			if got.Code != tc.r.Code || got.Message != tc.r.Message || got.Duplicate != tc.r.Duplicate ||
				(got.Charge == nil) != (tc.r.Charge == nil) || (got.Customer == nil) != (tc.r.Customer == nil) {
				t.Fatalf("round trip: got %+v, want %+v", got, tc.r)
			}
			if got.Charge != nil && *got.Charge != *tc.r.Charge {
				t.Fatalf("charge: got %+v, want %+v", *got.Charge, *tc.r.Charge)
			}
			if got.Customer != nil && *got.Customer != *tc.r.Customer {
				t.Fatalf("customer: got %+v, want %+v", *got.Customer, *tc.r.Customer)
			}
			if err := got.Err(); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Err() = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := DecodeResult([]byte("garbage")); !errors.Is(err, ErrMalformed) {
		t.Fatalf("garbage: %v", err)
	}
}
