package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/palmtill/palmtill/replication"
	"github.com/palmtill/palmtill/testnet/cloud"
)

// uploader is what reconciliation needs of the cloud.
type uploader interface {
	Upload(ctx context.Context, b cloud.Batch) (cloud.Ack, error)
}

// CloudStatus is the cloud link as the last reconciliation attempt saw it.
type CloudStatus struct {
	URL        string    `json:"url,omitempty"`
	Enabled    bool      `json:"enabled"`
	Up         bool      `json:"up"`
	LastOK     time.Time `json:"last_ok,omitzero"`
	LastError  string    `json:"last_error,omitempty"`
	LastErrAt  time.Time `json:"last_error_at,omitzero"`
	NextRun    time.Time `json:"next_run,omitzero"`
	Retrying   bool      `json:"retrying"`
	UploadedTo uint64    `json:"uploaded_seq"`
}

// ReconcileReport is the outcome of one reconciliation run.
type ReconcileReport struct {
	Uploaded   int    `json:"uploaded"`
	Duplicates int    `json:"duplicates"`
	Batches    int    `json:"batches"`
	UpToSeq    uint64 `json:"up_to_seq"`
	Leader     string `json:"leader"`
}

// reconciler uploads settled charges to the cloud. Only the leader uploads. Progress is the
// replicated UploadedSeq mark, advanced through Raft after each acknowledged batch, so a crash or
// a leader change resumes where the last acknowledged batch ended; the cloud deduplicates by
// charge id, so a batch that was stored but whose mark was lost is harmless to resend.
type reconciler struct {
	n       *Node
	cl      uploader
	trigger chan chan result

	mu sync.Mutex
	st CloudStatus
}

type result struct {
	rep ReconcileReport
	err error
}

// ErrReconcileOff is returned when no cloud URL is configured.
var ErrReconcileOff = errors.New("reconciliation is off: no cloud URL configured (--cloud-url)")

func newReconciler(n *Node) *reconciler {
	r := &reconciler{n: n, trigger: make(chan chan result)}
	r.st.URL, r.st.Enabled = n.cfg.CloudURL, n.cfg.CloudURL != ""
	if r.st.Enabled {
		r.cl = cloud.NewClient(n.cfg.CloudURL, &http.Client{Timeout: 10 * time.Second})
	}
	return r
}

func (r *reconciler) status() CloudStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.st
	st.UploadedTo = r.n.fsm.UploadedSeq()
	return st
}

// runNow asks the job loop for an immediate run and waits for it (or ctx).
func (r *reconciler) runNow(ctx context.Context) (ReconcileReport, error) {
	if r.cl == nil {
		return ReconcileReport{}, ErrReconcileOff
	}
	ch := make(chan result, 1)
	select {
	case r.trigger <- ch:
	case <-ctx.Done():
		return ReconcileReport{}, fmt.Errorf("reconciliation busy: %w", ctx.Err())
	}
	select {
	case res := <-ch:
		return res.rep, res.err
	case <-ctx.Done():
		return ReconcileReport{}, fmt.Errorf("cloud still unreachable, upload keeps retrying in the background: %s", r.status().LastError)
	}
}

// run is the job loop: nightly at ReconcileAt and on demand, until ctx ends.
func (r *reconciler) run(ctx context.Context) {
	at, _ := parseClock(r.n.cfg.ReconcileAt)
	for {
		next := nextClock(time.Now(), at)
		r.mu.Lock()
		r.st.NextRun = next
		r.mu.Unlock()
		timer := time.NewTimer(time.Until(next))
		var replies []chan result
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		case reply := <-r.trigger:
			replies = append(replies, reply)
			timer.Stop()
		}
		if r.cl == nil || !r.n.cluster.IsLeader() {
			for _, reply := range replies {
				reply <- result{err: errors.New("this kiosk is not the leader: reconciliation runs on the leader")}
			}
			continue
		}
		rep, err := r.uploadAll(ctx, &replies)
		for _, reply := range replies {
			reply <- result{rep: rep, err: err}
		}
	}
}

// nextClock is the next instant after now at offset 'at' from local midnight.
func nextClock(now time.Time, at time.Duration) time.Time {
	y, m, d := now.Date()
	t := time.Date(y, m, d, 0, 0, 0, 0, now.Location()).Add(at)
	if !t.After(now) {
		t = t.AddDate(0, 0, 1)
	}
	return t
}

// uploadAll uploads every charge past the mark, batch by batch, retrying an unreachable cloud
// with capped exponential backoff until it answers, leadership is lost or ctx ends. An on-demand
// request that arrives during a backoff cuts it short (ops just restored the link) and joins
// replies, to be answered when the run ends.
func (r *reconciler) uploadAll(ctx context.Context, replies *[]chan result) (ReconcileReport, error) {
	rep := ReconcileReport{Leader: r.n.ID()}
	backoff := 200 * time.Millisecond
	for {
		if !r.n.cluster.IsLeader() {
			return rep, errors.New("leadership lost during reconciliation; the new leader resumes from the replicated mark")
		}
		mark := r.n.fsm.UploadedSeq()
		charges, err := r.n.fsm.Charges(mark, r.n.cfg.ReconcileBatch)
		if err != nil {
			return rep, err
		}
		if len(charges) == 0 {
			rep.UpToSeq = mark
			r.setRetrying(false)
			return rep, nil
		}
		b := toBatch(r.n.cfg.StoreID, charges)
		ack, err := r.cl.Upload(ctx, b)
		if err != nil {
			r.fail(err)
			if errors.Is(err, cloud.ErrRejected) {
				return rep, fmt.Errorf("cloud rejected batch %s: %w", b.BatchID, err)
			}
			r.n.metrics.reconcileErrors.Inc()
			r.setRetrying(true)
			// Whoever asked for this run hears now that the cloud is down; the run goes on.
			for _, reply := range *replies {
				reply <- result{err: fmt.Errorf("cloud unreachable (%v): the upload keeps retrying in the background", err)}
			}
			*replies = nil
			r.n.log.Warn("cloud upload failed; retrying", "batch", b.BatchID, "in", backoff, "err", err)
			select {
			case <-ctx.Done():
				return rep, ctx.Err()
			case <-time.After(backoff):
			case reply := <-r.trigger:
				*replies = append(*replies, reply)
			}
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = 200 * time.Millisecond
		last := charges[len(charges)-1].Seq
		if ack.UpToSeq != last {
			return rep, fmt.Errorf("cloud acknowledged up to %d, sent up to %d", ack.UpToSeq, last)
		}
		data, err := replication.EncodeMarkUploaded(replication.MarkUploaded{UpToSeq: last, BatchID: b.BatchID, At: time.Now().UTC()})
		if err != nil {
			return rep, err
		}
		if _, err := r.n.apply(ctx, data); err != nil {
			return rep, fmt.Errorf("record upload mark: %w", err)
		}
		r.ok()
		rep.Batches++
		rep.Uploaded += ack.Accepted
		rep.Duplicates += ack.Duplicates
		rep.UpToSeq = last
		r.n.metrics.uploaded.Add(float64(ack.Accepted))
		r.n.log.Info("batch reconciled", "batch", b.BatchID, "charges", len(charges), "accepted", ack.Accepted, "duplicates", ack.Duplicates)
	}
}

func toBatch(store string, cs []replication.ChargeRecord) cloud.Batch {
	b := cloud.Batch{StoreID: store, BatchID: fmt.Sprintf("%s-%d-%d", store, cs[0].Seq, cs[len(cs)-1].Seq)}
	for _, c := range cs {
		b.Charges = append(b.Charges, cloud.Charge{
			ChargeID: c.ChargeID, Seq: c.Seq, CustomerID: c.CustomerID, AmountMinor: c.AmountMinor,
			Currency: c.Currency, Kiosk: c.Kiosk, At: c.At, IdempotencyKey: c.IdempotencyKey,
		})
	}
	return b
}

func (r *reconciler) setRetrying(v bool) {
	r.mu.Lock()
	r.st.Retrying = v
	r.mu.Unlock()
}

func (r *reconciler) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.st.Up, r.st.LastError, r.st.LastErrAt = false, err.Error(), time.Now()
	r.n.metrics.cloudUp.Set(0)
}

func (r *reconciler) ok() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.st.Up, r.st.LastOK, r.st.LastError = true, time.Now(), ""
	r.n.metrics.cloudUp.Set(1)
}
