package testnet

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/palmtill/palmtill/node"
	"github.com/palmtill/palmtill/testnet/cloud"
)

// DemoConfig sizes the demo.
type DemoConfig struct {
	Dir       string // working directory (binaries, data, logs); empty: a temporary one, removed on success
	Kiosks    int    // kiosks that form the store (a further one is joined later)
	Customers int    // customers enrolled
	Checkouts int    // checkouts per kiosk in the steady phase
	Seed      uint64
	Out       io.Writer // narration
}

// DefaultDemoConfig is the demo the README runs.
func DefaultDemoConfig() DemoConfig {
	return DemoConfig{Kiosks: 3, Customers: 50, Checkouts: 30, Seed: 1, Out: os.Stdout}
}

// DemoResult is the demo's verdict; its JSON form is the demo's last line with --json.
type DemoResult struct {
	Nodes            int      `json:"nodes"`
	Enrolled         int      `json:"enrolled"`
	CheckoutsOK      int      `json:"checkouts_ok"`
	CheckoutsFailed  int      `json:"checkouts_failed"`
	CheckoutRetries  int      `json:"checkout_retries"`
	Rescans          int      `json:"rescans"`
	NotRecognised    int      `json:"enrolled_not_recognised"`
	WalkinsRefused   int      `json:"walkins_refused"`
	WalkinsCharged   int      `json:"walkins_charged"`
	WrongPerson      int      `json:"wrong_person_charged"`
	AckedCharges     int      `json:"acked_charges"`
	LostCharges      int      `json:"lost_charges"`
	DuplicateCharges int      `json:"duplicate_charges"`
	LedgersAgree     bool     `json:"ledgers_agree"`
	Uploaded         int      `json:"uploaded"`
	CloudTotalCents  int64    `json:"cloud_total_cents"`
	LedgerTotalCents int64    `json:"ledger_total_cents"`
	FailoverMs       int64    `json:"failover_ms"`
	CheckoutP50Ms    float64  `json:"checkout_ms_p50"`
	CheckoutP99Ms    float64  `json:"checkout_ms_p99"`
	DurationS        float64  `json:"duration_s"`
	Passed           bool     `json:"passed"`
	Failures         []string `json:"failures,omitempty"`
}

type demo struct {
	cfg   DemoConfig
	start time.Time
	store *Store
	shop  *Shoppers
	res   DemoResult
}

func (d *demo) say(format string, a ...any) {
	fmt.Fprintf(d.cfg.Out, "[%6.1fs] %s\n", time.Since(d.start).Seconds(), fmt.Sprintf(format, a...))
}

func (d *demo) check(ok bool, format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	mark := "ok  "
	if !ok {
		mark = "FAIL"
		d.res.Failures = append(d.res.Failures, msg)
	}
	fmt.Fprintf(d.cfg.Out, "         %s %s\n", mark, msg)
}

// RunDemo runs the whole walking-skeleton story against real processes and verifies the books.
// It returns the result and an error if the demo could not run; a run that ran but failed a
// check returns Passed=false.
func RunDemo(ctx context.Context, cfg DemoConfig) (res DemoResult, err error) {
	d := &demo{cfg: cfg, start: time.Now(), shop: NewShoppers(cfg.Seed)}
	if cfg.Dir == "" {
		dir, err := os.MkdirTemp("", "palmtill-demo-")
		if err != nil {
			return res, err
		}
		cfg.Dir = dir
		d.cfg.Dir = dir
		defer func() {
			if err == nil && res.Passed {
				os.RemoveAll(dir)
			} else {
				fmt.Fprintf(cfg.Out, "logs kept in %s\n", filepath.Join(dir, "logs"))
			}
		}()
	}
	d.say("building palmtill, palmctl and palmcloud")
	bins, err := Build(ctx, filepath.Join(cfg.Dir, "bin"), false)
	if err != nil {
		return res, err
	}
	d.start = time.Now()
	if d.store, err = NewStore(filepath.Join(cfg.Dir, "store"), "demo-store", bins); err != nil {
		return res, err
	}
	defer d.store.Close()
	if err := d.run(ctx); err != nil {
		d.res.Failures = append(d.res.Failures, err.Error())
		for _, k := range d.store.Kiosks {
			fmt.Fprintf(cfg.Out, "--- last log lines of %s:\n%s\n", k.Name, k.LogTail(1500))
		}
	}
	d.res.DurationS = time.Since(d.start).Seconds()
	d.res.Passed = len(d.res.Failures) == 0
	return d.res, nil
}

func (d *demo) run(ctx context.Context) error {
	s := d.store
	if err := s.StartCloud(); err != nil {
		return err
	}
	d.say("cloud receiver up at %s", s.CloudAddr)
	for i := 0; i < d.cfg.Kiosks; i++ {
		if _, err := s.AddKiosk(d.cfg.Kiosks, nil); err != nil {
			return err
		}
	}
	for _, k := range s.Kiosks {
		k.Args = append(k.Args, "--join", strings.Join(s.GossipAddrs(), ","))
		if err := k.Start(); err != nil {
			return err
		}
	}
	d.say("started %d kiosks with --bootstrap-expect %d; waiting for them to find each other and elect a leader", d.cfg.Kiosks, d.cfg.Kiosks)
	leader, err := s.WaitLeader(60 * time.Second)
	if err != nil {
		return err
	}
	if err := s.WaitVoters(30*time.Second, d.cfg.Kiosks, leader); err != nil {
		return err
	}
	d.say("store formed itself: leader %s, %d voters", leader.Name, d.cfg.Kiosks)

	if err := d.enrol(ctx); err != nil {
		return err
	}
	if err := d.steady(ctx, s.Kiosks, d.cfg.Checkouts); err != nil {
		return err
	}
	survivors, err := d.failover(ctx, leader)
	if err != nil {
		return err
	}
	if err := d.cloudDown(ctx, survivors); err != nil {
		return err
	}
	newK, err := d.joinKiosk(ctx, survivors)
	if err != nil {
		return err
	}
	if err := d.intruder(ctx, survivors[0]); err != nil {
		return err
	}
	d.say("restarting %s (killed earlier) on its old data", leader.Name)
	if err := leader.Start(); err != nil {
		return err
	}
	if err := d.steady(ctx, []*Kiosk{newK, leader}, 5); err != nil {
		return err
	}
	if err := d.reconcile(ctx, survivors[0]); err != nil {
		return err
	}
	return d.verify(ctx)
}

func (d *demo) enrol(ctx context.Context) error {
	d.say("enrolling %d simulated customers (card token + %s palm captures) across all kiosks", d.cfg.Customers, "3")
	var wg sync.WaitGroup
	errs := make(chan error, len(d.store.Kiosks))
	for ki, k := range d.store.Kiosks {
		wg.Add(1)
		go func(ki int, k *Kiosk) {
			defer wg.Done()
			for i := ki; i < d.cfg.Customers; i += len(d.store.Kiosks) {
				identity := uint64(1000 + i)
				req := node.EnrolRequest{CardToken: fmt.Sprintf("tok_demo_%04d", i), IdempotencyKey: fmt.Sprintf("enrol-%d", i), SimIdentity: &identity}
				var resp node.EnrolResponse
				err := WaitFor(20*time.Second, "enrolment", func() (bool, string) {
					var err error
					resp, err = k.Client.Enrol(ctx, req)
					if ae, ok := err.(*node.APIError); ok && ae.Status < 500 {
						return true, ""
					}
					return err == nil, fmt.Sprint(err)
				})
				if err == nil && resp.CustomerID == "" {
					_, err = k.Client.Enrol(ctx, req)
				}
				if err != nil {
					errs <- fmt.Errorf("enrol customer %d at %s: %w", i, k.Name, err)
					return
				}
				d.shop.Enrolled(identity, resp.CustomerID)
			}
		}(ki, k)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	d.res.Enrolled = d.shop.Enrolments()
	d.say("enrolled %d customers", d.res.Enrolled)
	return nil
}

// steady runs n checkouts at each kiosk in parallel, one in ten a walk-in.
func (d *demo) steady(ctx context.Context, ks []*Kiosk, n int) error {
	d.say("checking out: %d shoppers at each of %s (one in ten a walk-in who never enrolled)", n, names(ks))
	var wg sync.WaitGroup
	errs := make(chan error, len(ks))
	for _, k := range ks {
		wg.Add(1)
		go func(k *Kiosk) {
			defer wg.Done()
			for i := 0; i < n; i++ {
				if err := d.shop.Checkout(ctx, k, i%10 == 9, 30*time.Second); err != nil {
					errs <- err
					return
				}
			}
		}(k)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	p50, p99 := d.shop.Latency()
	d.say("%d charges acknowledged so far; checkout p50 %.1f ms, p99 %.1f ms", len(d.shop.Acked()), ms(p50), ms(p99))
	return nil
}

func (d *demo) failover(ctx context.Context, leader *Kiosk) ([]*Kiosk, error) {
	var survivors []*Kiosk
	for _, k := range d.store.Kiosks {
		if k != leader {
			survivors = append(survivors, k)
		}
	}
	d.say("shoppers keep checking out at %s; killing the leader %s with SIGKILL", names(survivors), leader.Name)
	stop, cancel := context.WithCancel(ctx)
	errs := make(chan error, len(survivors))
	var wg sync.WaitGroup
	for _, k := range survivors {
		wg.Add(1)
		go func(k *Kiosk) { defer wg.Done(); d.shop.Loop(stop, k, errs) }(k)
	}
	time.Sleep(time.Second) // steady traffic before the kill: this is the scenario, not a wait for a condition
	killedAt := time.Now()
	leader.Kill()
	newLeader, err := d.store.WaitLeader(20*time.Second, survivors...)
	if err != nil {
		cancel()
		wg.Wait()
		return nil, err
	}
	d.say("new leader: %s; shoppers still checking out", newLeader.Name)
	time.Sleep(2 * time.Second) // keep traffic running after the election
	cancel()
	wg.Wait()
	end := time.Now()
	gap := d.shop.LongestGap(killedAt, end)
	d.res.FailoverMs = gap.Milliseconds()
	d.say("longest time without a successful checkout after the kill: %d ms", d.res.FailoverMs)
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	return survivors, nil
}

func (d *demo) cloudDown(ctx context.Context, survivors []*Kiosk) error {
	d.say("stopping the cloud receiver (the store's internet link is down)")
	d.store.Cloud.Kill()
	if err := d.steady(ctx, survivors, 10); err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	_, err := survivors[0].Client.Reconcile(rctx)
	d.check(err != nil, "reconciliation with the cloud down is refused, checkout unaffected (%v)", short(err))
	return nil
}

func (d *demo) joinKiosk(ctx context.Context, survivors []*Kiosk) (*Kiosk, error) {
	k, err := d.store.AddKiosk(0, nil)
	if err != nil {
		return nil, err
	}
	if err := k.Start(); err != nil {
		return nil, err
	}
	if err := waitHTTP("http://"+k.HTTPAddr+"/healthz", 30*time.Second); err != nil {
		return nil, err
	}
	d.say("started %s; ops run: palmctl join %s", k.Name, k.GossipAddr)
	out, err := d.store.Palmctl(ctx, survivors[0], "join", k.GossipAddr)
	if err != nil {
		return nil, err
	}
	d.say("palmctl: %s", strings.TrimSpace(out))
	err = WaitFor(60*time.Second, k.Name+" promoted to voter", func() (bool, string) {
		st, err := status(survivors[0])
		if err != nil {
			return false, err.Error()
		}
		for _, m := range st.Members {
			if m.APIAddr == k.HTTPAddr {
				return m.Suffrage == "voter", m.Suffrage
			}
		}
		return false, "not a member yet"
	})
	if err != nil {
		return nil, err
	}
	d.say("%s caught up and was promoted to voter", k.Name)
	return k, nil
}

// intruder starts a kiosk that holds another store secret and points it at the store: it must
// never be admitted, both sides must say why, and palmctl join must refuse it.
func (d *demo) intruder(ctx context.Context, via *Kiosk) error {
	other, err := NewStore(filepath.Join(d.cfg.Dir, "intruder"), d.store.StoreID, d.store.Bins)
	if err != nil {
		return err
	}
	k, err := other.AddKiosk(0, []string{via.GossipAddr})
	if err != nil {
		return err
	}
	k.Args[2] = "intruder" // --name
	if err := k.Start(); err != nil {
		return err
	}
	defer k.Kill()
	d.say("a kiosk with another store's secret tries to join at %s", via.GossipAddr)
	err = WaitFor(20*time.Second, "the intruder to log why it is not admitted", func() (bool, string) {
		return strings.Contains(k.LogTail(20000), "another store secret"), "nothing logged yet"
	})
	d.check(err == nil, "the intruder's log says why it is refused (gossip it cannot decrypt: another store or secret)")
	_, jerr := d.store.Palmctl(ctx, via, "join", k.GossipAddr)
	d.check(jerr != nil && strings.Contains(jerr.Error(), "another store"), "palmctl join refuses it: %s", short(jerr))
	st, err := status(via)
	if err != nil {
		return err
	}
	admitted := false
	for _, m := range st.Members {
		admitted = admitted || m.APIAddr == k.HTTPAddr || m.ID == "intruder"
	}
	d.check(!admitted, "the store's members never include it")
	return nil
}

func (d *demo) reconcile(ctx context.Context, via *Kiosk) error {
	d.say("cloud link back; ops run: palmctl reconcile")
	if err := d.store.StartCloud(); err != nil {
		return err
	}
	var out string
	err := WaitFor(60*time.Second, "reconciliation", func() (bool, string) {
		var err error
		out, err = d.store.Palmctl(ctx, via, "reconcile")
		return err == nil, fmt.Sprint(err)
	})
	if err != nil {
		return err
	}
	d.say("palmctl: %s", strings.TrimSpace(out))
	cl := cloud.NewClient("http://"+d.store.CloudAddr, &http.Client{Timeout: 10 * time.Second})
	if tot, err := cl.Totals(ctx, d.store.StoreID); err == nil {
		d.say("cloud now holds %d charges in %d batches (%d re-sent duplicates ignored)", tot.Charges, tot.Batches, tot.Duplicates)
	}
	return nil
}

func (d *demo) verify(ctx context.Context) error {
	s := d.store
	d.say("verifying: every kiosk's ledger, the cloud's copy, the shoppers' receipts")
	leader, err := s.WaitLeader(30 * time.Second)
	if err != nil {
		return err
	}
	st, err := status(leader)
	if err != nil {
		return err
	}
	if err := s.WaitCaughtUp(60*time.Second, st.Raft.CommitIndex, s.Kiosks...); err != nil {
		return err
	}
	acked := d.shop.Acked()
	var first []string
	d.res.LedgersAgree = true
	lost := map[string]bool{}
	for _, k := range s.Kiosks {
		ledger, err := k.Client.Ledger(ctx)
		if err != nil {
			return err
		}
		seen := map[string]int{}
		keys := map[string]int{}
		var ids []string
		var total int64
		for _, c := range ledger {
			seen[c.ChargeID]++
			keys[c.IdempotencyKey]++
			ids = append(ids, c.ChargeID)
			total += c.AmountMinor
		}
		for id := range acked {
			if seen[id] != 1 {
				lost[id] = seen[id] == 0
			}
		}
		for _, n := range keys {
			if n > 1 {
				d.res.DuplicateCharges += n - 1
			}
		}
		if first == nil {
			first = ids
			d.res.LedgerTotalCents = total
		} else if strings.Join(first, ",") != strings.Join(ids, ",") {
			d.res.LedgersAgree = false
		}
		d.check(len(ledger) == len(acked), "%s holds %d charges (%d acknowledged to shoppers), total %d cents", k.Name, len(ledger), len(acked), total)
	}
	for _, isLost := range lost {
		if isLost {
			d.res.LostCharges++
		}
	}
	cl := cloud.NewClient("http://"+s.CloudAddr, &http.Client{Timeout: 10 * time.Second})
	tot, err := cl.Totals(ctx, s.StoreID)
	if err != nil {
		return err
	}
	cc, err := cl.Charges(ctx, s.StoreID)
	if err != nil {
		return err
	}
	cloudSeen := map[string]int{}
	for _, c := range cc {
		cloudSeen[c.ChargeID]++
	}
	for id := range acked {
		if cloudSeen[id] != 1 {
			d.res.LostCharges++
		}
	}
	d.res.Nodes = len(s.Kiosks)
	d.res.Uploaded = int(tot.Charges)
	d.res.CloudTotalCents = tot.TotalCents
	d.res.AckedCharges = len(acked)
	d.res.CheckoutsOK = len(acked)
	d.res.CheckoutsFailed = d.shop.Failed
	d.res.CheckoutRetries = d.shop.Attempts
	d.res.Rescans = d.shop.Rescans
	d.res.NotRecognised = d.shop.NotRecognised
	d.res.WalkinsRefused = d.shop.WalkinsOK
	d.res.WalkinsCharged = d.shop.WalkinsPaid
	d.res.WrongPerson = d.shop.WrongPerson
	d.res.DuplicateCharges += d.shop.Duplicates
	p50, p99 := d.shop.Latency()
	d.res.CheckoutP50Ms, d.res.CheckoutP99Ms = ms(p50), ms(p99)

	r := &d.res
	d.check(r.LostCharges == 0, "no acknowledged charge lost (lost: %d)", r.LostCharges)
	d.check(r.DuplicateCharges == 0, "no charge doubled (duplicates: %d)", r.DuplicateCharges)
	d.check(r.WalkinsCharged == 0, "no walk-in charged (%d refused, %d charged)", r.WalkinsRefused, r.WalkinsCharged)
	d.check(r.WrongPerson == 0, "nobody charged for someone else's palm (%d)", r.WrongPerson)
	d.check(r.LedgersAgree, "all %d kiosks' ledgers are identical", r.Nodes)
	d.check(r.Uploaded == r.AckedCharges, "cloud holds %d charges, %d acknowledged", r.Uploaded, r.AckedCharges)
	d.check(r.CloudTotalCents == r.LedgerTotalCents, "cloud total %d cents = ledger total %d cents", r.CloudTotalCents, r.LedgerTotalCents)
	d.check(r.CheckoutsFailed == 0, "no checkout abandoned (%d)", r.CheckoutsFailed)
	fmt.Fprintf(d.cfg.Out, "         info enrolled customers asked to present again: %d; sent to the card reader after 3 tries: %d\n", r.Rescans, r.NotRecognised)
	d.check(r.FailoverMs <= 1000, "failover %d ms <= 1000 ms", r.FailoverMs)
	return nil
}

func names(ks []*Kiosk) string {
	n := make([]string, len(ks))
	for i, k := range ks {
		n[i] = k.Name
	}
	return strings.Join(n, ", ")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func short(err error) string {
	if err == nil {
		return "no error"
	}
	s := err.Error()
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return s
}
