package consensus

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkApply measures one synced, replicated command on a 3-kiosk
// store, issued on the leader and forwarded from a follower.
func BenchmarkApply(b *testing.B) {
	log := newTestLog(b)
	nodes := startCluster(b, log, 3)
	leader := waitLeader(b, nodes, 10*time.Second)
	for _, bc := range []struct {
		name string
		node *testNode
	}{
		{"leader", leader},
		{"forwarded", followers(nodes)[0]},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := bc.node.c.Apply(ctx, []byte(fmt.Sprintf("%s-%d", bc.name, i)))
				cancel()
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
