package node

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palmtill/palmtill/replication"
)

// BenchmarkChargeCommit measures charges committed per second on a 3-kiosk store when every
// kiosk proposes concurrently (followers forward to the leader), as the checkout path does after
// identification. It reports charges/s and the per-charge commit latency p50/p99.
func BenchmarkChargeCommit(b *testing.B) {
	for _, perKiosk := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("clients=%dx3", perKiosk), func(b *testing.B) {
			benchCommit(b, perKiosk)
		})
	}
}

func benchCommit(b *testing.B, perKiosk int) {
	s := startStore(b, 3, "", func(c *Config) { c.Logger = discardLogger() })
	l := s.leader()
	data, err := s.nodes[l].fsm.EncodeEnrol(replication.Enrol{CustomerID: "cus_bench", CardToken: "tok_bench",
		Templates: [][]byte{{1, 2, 3}}, Kiosk: "bench", At: time.Now().UTC(), IdempotencyKey: "bench-enrol"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.nodes[l].apply(context.Background(), data); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	lat := make([][]time.Duration, 3*perKiosk)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for k := 0; k < 3; k++ {
		for c := 0; c < perKiosk; c++ {
			wg.Add(1)
			go func(k, slot int) {
				defer wg.Done()
				n := s.nodes[k]
				for {
					i := next.Add(1)
					if i > int64(b.N) {
						return
					}
					cmd, err := replication.EncodeCharge(replication.Charge{ChargeID: fmt.Sprintf("ch_%d", i), CustomerID: "cus_bench",
						AmountMinor: 100, Currency: "EUR", Kiosk: n.ID(), At: time.Now().UTC(), IdempotencyKey: fmt.Sprintf("b-%d", i)})
					if err != nil {
						b.Error(err)
						return
					}
					t0 := time.Now()
					if _, err := n.apply(context.Background(), cmd); err != nil {
						b.Error(err)
						return
					}
					lat[slot] = append(lat[slot], time.Since(t0))
				}
			}(k, k*perKiosk+c)
		}
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	if len(all) > 0 {
		b.ReportMetric(float64(len(all))/el.Seconds(), "charges/s")
		b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
