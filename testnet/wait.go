package testnet

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/palmtill/palmtill/node"
)

// httpClient is the client used to talk to kiosks: generous per-request timeout (a checkout may
// wait for a leader election), keep-alives for speed.
func httpClient() *http.Client {
	return &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
}

// WaitFor polls cond every 25 ms until it returns true, or fails with what it last said once
// timeout has passed.
func WaitFor(timeout time.Duration, what string, cond func() (bool, string)) error {
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, why := cond()
		if ok {
			return nil
		}
		last = why
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s: %s", timeout, what, last)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func waitHTTP(url string, timeout time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	return WaitFor(timeout, url, func() (bool, string) {
		resp, err := c.Get(url)
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
}

func status(k *Kiosk) (node.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return k.Client.Status(ctx)
}

// WaitLeader waits until every given running kiosk agrees on one leader, and returns it.
func (s *Store) WaitLeader(timeout time.Duration, ks ...*Kiosk) (*Kiosk, error) {
	if len(ks) == 0 {
		ks = s.Kiosks
	}
	var leader *Kiosk
	err := WaitFor(timeout, "one leader", func() (bool, string) {
		ids := map[string]bool{}
		for _, k := range ks {
			st, err := status(k)
			if err != nil {
				return false, k.Name + ": " + err.Error()
			}
			if st.Leader == nil {
				return false, k.Name + " knows no leader"
			}
			ids[st.Leader.APIAddr] = true
		}
		if len(ids) != 1 {
			return false, fmt.Sprintf("kiosks disagree on the leader: %v", ids)
		}
		for addr := range ids {
			for _, k := range ks {
				if k.HTTPAddr == addr {
					leader = k
				}
			}
		}
		return leader != nil, "the leader they name is not among the kiosks asked (stale after a kill?)"
	})
	return leader, err
}

// WaitVoters waits until the leader reports n voters in the Raft configuration.
func (s *Store) WaitVoters(timeout time.Duration, n int, via *Kiosk) error {
	return WaitFor(timeout, fmt.Sprintf("%d voters", n), func() (bool, string) {
		st, err := status(via)
		if err != nil {
			return false, err.Error()
		}
		v := 0
		for _, m := range st.Members {
			if m.Suffrage == "voter" {
				v++
			}
		}
		return v == n, fmt.Sprintf("%d voters", v)
	})
}

// WaitCaughtUp waits until every given kiosk has applied at least index.
func (s *Store) WaitCaughtUp(timeout time.Duration, index uint64, ks ...*Kiosk) error {
	return WaitFor(timeout, fmt.Sprintf("applied index %d everywhere", index), func() (bool, string) {
		for _, k := range ks {
			st, err := status(k)
			if err != nil {
				return false, k.Name + ": " + err.Error()
			}
			if st.Raft.AppliedIndex < index {
				return false, fmt.Sprintf("%s applied %d", k.Name, st.Raft.AppliedIndex)
			}
		}
		return true, ""
	})
}
