package sim

import (
	"syscall"
	"testing"
	"time"

	"github.com/palmtill/palmtill/scanner"
)

// BenchmarkRenderHand measures rendering one 640×480 capture of a cached
// identity.
func BenchmarkRenderHand(b *testing.B) {
	cfg := DefaultConfig()
	RenderHand(7, 0, cfg)
	b.ResetTimer()
	defer cpuPerOp(b)()
	for i := 0; b.Loop(); i++ {
		RenderHand(7, i, cfg)
	}
}

// BenchmarkNewIdentity measures building a new identity's hand and palm.
func BenchmarkNewIdentity(b *testing.B) {
	defer cpuPerOp(b)()
	for i := 0; b.Loop(); i++ {
		buildIdentity(uint64(i) + 1<<40)
	}
}

// BenchmarkPipelineSim measures the capture pipeline on a sim frame.
func BenchmarkPipelineSim(b *testing.B) {
	p, err := scanner.NewPipeline(scanner.DefaultPipelineConfig())
	if err != nil {
		b.Fatal(err)
	}
	f := scanner.Frame{Image: RenderHand(7, 0, DefaultConfig())}
	defer cpuPerOp(b)()
	for b.Loop() {
		if _, err := p.Process(f); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuPerOp reports the process CPU time per operation as cpu-ms/op: on a
// shared, loaded machine it is steadier than wall time.
func cpuPerOp(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric(float64((cpuTime()-start).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
