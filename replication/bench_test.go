package replication

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// cpuClock returns the process's user+system CPU time, to report CPU per
// charge: on a shared machine wall time mostly measures the neighbours.
func cpuClock() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func report(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "charges/s")
	b.ReportMetric(float64(cpuClock()-cpu0)/float64(b.N), "cpu-ns/charge")
}

// benchCharges builds n charge commands over 100 enrolled customers.
func benchSetup(b *testing.B, n int) (*FSM, []*raft.Log, uint64) {
	b.Helper()
	f := newFSM(b, func(c *Config) { c.EncryptAtRest = os.Getenv("BENCH_PLAIN") == "" })
	idx := uint64(1)
	for i := range 100 {
		id := fmt.Sprintf("cust-%03d", i)
		f.Apply(entry(idx, mustEnrol(b, f, id, "e-"+id)))
		idx++
	}
	logs := make([]*raft.Log, n)
	for i := range logs {
		logs[i] = entry(idx+uint64(i), mustCharge(b, Charge{ChargeID: fmt.Sprintf("ch-%09d", i),
			CustomerID: fmt.Sprintf("cust-%03d", i%100), IdempotencyKey: fmt.Sprintf("idem-%09d", i), AmountMinor: int64(100 + i%900)}))
	}
	return f, logs, idx
}

// BenchmarkApplyCharge applies one charge per Apply call (one Badger
// transaction each).
func BenchmarkApplyCharge(b *testing.B) {
	f, logs, _ := benchSetup(b, b.N)
	b.ResetTimer()
	cpu0 := cpuClock()
	for i := 0; i < b.N; i++ {
		f.Apply(logs[i])
	}
	b.StopTimer()
	report(b, cpu0)
	if st := f.Stats(); st.Charges != b.N {
		b.Fatalf("applied %d charges, want %d", st.Charges, b.N)
	}
}

// BenchmarkApplyBatch applies charges in raft-sized batches (64, raft's
// default MaxAppendEntries) through ApplyBatch.
func BenchmarkApplyBatch(b *testing.B) {
	for _, size := range []int{64, 512} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			f, logs, _ := benchSetup(b, b.N)
			b.ResetTimer()
			cpu0 := cpuClock()
			for i := 0; i < b.N; i += size {
				f.ApplyBatch(logs[i:min(i+size, b.N)])
			}
			b.StopTimer()
			report(b, cpu0)
			if st := f.Stats(); st.Charges != b.N {
				b.Fatalf("applied %d charges, want %d", st.Charges, b.N)
			}
		})
	}
}

// BenchmarkEncodeEnrol measures sealing two 4 KiB templates.
func BenchmarkEncodeEnrol(b *testing.B) {
	f := newFSM(b)
	tpl := [][]byte{make([]byte, 4096), make([]byte, 4096)}
	for i := 0; i < b.N; i++ {
		if _, err := f.EncodeEnrol(Enrol{CustomerID: "c", CardToken: "tok", Templates: tpl, Kiosk: "k", At: t0, IdempotencyKey: "k"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSnapshotPersist streams a state of 100 customers and 20k charges.
func BenchmarkSnapshotPersist(b *testing.B) {
	f, logs, _ := benchSetup(b, 20000)
	for i := 0; i < len(logs); i += 256 {
		f.ApplyBatch(logs[i:min(i+256, len(logs))])
	}
	b.ResetTimer()
	var size int
	for i := 0; i < b.N; i++ {
		size = len(snapshotBytes(b, f))
	}
	b.ReportMetric(float64(size), "bytes/snapshot")
}
