package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/palmtill/palmtill/testnet/cloud"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuf is a goroutine-safe log sink.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunServesAndShutsDownOnSIGTERM(t *testing.T) {
	var logs syncBuf
	log := slog.New(slog.NewTextHandler(&logs, nil))
	db := filepath.Join(t.TempDir(), "c.db")
	done := make(chan error, 1)
	go func() { done <- run([]string{"--listen", "127.0.0.1:0", "--db", db}, log) }()

	re := regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == ""; {
		if m := re.FindStringSubmatch(logs.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("run exited early: %v\n%s", err, logs.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no listening line:\n%s", logs.String())
		}
	}

	hc := &http.Client{Timeout: 5 * time.Second}
	c := cloud.NewClient("http://"+addr, hc)
	b := cloud.Batch{StoreID: "s1", BatchID: "b1", Charges: []cloud.Charge{{
		ChargeID: "c1", Seq: 1, CustomerID: "u1", AmountMinor: 250, Currency: "USD", At: time.Now(),
	}}}
	if ack, err := c.Upload(context.Background(), b); err != nil || ack.Accepted != 1 {
		t.Fatalf("upload: %+v %v", ack, err)
	}
	hc.CloseIdleConnections()

	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not stop after SIGTERM")
	}

	// The charge is durable: reopen the database directly.
	r, err := cloud.Open(cloud.Config{DBPath: db})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if tot, err := r.Totals("s1"); err != nil || tot.Charges != 1 || tot.TotalCents != 250 {
		t.Fatalf("totals after restart: %+v %v", tot, err)
	}
}

func TestRunBadFlags(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, args := range [][]string{
		{"--nope"},
		{"--db", ""},
		{"--max-batch", "-1", "--db", filepath.Join(t.TempDir(), "x.db")},
		{"extra-arg"},
	} {
		if err := run(args, log); err == nil {
			t.Errorf("run(%q) succeeded, want error", args)
		}
	}
}
