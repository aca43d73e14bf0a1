package cloud

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testWriter sends slog output to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

// testConfig returns a Config on a fresh database in t.TempDir.
func testConfig(t testing.TB) Config {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DBPath = filepath.Join(t.TempDir(), "cloud.db")
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return cfg
}

// openReceiver opens cfg and closes it at cleanup.
func openReceiver(t testing.TB, cfg Config) *Receiver {
	t.Helper()
	r, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

// serve starts r's handler on 127.0.0.1 and returns a client for it. The
// server closes (before the receiver) at cleanup.
func serve(t testing.TB, r *Receiver) (*httptest.Server, *Client) {
	t.Helper()
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(srv.Close)
	return srv, NewClient(srv.URL, srv.Client())
}

var baseTime = time.Date(2026, 11, 25, 21, 0, 0, 123456789, time.UTC)

// mkBatch returns a valid batch of n charges with seqs from+1..from+n.
func mkBatch(store, batchID string, from, n int) Batch {
	b := Batch{StoreID: store, BatchID: batchID}
	for i := from + 1; i <= from+n; i++ {
		b.Charges = append(b.Charges, Charge{
			ChargeID:       fmt.Sprintf("%s-ch-%04d", store, i),
			Seq:            uint64(i),
			CustomerID:     fmt.Sprintf("cust-%d", i%7),
			AmountMinor:    int64(100 + i),
			Currency:       []string{"USD", "EUR"}[i%2],
			Kiosk:          fmt.Sprintf("kiosk-%d", i%3),
			At:             baseTime.Add(time.Duration(i) * time.Second),
			IdempotencyKey: fmt.Sprintf("idem-%d", i),
		})
	}
	return b
}

// sumByCurrency is the expected TotalMinor of charges.
func sumByCurrency(cs []Charge) map[string]int64 {
	m := map[string]int64{}
	for _, c := range cs {
		m[c.Currency] += c.AmountMinor
	}
	return m
}

// newRawServer serves a fixed status and body on 127.0.0.1 and returns its URL.
func newRawServer(t testing.TB, status int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(func() {
		srv.Close()
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	})
	return srv.URL
}
