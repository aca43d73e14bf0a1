package node

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/palmtill/palmtill/replication"
	"github.com/palmtill/palmtill/scanner"
)

// EnrolRequest enrols the palm over the scanner under a card token.
type EnrolRequest struct {
	CardToken      string `json:"card_token"`
	CustomerID     string `json:"customer_id,omitempty"` // derived from the idempotency key when empty
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// SimIdentity, for a simulated scanner only, is whose hand is over it.
	SimIdentity *uint64 `json:"sim_identity,omitempty"`
}

// EnrolResponse reports the enrolled customer.
type EnrolResponse struct {
	CustomerID string  `json:"customer_id"`
	Templates  int     `json:"templates"`
	Duplicate  bool    `json:"duplicate"`
	Kiosk      string  `json:"kiosk"`
	Quality    float64 `json:"quality"`
}

// CheckoutRequest charges whoever's palm is over the scanner.
type CheckoutRequest struct {
	AmountMinor    int64   `json:"amount_minor"`
	Currency       string  `json:"currency"`
	IdempotencyKey string  `json:"idempotency_key,omitempty"`
	SimIdentity    *uint64 `json:"sim_identity,omitempty"`
}

// Receipt is a committed charge as the kiosk shows it.
type Receipt struct {
	ChargeID    string    `json:"charge_id"`
	Seq         uint64    `json:"seq"`
	CustomerID  string    `json:"customer_id"`
	AmountMinor int64     `json:"amount_minor"`
	Currency    string    `json:"currency"`
	Kiosk       string    `json:"kiosk"`
	At          time.Time `json:"at"`
	Duplicate   bool      `json:"duplicate"`
	Score       float64   `json:"score,omitempty"`
	CaptureMs   float64   `json:"capture_ms"`
	MatchMs     float64   `json:"match_ms"`
	CommitMs    float64   `json:"commit_ms"`
	TotalMs     float64   `json:"total_ms"`
}

func (n *Node) handleEnrol(w http.ResponseWriter, r *http.Request) {
	var req EnrolRequest
	if ae := decodeBody(w, r, &req); ae != nil {
		n.metrics.enrolments.WithLabelValues(ae.code).Inc()
		writeAPIErr(w, ae)
		return
	}
	resp, err := n.enrol(r.Context(), r, req)
	if err != nil {
		n.metrics.enrolments.WithLabelValues(codeOf(err)).Inc()
		writeAPIErr(w, err)
		return
	}
	n.metrics.enrolments.WithLabelValues("ok").Inc()
	writeJSON(w, http.StatusOK, resp)
}

func (n *Node) enrol(ctx context.Context, r *http.Request, req EnrolRequest) (*EnrolResponse, error) {
	key, ae := idempotencyKey(r, req.IdempotencyKey)
	if ae != nil {
		return nil, ae
	}
	if req.CustomerID == "" {
		sum := sha256.Sum256([]byte(n.cfg.StoreID + "\x00enrol\x00" + key))
		req.CustomerID = "cus_" + hex.EncodeToString(sum[:10])
	}
	cmd := replication.Enrol{
		CustomerID: req.CustomerID, CardToken: req.CardToken, Kiosk: n.ID(),
		At: time.Now().UTC(), IdempotencyKey: key,
	}
	// Validate before asking the customer for a palm.
	if err := cmd.ValidateFields(); err != nil {
		return nil, mapReplicationErr(err)
	}
	if c, ok, err := n.fsm.Customer(req.CustomerID); err == nil && ok && c.CardToken == req.CardToken {
		return &EnrolResponse{CustomerID: c.CustomerID, Templates: c.Templates, Duplicate: true, Kiosk: c.Kiosk}, nil
	}
	rois, results, err := n.scan.capture(ctx, req.SimIdentity, n.cfg.EnrolSamples)
	if err != nil {
		return nil, captureErr(err)
	}
	quality := 1.0
	for i, roi := range rois {
		t, err := n.ext.Extract(roi)
		if err != nil {
			return nil, errf(http.StatusUnprocessableEntity, "not_a_palm", "capture %d: %v", i+1, err)
		}
		// Never enrol a palm that already pays for someone else.
		if m, ok := n.currentGallery().Identify(t); ok && m.ID != req.CustomerID {
			return nil, errf(http.StatusConflict, "palm_enrolled", "this palm is already enrolled for another customer")
		}
		// The gallery needs only the canonical pose of an enrolled capture (the pose variants
		// serve probes): 1.9 KB instead of 17 KB per template in the log and the state.
		b, err := t.Canonical().MarshalBinary()
		if err != nil {
			return nil, err
		}
		cmd.Templates = append(cmd.Templates, b)
		quality = min(quality, results[i].Quality)
	}
	data, err := n.fsm.EncodeEnrol(cmd)
	if err != nil {
		return nil, mapReplicationErr(err)
	}
	res, err := n.apply(ctx, data)
	if err != nil {
		return nil, err
	}
	out := &EnrolResponse{CustomerID: req.CustomerID, Templates: len(cmd.Templates), Duplicate: res.Duplicate, Kiosk: n.ID(), Quality: quality}
	if res.Customer != nil {
		out.Templates, out.Kiosk = res.Customer.Templates, res.Customer.Kiosk
	}
	return out, nil
}

func (n *Node) handleCheckout(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req CheckoutRequest
	if ae := decodeBody(w, r, &req); ae != nil {
		n.metrics.checkouts.WithLabelValues(ae.code).Inc()
		writeAPIErr(w, ae)
		return
	}
	rc, err := n.checkout(r.Context(), r, req)
	if err != nil {
		n.metrics.checkouts.WithLabelValues(codeOf(err)).Inc()
		writeAPIErr(w, err)
		return
	}
	rc.TotalMs = ms(time.Since(start))
	n.metrics.checkouts.WithLabelValues("ok").Inc()
	n.metrics.checkoutSeconds.Observe(time.Since(start).Seconds())
	writeJSON(w, http.StatusOK, rc)
}

func (n *Node) checkout(ctx context.Context, r *http.Request, req CheckoutRequest) (*Receipt, error) {
	key, ae := idempotencyKey(r, req.IdempotencyKey)
	if ae != nil {
		return nil, ae
	}
	// The customer is not known before identification: validate the rest with a placeholder.
	cmd := replication.Charge{
		ChargeID: newID("ch_"), CustomerID: "pending", AmountMinor: req.AmountMinor,
		Currency: req.Currency, Kiosk: n.ID(), At: time.Now().UTC(), IdempotencyKey: key,
	}
	if err := cmd.Validate(); err != nil {
		return nil, mapReplicationErr(err)
	}
	// A retry of a checkout this store already committed: answer it without a new capture.
	if prev, ok, err := n.fsm.ChargeByKey(key); err == nil && ok {
		if prev.AmountMinor != req.AmountMinor || prev.Currency != req.Currency {
			return nil, errf(http.StatusConflict, "idempotency_conflict",
				"idempotency key already used for a charge of %d %s", prev.AmountMinor, prev.Currency)
		}
		rc := receipt(prev)
		rc.Duplicate = true
		return rc, nil
	}

	t0 := time.Now()
	rois, _, err := n.scan.capture(ctx, req.SimIdentity, 1)
	if err != nil {
		return nil, captureErr(err)
	}
	t1 := time.Now()
	probe, err := n.ext.Extract(rois[0])
	if err != nil {
		return nil, errf(http.StatusUnprocessableEntity, "not_a_palm", "%v", err)
	}
	match, ok := n.currentGallery().Identify(probe)
	t2 := time.Now()
	if !ok {
		n.metrics.walkins.Inc()
		return nil, errf(http.StatusNotFound, "not_recognised", "palm not recognised: no charge was made; pay by card or enrol")
	}
	cmd.CustomerID = match.ID
	data, err := replication.EncodeCharge(cmd)
	if err != nil {
		return nil, mapReplicationErr(err)
	}
	res, err := n.apply(ctx, data)
	if err != nil {
		return nil, err
	}
	t3 := time.Now()
	n.metrics.commitSeconds.Observe(t3.Sub(t2).Seconds())
	if res.Charge == nil {
		return nil, errors.New("state machine returned no charge record")
	}
	rc := receipt(*res.Charge)
	rc.Duplicate = res.Duplicate
	rc.Score = match.Score
	rc.CaptureMs, rc.MatchMs, rc.CommitMs = ms(t1.Sub(t0)), ms(t2.Sub(t1)), ms(t3.Sub(t2))
	return rc, nil
}

func receipt(c replication.ChargeRecord) *Receipt {
	return &Receipt{ChargeID: c.ChargeID, Seq: c.Seq, CustomerID: c.CustomerID, AmountMinor: c.AmountMinor,
		Currency: c.Currency, Kiosk: c.Kiosk, At: c.At}
}

func (n *Node) handleGetCustomer(w http.ResponseWriter, r *http.Request) {
	c, ok, err := n.fsm.Customer(r.PathValue("id"))
	switch {
	case err != nil:
		writeAPIErr(w, err)
	case !ok:
		writeErr(w, http.StatusNotFound, "not_found", "no such customer")
	default:
		writeJSON(w, http.StatusOK, map[string]any{
			"customer_id": c.CustomerID, "card_token": c.CardToken, "templates": c.Templates,
			"enrolled_at": c.EnrolledAt, "kiosk": c.Kiosk,
		})
	}
}

func (n *Node) handleDeleteCustomer(w http.ResponseWriter, r *http.Request) {
	key, ae := idempotencyKey(r, r.URL.Query().Get("idempotency_key"))
	if ae != nil {
		writeAPIErr(w, ae)
		return
	}
	data, err := replication.EncodeDeleteCustomer(replication.DeleteCustomer{
		CustomerID: r.PathValue("id"), At: time.Now().UTC(), IdempotencyKey: key,
	})
	if err != nil {
		writeAPIErr(w, mapReplicationErr(err))
		return
	}
	res, err := n.apply(r.Context(), data)
	if err != nil {
		writeAPIErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"customer_id": r.PathValue("id"), "deleted": true, "duplicate": res.Duplicate})
}

// apply commits one command through Raft (forwarded to the leader when this kiosk follows) and
// turns the state machine's answer into an error where it refused.
func (n *Node) apply(ctx context.Context, cmd []byte) (replication.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	defer cancel()
	out, err := n.cluster.Apply(ctx, cmd)
	if err != nil {
		n.metrics.applyErrors.Inc()
		return replication.Result{}, errf(http.StatusServiceUnavailable, "unavailable",
			"the store could not commit the request (%v); it was not applied or will be applied once: retry with the same idempotency key", err)
	}
	res, err := replication.DecodeResult(out)
	if err != nil {
		return replication.Result{}, err
	}
	if err := res.Err(); err != nil {
		return res, mapReplicationErr(err)
	}
	return res, nil
}

// mapReplicationErr turns the state machine's refusals into API errors.
func mapReplicationErr(err error) error {
	switch {
	case errors.Is(err, replication.ErrInvalid):
		return errf(http.StatusBadRequest, "invalid", "%v", err)
	case errors.Is(err, replication.ErrConflict):
		return errf(http.StatusConflict, "idempotency_conflict", "%v", err)
	case errors.Is(err, replication.ErrNotFound):
		return errf(http.StatusNotFound, "not_found", "%v", err)
	case errors.Is(err, replication.ErrExists):
		return errf(http.StatusConflict, "exists", "%v", err)
	case errors.Is(err, replication.ErrUnknownCommand):
		return errf(http.StatusNotImplemented, "unknown_command", "%v", err)
	case errors.Is(err, replication.ErrInternal):
		return errf(http.StatusInternalServerError, "storage", "the store's state could not be written (%v): retry with the same idempotency key; ops: check the kiosk's disk", err)
	}
	return err
}

func captureErr(err error) error {
	switch {
	case errors.Is(err, ErrNotSimulated):
		return errf(http.StatusBadRequest, "bad_request", "%v", err)
	case errors.Is(err, scanner.ErrNoPalm):
		return errf(http.StatusUnprocessableEntity, "no_palm", "%v", err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return errf(http.StatusRequestTimeout, "timeout", "capture: %v", err)
	}
	return errf(http.StatusServiceUnavailable, "scanner", "scanner: %v", err)
}

func codeOf(err error) string {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.code
	}
	return "internal"
}

func newID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
