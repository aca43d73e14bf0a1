package node

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// maxBody bounds every request body: the API takes small JSON documents only.
const maxBody = 64 << 10

// routes is the kiosk API. Paths are versioned; every error is JSON {"error": "...", "code": "..."}.
func (n *Node) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/enrol", n.handleEnrol)
	mux.HandleFunc("POST /v1/checkout", n.handleCheckout)
	mux.HandleFunc("GET /v1/customers/{id}", n.handleGetCustomer)
	mux.HandleFunc("DELETE /v1/customers/{id}", n.handleDeleteCustomer)
	mux.HandleFunc("GET /v1/status", n.handleStatus)
	mux.HandleFunc("GET /v1/members", n.handleMembers)
	mux.HandleFunc("GET /v1/ledger", n.handleLedger)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(n.metrics.reg, promhttp.HandlerOpts{}))
	// Ops: need the admin token (derived from the store secret) and run on the leader.
	mux.Handle("POST /v1/admin/join", n.admin(n.leaderOnly(n.handleJoin)))
	mux.Handle("POST /v1/admin/remove", n.admin(n.leaderOnly(n.handleRemove)))
	mux.Handle("POST /v1/admin/reconcile", n.admin(n.leaderOnly(n.handleReconcile)))
	return mux
}

// AdminToken is the bearer token that ops tools present for admin calls: an HMAC of the store id
// under the store secret, so whoever holds the secret file can administer the store and nobody
// else can.
func AdminToken(secret []byte, storeID string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("palmtill admin v1\x00" + storeID))
	return hex.EncodeToString(m.Sum(nil))
}

func (n *Node) admin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !hmac.Equal([]byte(got), []byte(n.adminTk)) {
			writeErr(w, http.StatusUnauthorized, "unauthorized",
				"admin calls need the store's admin token: pass --secret-file with the store secret to palmctl")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// apiError is an error with its HTTP status and a stable code for clients.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errf(status int, code, format string, a ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, a...)}
}

// decodeBody reads a JSON body strictly: one object, known fields only, bounded size.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) *apiError {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return errf(http.StatusRequestEntityTooLarge, "too_large", "request body over %d bytes", maxBody)
		case errors.Is(err, io.EOF):
			return errf(http.StatusBadRequest, "bad_request", "empty request body: expected a JSON object")
		default:
			return errf(http.StatusBadRequest, "bad_request", "malformed request body: %v", err)
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return errf(http.StatusBadRequest, "bad_request", "request body has data after the JSON object")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": msg, "code": code})
}

func writeAPIErr(w http.ResponseWriter, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		writeErr(w, ae.status, ae.code, ae.msg)
		return
	}
	writeErr(w, http.StatusInternalServerError, "internal", err.Error())
}

// idempotencyKey takes the key from the body or the Idempotency-Key header; one is required.
func idempotencyKey(r *http.Request, body string) (string, *apiError) {
	k := body
	if h := r.Header.Get("Idempotency-Key"); h != "" {
		if k != "" && k != h {
			return "", errf(http.StatusBadRequest, "bad_request", "idempotency key in header and body differ")
		}
		k = h
	}
	if k == "" {
		return "", errf(http.StatusBadRequest, "bad_request", "an idempotency_key is required for every write")
	}
	if len(k) > 128 {
		return "", errf(http.StatusBadRequest, "bad_request", "idempotency key longer than 128 bytes")
	}
	return k, nil
}
