package node

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/palmtill/palmtill/consensus"
	"github.com/palmtill/palmtill/replication"
)

// Status is what GET /v1/status reports about this kiosk and the store as it sees it.
type Status struct {
	Node        string             `json:"node"`
	Store       string             `json:"store"`
	API         string             `json:"api"`
	State       string             `json:"state"`
	Leader      *consensus.Member  `json:"leader,omitempty"`
	Members     []consensus.Member `json:"members"`
	Raft        consensus.Stats    `json:"raft"`
	Customers   int64              `json:"customers"`
	Gallery     int                `json:"gallery"`
	Charges     int64              `json:"charges"`
	LedgerTotal map[string]int64   `json:"ledger_total_minor"`
	UploadedSeq uint64             `json:"uploaded_seq"`
	Cloud       CloudStatus        `json:"cloud"`
}

func (n *Node) status() Status {
	st := n.fsm.Stats()
	s := Status{
		Node: n.ID(), Store: n.cfg.StoreID, API: n.Addr(),
		Members: n.cluster.Members(), Raft: n.cluster.Stats(),
		Customers: int64(st.Customers), Gallery: n.currentGallery().Len(),
		Charges: int64(st.Charges), LedgerTotal: st.LedgerTotal, UploadedSeq: st.UploadedSeq,
		Cloud: n.recon.status(),
	}
	s.State = s.Raft.State
	if l, ok := n.cluster.Leader(); ok {
		s.Leader = &l
	}
	return s
}

func (n *Node) handleStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, n.status())
}

func (n *Node) handleMembers(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, n.cluster.Members())
}

// handleLedger lists this kiosk's copy of the ledger in commit order: ?after=SEQ&limit=N.
func (n *Node) handleLedger(w http.ResponseWriter, r *http.Request) {
	after, limit := uint64(0), 1000
	if v := r.URL.Query().Get("after"); v != "" {
		a, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeErr(w, http.StatusBadRequest, "bad_request", "after must be a sequence number")
			return
		}
		after = a
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		l, err := strconv.Atoi(v)
		if err != nil || l < 1 || l > 10000 {
			writeErr(w, http.StatusBadRequest, "bad_request", "limit must be 1..10000")
			return
		}
		limit = l
	}
	charges, err := n.fsm.Charges(after, limit)
	if err != nil {
		writeAPIErr(w, err)
		return
	}
	if charges == nil {
		charges = []replication.ChargeRecord{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"charges": charges, "applied_index": n.fsm.Stats().AppliedIndex})
}

// JoinRequest asks the store to add the kiosk whose gossip address is Addr.
type JoinRequest struct {
	Addr string `json:"addr"`
}

func (n *Node) handleJoin(w http.ResponseWriter, r *http.Request) {
	var req JoinRequest
	if ae := decodeBody(w, r, &req); ae != nil {
		writeAPIErr(w, ae)
		return
	}
	if req.Addr == "" {
		writeErr(w, http.StatusBadRequest, "bad_request", "addr (the new kiosk's gossip address, host:port) is required")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	m, err := n.cluster.Join(ctx, req.Addr)
	if err != nil {
		writeAPIErr(w, clusterErr(err))
		return
	}
	n.log.Info("kiosk joined as non-voter; promoted once caught up", "member", m.ID, "addr", req.Addr)
	writeJSON(w, http.StatusOK, m)
}

// RemoveRequest asks the store to remove the kiosk with Raft server ID ID.
type RemoveRequest struct {
	ID string `json:"id"`
}

func (n *Node) handleRemove(w http.ResponseWriter, r *http.Request) {
	var req RemoveRequest
	if ae := decodeBody(w, r, &req); ae != nil {
		writeAPIErr(w, ae)
		return
	}
	if req.ID == "" {
		writeErr(w, http.StatusBadRequest, "bad_request", "id (the kiosk's node id, see palmctl members) is required")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	if err := n.cluster.Remove(ctx, req.ID); err != nil {
		writeAPIErr(w, clusterErr(err))
		return
	}
	n.log.Info("kiosk removed from the store", "member", req.ID)
	writeJSON(w, http.StatusOK, map[string]any{"removed": req.ID})
}

func (n *Node) handleReconcile(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
	defer cancel()
	rep, err := n.recon.runNow(ctx)
	if err != nil {
		writeErr(w, http.StatusServiceUnavailable, "cloud_unavailable", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func clusterErr(err error) error {
	switch {
	case errors.Is(err, consensus.ErrUnknownNode):
		return errf(http.StatusNotFound, "unknown_node", "%v: not in the store's configuration (already removed, e.g. by an earlier call whose answer was lost? see palmctl members)", err)
	case errors.Is(err, consensus.ErrWrongStore):
		return errf(http.StatusConflict, "wrong_store", "%v", err)
	case errors.Is(err, consensus.ErrNotLeader), errors.Is(err, consensus.ErrNoLeader):
		return errf(http.StatusServiceUnavailable, "no_leader", "%v", err)
	}
	return errf(http.StatusBadGateway, "cluster", "%v", err)
}

// leaderOnly runs h on the leader: a follower relays the request to the leader's API once (the
// relayed request carries a header so it is never relayed again).
func (n *Node) leaderOnly(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.cluster.IsLeader() {
			h(w, r)
			return
		}
		if r.Header.Get("X-Palmtill-Relayed") != "" {
			writeErr(w, http.StatusServiceUnavailable, "no_leader", "leadership moved while the request was relayed: retry")
			return
		}
		l, ok := n.cluster.Leader()
		if !ok || l.APIAddr == "" {
			writeErr(w, http.StatusServiceUnavailable, "no_leader", "the store has no leader right now: retry in a few seconds")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			writeErr(w, http.StatusBadRequest, "bad_request", err.Error())
			return
		}
		req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+l.APIAddr+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			writeAPIErr(w, err)
			return
		}
		req.Header = r.Header.Clone()
		req.Header.Set("X-Palmtill-Relayed", n.ID())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			writeErr(w, http.StatusBadGateway, "leader_unreachable", "leader "+l.ID+" unreachable: "+err.Error())
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})
}
