package scanner_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/palmtill/palmtill/scanner"
	"github.com/palmtill/palmtill/scanner/sim"
)

// BenchmarkProcess measures the capture pipeline on one 640×480 simulated
// frame (the target is ≤ 15 ms on one core). cpu-ms/op is the process's CPU
// time per frame, steadier than wall time on a shared machine; run with
// -cpu 1 for the one-core figure.
func BenchmarkProcess(b *testing.B) {
	p, err := scanner.NewPipeline(scanner.DefaultPipelineConfig())
	if err != nil {
		b.Fatal(err)
	}
	frames := make([]scanner.Frame, 8)
	for i := range frames {
		frames[i] = scanner.Frame{Image: sim.RenderHand(uint64(i+1), i, sim.DefaultConfig())}
	}
	start := cpuTime()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := p.Process(frames[i%len(frames)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-start).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
