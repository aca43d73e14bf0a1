package consensus

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestApplyForwarding(t *testing.T) {
	log := newTestLog(t)
	nodes := startCluster(t, log, 3)
	for _, f := range followers(nodes) {
		resp, err := f.c.Apply(ctxTimeout(t, 5*time.Second), []byte("hello-"+f.cfg.NodeID))
		if err != nil {
			t.Fatalf("Apply on follower %s: %v", f.cfg.NodeID, err)
		}
		if string(resp) != "ok:hello-"+f.cfg.NodeID {
			t.Fatalf("response %q", resp)
		}
	}
}
