package testnet

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palmtill/palmtill/node"
)

// TestKillMidTrafficLosesNothing runs three real kiosk processes, drives checkouts at all of
// them, SIGKILLs one mid-traffic (the leader: the harder case), restarts it on its data, and
// checks that every acknowledged charge is in every kiosk's ledger exactly once.
func TestKillMidTrafficLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs real processes; skipped with -short")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bins, err := Build(ctx, filepath.Join(dir, "bin"), false)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewStore(filepath.Join(dir, "store"), "kill-test", bins)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		if t.Failed() {
			for _, k := range s.Kiosks {
				t.Logf("--- %s log tail:\n%s", k.Name, k.LogTail(3000))
			}
		}
	})
	for i := 0; i < 3; i++ {
		if _, err := s.AddKiosk(3, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range s.Kiosks {
		k.Args = append(k.Args, "--join", strings.Join(s.GossipAddrs(), ","))
		if err := k.Start(); err != nil {
			t.Fatal(err)
		}
	}
	leader, err := s.WaitLeader(60 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	shop := NewShoppers(7)
	for i := uint64(0); i < 5; i++ {
		id := 100 + i
		resp, err := leader.Client.Enrol(ctx, node.EnrolRequest{CardToken: fmt.Sprintf("tok_%d", i), IdempotencyKey: fmt.Sprintf("e%d", i), SimIdentity: &id})
		if err != nil {
			t.Fatal(err)
		}
		shop.Enrolled(id, resp.CustomerID)
	}

	stop, stopTraffic := context.WithCancel(ctx)
	errs := make(chan error, 3)
	done := make(chan struct{}, 3)
	for _, k := range s.Kiosks {
		go func(k *Kiosk) { shop.Loop(stop, k, errs); done <- struct{}{} }(k)
	}
	// Kill once traffic has produced some charges, restart once the survivors have moved on.
	if err := WaitFor(60*time.Second, "traffic before the kill", func() (bool, string) {
		return len(shop.Acked()) >= 20, fmt.Sprint(len(shop.Acked()))
	}); err != nil {
		t.Fatal(err)
	}
	leader.Kill()
	before := len(shop.Acked())
	if err := WaitFor(60*time.Second, "traffic after the kill", func() (bool, string) {
		return len(shop.Acked()) >= before+20, fmt.Sprint(len(shop.Acked()))
	}); err != nil {
		t.Fatal(err)
	}
	if err := leader.Start(); err != nil {
		t.Fatal(err)
	}
	if err := WaitFor(60*time.Second, "traffic after the restart", func() (bool, string) {
		return len(shop.Acked()) >= before+40, fmt.Sprint(len(shop.Acked()))
	}); err != nil {
		t.Fatal(err)
	}
	stopTraffic()
	for range s.Kiosks {
		<-done
	}
	select {
	case err := <-errs:
		t.Fatalf("traffic: %v", err)
	default:
	}

	nl, err := s.WaitLeader(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	st, err := nl.Client.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WaitCaughtUp(60*time.Second, st.Raft.CommitIndex, s.Kiosks...); err != nil {
		t.Fatal(err)
	}
	acked := shop.Acked()
	for _, k := range s.Kiosks {
		ledger, err := k.Client.Ledger(ctx)
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, c := range ledger {
			count[c.ChargeID]++
		}
		for id := range acked {
			if count[id] != 1 {
				t.Errorf("%s: acknowledged charge %s appears %d times", k.Name, id, count[id])
			}
		}
		if len(ledger) != len(acked) {
			t.Errorf("%s: ledger holds %d charges, %d acknowledged", k.Name, len(ledger), len(acked))
		}
	}
	if shop.WrongPerson != 0 || shop.WalkinsPaid != 0 || shop.Duplicates != 0 {
		t.Errorf("wrong person %d, walk-ins charged %d, duplicates %d", shop.WrongPerson, shop.WalkinsPaid, shop.Duplicates)
	}
	t.Logf("%d charges acknowledged, %d retried attempts; kill lost nothing", len(acked), shop.Attempts)
}
