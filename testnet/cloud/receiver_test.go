package cloud

import (
	"context"
	"errors"
	"maps"
	"sync"
	"testing"
	"time"
)

func TestUploadDedupAndTotals(t *testing.T) {
	r := openReceiver(t, testConfig(t))
	_, c := serve(t, r)
	ctx := context.Background()

	b1 := mkBatch("s1", "b1", 0, 10)
	b2 := mkBatch("s1", "b2", 5, 10) // overlaps b1 on seqs 6..10
	b2.BatchID = "b2"

	steps := []struct {
		name           string
		batch          Batch
		accepted, dups int
		upTo           uint64
		charges        int64
		batches        int64
		dupTotal       int64
	}{
		{"first upload", b1, 10, 0, 10, 10, 1, 0},
		{"retry same batch", b1, 0, 10, 10, 10, 1, 10},
		{"overlapping batch after leader change", b2, 5, 5, 15, 15, 2, 15},
		{"retry overlapping batch", b2, 0, 10, 15, 15, 2, 25},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			ack, err := c.Upload(ctx, s.batch)
			if err != nil {
				t.Fatalf("Upload: %v", err)
			}
			want := Ack{BatchID: s.batch.BatchID, Accepted: s.accepted, Duplicates: s.dups, UpToSeq: s.upTo}
			if ack != want {
				t.Fatalf("ack = %+v, want %+v", ack, want)
			}
			tot, err := c.Totals(ctx, "s1")
			if err != nil {
				t.Fatalf("Totals: %v", err)
			}
			if tot.Charges != s.charges || tot.Batches != s.batches || tot.Duplicates != s.dupTotal {
				t.Fatalf("totals = %+v, want charges=%d batches=%d dups=%d", tot, s.charges, s.batches, s.dupTotal)
			}
		})
	}

	all := mkBatch("s1", "x", 0, 15).Charges
	tot, err := r.Totals("s1")
	if err != nil {
		t.Fatal(err)
	}
	if want := sumByCurrency(all); !maps.Equal(tot.TotalMinor, want) {
		t.Fatalf("TotalMinor = %v, want %v", tot.TotalMinor, want)
	}
	var cents int64
	for _, v := range tot.TotalMinor {
		cents += v
	}
	if tot.TotalCents != cents || tot.StoreID != "s1" {
		t.Fatalf("totals = %+v", tot)
	}

	got, err := c.Charges(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(all) {
		t.Fatalf("got %d charges, want %d", len(got), len(all))
	}
	for i := range all {
		if !chargeEqual(got[i], all[i]) {
			t.Fatalf("charge %d = %+v, want %+v", i, got[i], all[i])
		}
	}

	other, err := c.Totals(ctx, "unknown-store")
	if err != nil {
		t.Fatal(err)
	}
	if other.Charges != 0 || other.TotalMinor == nil || len(other.TotalMinor) != 0 || other.StoreID != "unknown-store" {
		t.Fatalf("unknown store totals = %+v", other)
	}
}

func chargeEqual(a, b Charge) bool {
	at := a.At.Equal(b.At)
	a.At, b.At = time.Time{}, time.Time{}
	return at && a == b
}

func TestConflictWritesNothing(t *testing.T) {
	r := openReceiver(t, testConfig(t))
	_, c := serve(t, r)
	ctx := context.Background()
	if _, err := c.Upload(ctx, mkBatch("s1", "b1", 0, 3)); err != nil {
		t.Fatal(err)
	}
	before, _ := r.Totals("s1")

	cases := []struct {
		name   string
		mutate func(*Charge)
		store  string
	}{
		{"amount", func(c *Charge) { c.AmountMinor++ }, "s1"},
		{"customer", func(c *Charge) { c.CustomerID = "someone-else" }, "s1"},
		{"currency", func(c *Charge) { c.Currency = "GBP" }, "s1"},
		{"other store reuses id", func(c *Charge) {}, "s2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// A new charge first, then the conflicting one: the new one must not be written either.
			b := mkBatch(tc.store, "bad-"+tc.name, 100, 1)
			dup := mkBatch("s1", "", 0, 3).Charges[1]
			tc.mutate(&dup)
			b.Charges = append(b.Charges, dup)
			_, err := c.Upload(ctx, b)
			if !errors.Is(err, ErrConflict) || !errors.Is(err, ErrRejected) {
				t.Fatalf("err = %v, want ErrConflict and ErrRejected", err)
			}
			t.Logf("conflict: %v", err)
			for _, store := range []string{"s1", "s2"} {
				after, _ := r.Totals(store)
				want := before
				if store != "s1" {
					want = Totals{StoreID: store, TotalMinor: map[string]int64{}}
				}
				if !totalsEqual(after, want) {
					t.Fatalf("%s totals changed: %+v -> %+v", store, want, after)
				}
			}
		})
	}
}

func totalsEqual(a, b Totals) bool {
	return a.StoreID == b.StoreID && a.Charges == b.Charges && a.TotalCents == b.TotalCents &&
		a.Batches == b.Batches && a.Duplicates == b.Duplicates && maps.Equal(a.TotalMinor, b.TotalMinor)
}

func TestDurableAcrossReopen(t *testing.T) {
	cfg := testConfig(t)
	r, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var journal string
	var sync int
	if err := r.db.QueryRow("PRAGMA journal_mode").Scan(&journal); err != nil || journal != "wal" {
		t.Fatalf("journal_mode = %q, %v", journal, err)
	}
	if err := r.db.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil || sync != 2 {
		t.Fatalf("synchronous = %d (want 2 = FULL), %v", sync, err)
	}
	srv, c := serve(t, r)
	if _, err := c.Upload(context.Background(), mkBatch("s1", "b1", 0, 20)); err != nil {
		t.Fatal(err)
	}
	want, err := r.Totals("s1")
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Totals("s1"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Totals after Close: %v, want ErrClosed", err)
	}

	r2 := openReceiver(t, cfg)
	got, err := r2.Totals("s1")
	if err != nil {
		t.Fatal(err)
	}
	if !totalsEqual(got, want) {
		t.Fatalf("after reopen %+v, want %+v", got, want)
	}
	// A retry that reaches the reopened receiver is still deduplicated.
	_, c2 := serve(t, r2)
	ack, err := c2.Upload(context.Background(), mkBatch("s1", "b1", 0, 20))
	if err != nil || ack.Accepted != 0 || ack.Duplicates != 20 {
		t.Fatalf("retry after reopen: %+v, %v", ack, err)
	}
}

func TestConcurrentRetriesNeverDouble(t *testing.T) {
	r := openReceiver(t, testConfig(t))
	_, c := serve(t, r)
	b := mkBatch("s1", "b1", 0, 50)
	const workers = 8
	var wg sync.WaitGroup
	acks := make([]Ack, workers)
	errs := make([]error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acks[i], errs[i] = c.Upload(context.Background(), b)
		}()
	}
	wg.Wait()
	accepted := 0
	for i := range workers {
		if errs[i] != nil {
			t.Fatalf("worker %d: %v", i, errs[i])
		}
		accepted += acks[i].Accepted
	}
	tot, _ := r.Totals("s1")
	if accepted != 50 || tot.Charges != 50 || tot.Duplicates != 50*(workers-1) {
		t.Fatalf("accepted=%d totals=%+v", accepted, tot)
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"default needs path", DefaultConfig(), false},
		{"ok", Config{DBPath: "x.db"}, true},
		{"negative batch", Config{DBPath: "x.db", MaxBatch: -1}, false},
		{"negative body", Config{DBPath: "x.db", MaxBodyBytes: -1}, false},
		{"negative fail", Config{DBPath: "x.db", FailEvery: -1}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
