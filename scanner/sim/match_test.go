package sim

import (
	"context"
	"testing"

	"github.com/palmtill/palmtill/matchcore"
	"github.com/palmtill/palmtill/scanner"
)

// TestSimIdentifies is the demo's path end to end: sim captures → pipeline →
// ROI → matchcore template, enrolling three captures per person as the node
// does. Each person's later capture must score highest against their own
// enrolment, and at most 3 of 20 may fall below matchcore's threshold (the
// simulator is as hard as real palms: with three enrolled captures and one
// probe, 4% of simulated and 2.7% of Tongji genuine scores fall below
// matchcore's threshold of the day, 0.48); a person never enrolled must
// never reach the threshold.
func TestSimIdentifies(t *testing.T) {
	if raceEnabled {
		t.Skip("single-goroutine image computation, slow under -race; runs without it")
	}
	const people = 20
	drv, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := drv.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { drv.Close() })
	p, err := scanner.NewPipeline(scanner.DefaultPipelineConfig())
	if err != nil {
		t.Fatal(err)
	}
	ex, err := matchcore.NewExtractor(matchcore.DefaultExtractorConfig())
	if err != nil {
		t.Fatal(err)
	}
	capture := func(id uint64) *matchcore.Template {
		t.Helper()
		drv.Present(id)
		res, err := p.Capture(ctx, drv, 5)
		if err != nil {
			t.Fatalf("identity %d: capture: %v (guidance %q)", id, err, res.Guidance)
		}
		tm, err := ex.Extract(res.ROI)
		if err != nil {
			t.Fatalf("identity %d: extract: %v", id, err)
		}
		return tm
	}
	enrolled := make([][]*matchcore.Template, people)
	for i := range enrolled {
		for k := 0; k < 3; k++ {
			enrolled[i] = append(enrolled[i], capture(uint64(1000+i)))
		}
	}
	score := func(probe *matchcore.Template, e []*matchcore.Template) float64 {
		best := 0.0
		for _, x := range e {
			best = max(best, matchcore.Compare(probe, x))
		}
		return best
	}
	below := 0
	var gen, imp []float64
	for i := 0; i < people; i++ {
		probe := capture(uint64(1000 + i))
		best, bestJ := -1.0, -1
		for j, e := range enrolled {
			s := score(probe, e)
			if j == i {
				gen = append(gen, s)
			} else {
				imp = append(imp, s)
			}
			if s > best {
				best, bestJ = s, j
			}
		}
		t.Logf("person %d: genuine %.3f best %d %.3f", i, gen[len(gen)-1], bestJ, best)
		if bestJ != i {
			t.Errorf("person %d identified as %d (score %.3f)", i, bestJ, best)
		}
		if best < matchcore.DefaultThreshold {
			below++
			t.Logf("person %d: genuine score %.3f below threshold %.3f", i, best, matchcore.DefaultThreshold)
		}
	}
	if below > 3 {
		t.Errorf("%d of %d genuine captures below the threshold", below, people)
	}
	// A person never enrolled must not match anyone.
	for k := 0; k < people; k++ {
		stranger := capture(uint64(5000 + k))
		for j, e := range enrolled {
			s := score(stranger, e)
			imp = append(imp, s)
			if s >= matchcore.DefaultThreshold {
				t.Errorf("stranger %d matched person %d with score %.3f", k, j, s)
			}
		}
	}
	t.Logf("genuine: %s", summary(gen))
	t.Logf("impostor: %s", summary(imp))
}
