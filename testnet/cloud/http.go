package cloud

import (
	"errors"
	"net/http"
	"time"
)

// Handler returns the receiver's HTTP API (see the package doc). Every error
// response is JSON {"error": "..."}.
func (r *Receiver) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/stores/{store}/charges", r.handleUpload)
	mux.HandleFunc("GET /v1/stores/{store}/charges", r.handleCharges)
	mux.HandleFunc("GET /v1/stores/{store}/totals", r.handleTotals)
	mux.HandleFunc("GET /healthz", r.handleHealth)
	return mux
}

func (r *Receiver) handleUpload(w http.ResponseWriter, req *http.Request) {
	start := time.Now()
	store := req.PathValue("store")
	if err := validID("store", store, true); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if r.closed.Load() {
		writeError(w, http.StatusServiceUnavailable, ErrClosed)
		return
	}
	if r.failNow() {
		r.log.Warn("upload failed by FailEvery fault knob", "store", store)
		writeError(w, http.StatusServiceUnavailable, errors.New("injected failure (FailEvery)"))
		return
	}
	body := http.MaxBytesReader(w, req.Body, r.cfg.MaxBodyBytes)
	b, err := decodeBatch(body, r.cfg.MaxBatch)
	if err != nil {
		status := http.StatusBadRequest
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			status = http.StatusRequestEntityTooLarge
		}
		r.log.Info("upload rejected", "store", store, "status", status, "error", err)
		writeError(w, status, err)
		return
	}
	if b.StoreID != store {
		writeError(w, http.StatusBadRequest, errors.New("invalid batch: store_id "+quote(b.StoreID)+" does not match path store "+quote(store)))
		return
	}
	ack, err := r.store(req.Context(), b)
	switch {
	case errors.Is(err, ErrConflict):
		r.log.Warn("upload conflict", "store", store, "batch", b.BatchID, "error", err)
		writeError(w, http.StatusConflict, err)
		return
	case err != nil:
		r.log.Error("upload failed", "store", store, "batch", b.BatchID, "error", err)
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	r.log.Info("batch stored", "store", store, "batch", b.BatchID, "accepted", ack.Accepted,
		"duplicates", ack.Duplicates, "up_to_seq", ack.UpToSeq, "took", time.Since(start))
	writeJSON(w, http.StatusOK, ack)
}

func (r *Receiver) handleTotals(w http.ResponseWriter, req *http.Request) {
	store := req.PathValue("store")
	if err := validID("store", store, true); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	t, err := r.totals(req.Context(), store)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (r *Receiver) handleCharges(w http.ResponseWriter, req *http.Request) {
	store := req.PathValue("store")
	if err := validID("store", store, true); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	cs, err := r.charges(req.Context(), store)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	writeJSON(w, http.StatusOK, cs)
}

func (r *Receiver) handleHealth(w http.ResponseWriter, req *http.Request) {
	if r.closed.Load() {
		writeError(w, http.StatusServiceUnavailable, ErrClosed)
		return
	}
	if err := r.db.PingContext(req.Context()); err != nil {
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, errorBody{Error: err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := encodeJSON(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"encode response"}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func quote(s string) string {
	b, _ := encodeJSON(s)
	if len(b) > 0 && b[len(b)-1] == '\n' {
		b = b[:len(b)-1]
	}
	return string(b)
}
