package testnet

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/palmtill/palmtill/node"
)

// maxRescans is how many times an enrolled customer who was not recognised presents the palm
// again before paying by card, as a kiosk's screen would ask.
const maxRescans = 2

// Shoppers drives checkouts against kiosks and keeps the books the demo verifies against: every
// acknowledged charge, who it was meant for, and every walk-in.
type Shoppers struct {
	Currency string

	mu            sync.Mutex
	rng           *rand.Rand
	customers     map[uint64]string // sim identity -> customer id
	identities    []uint64
	acked         map[string]node.Receipt // charge id -> receipt
	byKey         map[string]string       // idempotency key -> charge id
	successes     []time.Time
	latencies     []time.Duration
	Attempts      int // checkout HTTP calls that failed and were retried
	Failed        int // checkouts given up on (never acknowledged)
	WalkinsOK     int // walk-ins refused as unrecognised
	WalkinsPaid   int // walk-ins charged: must stay 0
	WrongPerson   int // charges to another customer than the palm's owner: must stay 0
	NotRecognised int // enrolled customers still not recognised after the rescans: paid by card
	Rescans       int // enrolled customers not recognised at first and asked to present again
	Duplicates    int // one idempotency key answered with two charge ids: must stay 0
	keySeq        int
}

// NewShoppers starts empty books with a seeded random source.
func NewShoppers(seed uint64) *Shoppers {
	return &Shoppers{
		Currency: "EUR", rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		customers: map[uint64]string{}, acked: map[string]node.Receipt{}, byKey: map[string]string{},
	}
}

// Enrolled records that identity enrolled as customer id.
func (s *Shoppers) Enrolled(identity uint64, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.customers[identity] = id
	s.identities = append(s.identities, identity)
}

// Enrolments is how many customers enrolled.
func (s *Shoppers) Enrolments() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.customers)
}

func (s *Shoppers) next(walkin bool) (identity uint64, amount int64, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keySeq++
	key = fmt.Sprintf("demo-%d-%d", s.keySeq, s.rng.Uint64())
	amount = 50 + s.rng.Int64N(9950)
	if walkin || len(s.identities) == 0 {
		return 5_000_000 + s.rng.Uint64N(1_000_000), amount, key
	}
	return s.identities[s.rng.IntN(len(s.identities))], amount, key
}

// Checkout runs one checkout at k for a random enrolled customer (or a walk-in), retrying the
// same idempotency key until acknowledged or until retryFor has passed.
func (s *Shoppers) Checkout(ctx context.Context, k *Kiosk, walkin bool, retryFor time.Duration) error {
	identity, amount, key := s.next(walkin)
	deadline := time.Now().Add(retryFor)
	start := time.Now()
	rescans := 0
	for {
		id := identity
		rc, err := k.Client.Checkout(ctx, node.CheckoutRequest{AmountMinor: amount, Currency: s.Currency, IdempotencyKey: key, SimIdentity: &id})
		var ae *node.APIError
		switch {
		case err == nil:
			s.record(identity, walkin, key, rc, time.Since(start))
			return nil
		case errors.As(err, &ae) && ae.Code == "not_recognised" && !walkin && rescans < maxRescans:
			// The kiosk asks the customer to hold the palm again: a new capture.
			rescans++
			s.mu.Lock()
			s.Rescans++
			s.mu.Unlock()
			continue
		case errors.As(err, &ae) && ae.Code == "not_recognised":
			s.mu.Lock()
			if walkin {
				s.WalkinsOK++
			} else {
				s.NotRecognised++ // an enrolled customer sent to the card reader
			}
			s.mu.Unlock()
			return nil
		case errors.As(err, &ae) && ae.Status < 500 && ae.Status != 408:
			s.mu.Lock()
			s.Failed++
			s.mu.Unlock()
			return fmt.Errorf("checkout at %s refused: %w", k.Name, err)
		}
		s.mu.Lock()
		s.Attempts++
		s.mu.Unlock()
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.mu.Lock()
			s.Failed++
			s.mu.Unlock()
			return fmt.Errorf("checkout at %s never acknowledged: %w", k.Name, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *Shoppers) record(identity uint64, walkin bool, key string, rc node.Receipt, took time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if walkin {
		s.WalkinsPaid++
	} else if s.customers[identity] != rc.CustomerID {
		s.WrongPerson++
	}
	if prev, ok := s.byKey[key]; ok && prev != rc.ChargeID {
		s.Duplicates++
	}
	s.byKey[key] = rc.ChargeID
	s.acked[rc.ChargeID] = rc
	s.successes = append(s.successes, time.Now())
	s.latencies = append(s.latencies, took)
}

// Acked returns a copy of the acknowledged charges by charge id.
func (s *Shoppers) Acked() map[string]node.Receipt {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]node.Receipt, len(s.acked))
	for k, v := range s.acked {
		out[k] = v
	}
	return out
}

// LongestGap is the longest time after since without an acknowledged checkout, up to until.
func (s *Shoppers) LongestGap(since, until time.Time) time.Duration {
	s.mu.Lock()
	ts := append([]time.Time(nil), s.successes...)
	s.mu.Unlock()
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	prev, gap := since, time.Duration(0)
	for _, t := range ts {
		if t.Before(since) {
			continue
		}
		if t.After(until) {
			break
		}
		gap = max(gap, t.Sub(prev))
		prev = t
	}
	return max(gap, until.Sub(prev))
}

// Latency returns the p50 and p99 of acknowledged checkouts' client-side time.
func (s *Shoppers) Latency() (p50, p99 time.Duration) {
	s.mu.Lock()
	l := append([]time.Duration(nil), s.latencies...)
	s.mu.Unlock()
	if len(l) == 0 {
		return 0, 0
	}
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	return l[len(l)/2], l[min(len(l)-1, len(l)*99/100)]
}

// Loop runs checkouts at k back to back (one walk-in in ten) until stop ends. A checkout under
// way when stop ends is finished (retried until acknowledged), so that every charge the store
// commits is one the books know of.
func (s *Shoppers) Loop(stop context.Context, k *Kiosk, errs chan<- error) {
	for i := 0; stop.Err() == nil; i++ {
		if err := s.Checkout(context.Background(), k, i%10 == 9, 20*time.Second); err != nil {
			select {
			case errs <- err:
			default:
			}
		}
	}
}
