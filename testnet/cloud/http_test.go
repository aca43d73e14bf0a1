package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawPost posts body to path and returns the status and decoded error message.
func rawPost(t *testing.T, hc *http.Client, base, path, body string) (int, string) {
	t.Helper()
	resp, err := hc.Post(base+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q", ct)
	}
	var eb errorBody
	if resp.StatusCode != http.StatusOK {
		if err := json.Unmarshal(data, &eb); err != nil || eb.Error == "" {
			t.Fatalf("error body %q is not {\"error\": ...}: %v", data, err)
		}
	}
	return resp.StatusCode, eb.Error
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestBadInputRejectedAndNothingWritten(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxBatch = 5
	cfg.MaxBodyBytes = 8 << 10
	r := openReceiver(t, cfg)
	srv, _ := serve(t, r)

	with := func(f func(*Batch)) string {
		b := mkBatch("s1", "b1", 0, 2)
		f(&b)
		return mustJSON(t, b)
	}
	charge := func(f func(*Charge)) func(*Batch) { return func(b *Batch) { f(&b.Charges[1]) } }
	const path = "/v1/stores/s1/charges"
	cases := []struct {
		name   string
		path   string
		body   string
		status int
		msg    string
	}{
		{"malformed json", path, `{"store_id": "s1", `, 400, "decode"},
		{"not an object", path, `[1,2,3]`, 400, "decode"},
		{"empty body", path, ``, 400, "decode"},
		{"unknown field", path, `{"store_id":"s1","batch_id":"b","charges":[],"extra":1}`, 400, "unknown field"},
		{"unknown charge field", path, strings.Replace(with(func(*Batch) {}), `"kiosk"`, `"kiosk_typo"`, 1), 400, "unknown field"},
		{"trailing data", path, with(func(*Batch) {}) + `{}`, 400, "trailing"},
		{"empty batch", path, with(func(b *Batch) { b.Charges = nil }), 400, "empty batch"},
		{"empty charges array", path, with(func(b *Batch) { b.Charges = []Charge{} }), 400, "empty batch"},
		{"too many charges", path, mustJSON(t, mkBatch("s1", "b1", 0, 6)), 400, "exceed"},
		{"body too large", path, mustJSON(t, Batch{StoreID: "s1", BatchID: strings.Repeat("x", 9<<10)}), 413, "too large"},
		{"store mismatch", "/v1/stores/s2/charges", with(func(*Batch) {}), 400, "does not match"},
		{"empty store id", path, with(func(b *Batch) { b.StoreID = "" }), 400, "store_id is required"},
		{"empty batch id", path, with(func(b *Batch) { b.BatchID = "" }), 400, "batch_id is required"},
		{"empty charge id", path, with(charge(func(c *Charge) { c.ChargeID = "" })), 400, "charge_id is required"},
		{"empty customer", path, with(charge(func(c *Charge) { c.CustomerID = "" })), 400, "customer_id is required"},
		{"zero amount", path, with(charge(func(c *Charge) { c.AmountMinor = 0 })), 400, "must be positive"},
		{"negative amount", path, with(charge(func(c *Charge) { c.AmountMinor = -5 })), 400, "must be positive"},
		{"huge amount", path, with(charge(func(c *Charge) { c.AmountMinor = MaxAmountMinor + 1 })), 400, "exceeds"},
		{"lower-case currency", path, with(charge(func(c *Charge) { c.Currency = "usd" })), 400, "currency"},
		{"short currency", path, with(charge(func(c *Charge) { c.Currency = "US" })), 400, "currency"},
		{"empty currency", path, with(charge(func(c *Charge) { c.Currency = "" })), 400, "currency"},
		{"digit currency", path, with(charge(func(c *Charge) { c.Currency = "U5D" })), 400, "currency"},
		{"zero time", path, with(charge(func(c *Charge) { c.At = time.Time{} })), 400, "at is required"},
		{"seq overflow", path, with(charge(func(c *Charge) { c.Seq = 1 << 63 })), 400, "seq"},
		{"negative seq", path, strings.Replace(with(func(*Batch) {}), `"seq":2`, `"seq":-2`, 1), 400, "decode"},
		{"string amount", path, strings.Replace(with(func(*Batch) {}), `"amount_minor":102`, `"amount_minor":"102"`, 1), 400, "decode"},
		{"control char in id", path, with(charge(func(c *Charge) { c.ChargeID = "a\nb" })), 400, "control"},
		{"overlong id", path, with(charge(func(c *Charge) { c.ChargeID = strings.Repeat("a", MaxIDLen+1) })), 400, "longer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, msg := rawPost(t, srv.Client(), srv.URL, tc.path, tc.body)
			if status != tc.status || !strings.Contains(msg, tc.msg) {
				t.Fatalf("got %d %q, want %d containing %q", status, msg, tc.status, tc.msg)
			}
		})
	}
	for _, store := range []string{"s1", "s2"} {
		tot, err := r.Totals(store)
		if err != nil {
			t.Fatal(err)
		}
		if tot.Charges != 0 || tot.Batches != 0 {
			t.Fatalf("bad input wrote something for %s: %+v", store, tot)
		}
	}
	// Sanity: the same endpoint does accept a good batch.
	if status, msg := rawPost(t, srv.Client(), srv.URL, path, with(func(*Batch) {})); status != 200 {
		t.Fatalf("good batch: %d %s", status, msg)
	}
}

func TestRoutes(t *testing.T) {
	r := openReceiver(t, testConfig(t))
	srv, _ := serve(t, r)
	hc := srv.Client()
	cases := []struct {
		method, path string
		status       int
	}{
		{"GET", "/healthz", 200},
		{"GET", "/v1/stores/s1/totals", 200},
		{"GET", "/v1/stores/s1/charges", 200},
		{"PUT", "/v1/stores/s1/charges", 405},
		{"DELETE", "/v1/stores/s1/totals", 405},
		{"GET", "/v1/stores//totals", 404},
		{"GET", "/nope", 404},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
	// An empty store has an empty JSON array, not null.
	resp, err := hc.Get(srv.URL + "/v1/stores/none/charges")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.TrimSpace(string(data)) != "[]" {
		t.Fatalf("empty charges = %q", data)
	}
}

func TestClientErrorClassification(t *testing.T) {
	ctx := context.Background()

	t.Run("server down", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		c := NewClient("http://"+addr, &http.Client{Timeout: 5 * time.Second})
		_, err = c.Upload(ctx, mkBatch("s1", "b1", 0, 1))
		var opErr *net.OpError
		if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrRejected) || !errors.As(err, &opErr) {
			t.Fatalf("err = %v, want ErrUnavailable wrapping *net.OpError", err)
		}
		if _, err := c.Totals(ctx, "s1"); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Totals err = %v", err)
		}
		if _, err := c.Charges(ctx, "s1"); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Charges err = %v", err)
		}
	})

	t.Run("closed receiver is 503", func(t *testing.T) {
		r, err := Open(testConfig(t))
		if err != nil {
			t.Fatal(err)
		}
		_, c := serve(t, r)
		r.Close()
		if _, err := c.Upload(ctx, mkBatch("s1", "b1", 0, 1)); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
	})

	t.Run("bad batch is rejected with server message", func(t *testing.T) {
		r := openReceiver(t, testConfig(t))
		_, c := serve(t, r)
		b := mkBatch("s1", "b1", 0, 1)
		b.Charges[0].Currency = "usd"
		_, err := c.Upload(ctx, b)
		if !errors.Is(err, ErrRejected) || errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "currency") {
			t.Fatalf("err = %v, want ErrRejected mentioning currency", err)
		}
	})

	t.Run("FailEvery gives 503 and writes nothing, retry succeeds", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.FailEvery = 2
		r := openReceiver(t, cfg)
		_, c := serve(t, r)
		if _, err := c.Upload(ctx, mkBatch("s1", "b1", 0, 3)); err != nil {
			t.Fatalf("upload 1: %v", err)
		}
		_, err := c.Upload(ctx, mkBatch("s1", "b2", 3, 3))
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("upload 2: %v, want ErrUnavailable", err)
		}
		if tot, _ := r.Totals("s1"); tot.Charges != 3 {
			t.Fatalf("failed upload wrote: %+v", tot)
		}
		ack, err := c.Upload(ctx, mkBatch("s1", "b2", 3, 3))
		if err != nil || ack.Accepted != 3 || ack.UpToSeq != 6 {
			t.Fatalf("retry: %+v %v", ack, err)
		}
	})

	t.Run("garbled 200 is unavailable", func(t *testing.T) {
		srv := newRawServer(t, 200, "not json")
		c := NewClient(srv, nil)
		if _, err := c.Upload(ctx, mkBatch("s1", "b1", 0, 1)); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("429 is unavailable", func(t *testing.T) {
		srv := newRawServer(t, 429, `{"error":"slow down"}`)
		c := NewClient(srv, nil)
		if _, err := c.Upload(ctx, mkBatch("s1", "b1", 0, 1)); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "slow down") {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("context canceled", func(t *testing.T) {
		r := openReceiver(t, testConfig(t))
		_, c := serve(t, r)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := c.Upload(cctx, mkBatch("s1", "b1", 0, 1)); !errors.Is(err, context.Canceled) || !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
	})
}
