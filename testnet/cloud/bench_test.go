package cloud

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
)

// BenchmarkUpload measures one durable (synchronous=FULL) batch upload over
// loopback HTTP, new charges each time.
func BenchmarkUpload(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("charges=%d", n), func(b *testing.B) {
			cfg := testConfig(b)
			cfg.Logger = slog.New(slog.DiscardHandler)
			r := openReceiver(b, cfg)
			_, c := serve(b, r)
			batches := make([]Batch, b.N)
			for i := range batches {
				batches[i] = mkBatch("s1", fmt.Sprintf("b%d", i), i*n, n)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := c.Upload(context.Background(), batches[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "charges/s")
		})
	}
}

// BenchmarkUploadDuplicate measures a retried batch whose charges are all stored.
func BenchmarkUploadDuplicate(b *testing.B) {
	cfg := testConfig(b)
	cfg.Logger = slog.New(slog.DiscardHandler)
	r := openReceiver(b, cfg)
	_, c := serve(b, r)
	batch := mkBatch("s1", "b1", 0, 100)
	if _, err := c.Upload(context.Background(), batch); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Upload(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
}
