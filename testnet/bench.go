package testnet

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/palmtill/palmtill/node"
)

// BenchConfig sizes a checkout latency run.
type BenchConfig struct {
	Kiosks, Customers, Checkouts int
	// Sequential runs one checkout at a time, rotating over the kiosks: each checkout then has
	// the machine's cores to itself, as a real kiosk has its own CPU. Otherwise every kiosk
	// checks out back to back at once, and the kiosks share this machine's cores.
	Sequential bool
	Out        io.Writer
}

// BenchResult holds latency percentiles in milliseconds, measured by the kiosks (receipt
// timings) and by the client.
type BenchResult struct {
	Checkouts int `json:"checkouts"`
	// NotRecognised counts checkouts refused as not_recognised (the
	// customer would present the palm again); they are not timed.
	NotRecognised int                   `json:"not_recognised"`
	Seconds       float64               `json:"seconds"`
	PerSecond     float64               `json:"checkouts_per_s"`
	Phases        map[string][2]float64 `json:"phases_ms_p50_p99"`
}

// RunCheckoutBench starts a store of real kiosk processes, enrols customers, then runs
// cfg.Checkouts checkouts spread over the kiosks (one scanner per kiosk, so one at a time at
// each) and reports the latency of each phase.
func RunCheckoutBench(ctx context.Context, cfg BenchConfig) (BenchResult, error) {
	var res BenchResult
	dir, err := os.MkdirTemp("", "palmtill-bench-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	bins, err := Build(ctx, filepath.Join(dir, "bin"), false)
	if err != nil {
		return res, err
	}
	s, err := NewStore(filepath.Join(dir, "store"), "bench-store", bins)
	if err != nil {
		return res, err
	}
	defer s.Close()
	for i := 0; i < cfg.Kiosks; i++ {
		if _, err := s.AddKiosk(cfg.Kiosks, nil); err != nil {
			return res, err
		}
	}
	for _, k := range s.Kiosks {
		k.Args = append(k.Args, "--join", strings.Join(s.GossipAddrs(), ","), "--log-level", "warn")
		if err := k.Start(); err != nil {
			return res, err
		}
	}
	leader, err := s.WaitLeader(60 * time.Second)
	if err != nil {
		return res, err
	}
	fmt.Fprintf(cfg.Out, "store of %d kiosks formed; enrolling %d customers\n", cfg.Kiosks, cfg.Customers)
	ids := make([]uint64, 0, cfg.Customers)
	for i := 0; i < cfg.Customers; i++ {
		id := uint64(10_000 + i)
		if _, err := leader.Client.Enrol(ctx, node.EnrolRequest{CardToken: fmt.Sprintf("tok_b%d", i), IdempotencyKey: fmt.Sprintf("be%d", i), SimIdentity: &id}); err != nil {
			return res, fmt.Errorf("enrol: %w", err)
		}
		ids = append(ids, id)
	}
	fmt.Fprintf(cfg.Out, "running %d checkouts\n", cfg.Checkouts)
	var mu sync.Mutex
	phases := map[string][]float64{}
	var wg sync.WaitGroup
	start := time.Now()
	errc := make(chan error, len(s.Kiosks))
	workers, step := len(s.Kiosks), len(s.Kiosks)
	if cfg.Sequential {
		workers, step = 1, 1
	}
	for ki := 0; ki < workers; ki++ {
		wg.Add(1)
		go func(ki int) {
			defer wg.Done()
			for i := ki; i < cfg.Checkouts; i += step {
				k := s.Kiosks[i%len(s.Kiosks)]
				id := ids[i%len(ids)]
				t0 := time.Now()
				rc, err := k.Client.Checkout(ctx, node.CheckoutRequest{AmountMinor: 100 + int64(i), Currency: "EUR", IdempotencyKey: fmt.Sprintf("bc%d", i), SimIdentity: &id})
				if err != nil {
					if ae, ok := err.(*node.APIError); ok && ae.Code == "not_recognised" {
						mu.Lock()
						res.NotRecognised++
						mu.Unlock()
						continue
					}
					errc <- err
					return
				}
				client := float64(time.Since(t0).Microseconds()) / 1000
				mu.Lock()
				phases["capture"] = append(phases["capture"], rc.CaptureMs)
				phases["extract+identify"] = append(phases["extract+identify"], rc.MatchMs)
				phases["commit"] = append(phases["commit"], rc.CommitMs)
				phases["kiosk_total"] = append(phases["kiosk_total"], rc.TotalMs)
				phases["client"] = append(phases["client"], client)
				mu.Unlock()
			}
		}(ki)
	}
	wg.Wait()
	el := time.Since(start)
	close(errc)
	for err := range errc {
		return res, err
	}
	res.Checkouts = len(phases["client"])
	res.Seconds = el.Seconds()
	res.PerSecond = float64(res.Checkouts) / el.Seconds()
	res.Phases = map[string][2]float64{}
	for name, v := range phases {
		sort.Float64s(v)
		res.Phases[name] = [2]float64{v[len(v)/2], v[min(len(v)-1, len(v)*99/100)]}
	}
	return res, nil
}
