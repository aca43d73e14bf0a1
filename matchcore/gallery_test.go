package matchcore

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestGalleryIdentify(t *testing.T) {
	for _, c := range []struct {
		name       string
		candidates int
	}{{"exact", 512}, {"coarse-pass", 4}} {
		t.Run(c.name, func(t *testing.T) { testGalleryIdentify(t, c.candidates) })
	}
}

func testGalleryIdentify(t *testing.T, candidates int) {
	cfg := DefaultGalleryConfig()
	cfg.MinParallel = 1 // exercise the parallel path on a small gallery
	cfg.Candidates = candidates
	g, err := NewGallery(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	for i := 0; i < n; i++ {
		err := g.Add(fmt.Sprint("id", i),
			synthTemplate(t, uint64(100+i), 0, 1),
			synthTemplate(t, uint64(100+i), 2, 2))
		if err != nil {
			t.Fatal(err)
		}
	}
	if g.Len() != n || g.Templates() != 2*n {
		t.Fatalf("Len %d Templates %d", g.Len(), g.Templates())
	}
	for i := 0; i < n; i++ {
		m, ok := g.Identify(synthTemplate(t, uint64(100+i), 3, 9))
		if !ok || m.ID != fmt.Sprint("id", i) {
			t.Fatalf("probe %d: got %+v ok=%v", i, m, ok)
		}
	}
	walkIn := synthTemplate(t, 999, 0, 1)
	if m, ok := g.Identify(walkIn); ok {
		t.Fatalf("walk-in matched %+v", m)
	}
	if best := g.Best(walkIn, 5); len(best) != 5 || best[0].Score < best[4].Score {
		t.Fatalf("Best: %+v", best)
	}
	// Replace id0 with another palm's captures; remove id1.
	if err := g.Add("id0", synthTemplate(t, 999, 1, 3)); err != nil {
		t.Fatal(err)
	}
	if m, ok := g.Identify(walkIn); !ok || m.ID != "id0" {
		t.Fatalf("after replace: %+v %v", m, ok)
	}
	if !g.Remove("id1") || g.Remove("id1") {
		t.Fatal("Remove result wrong")
	}
	if m, ok := g.Identify(synthTemplate(t, 101, 0, 5)); ok {
		t.Fatalf("removed id still matches: %+v", m)
	}
	if g.Len() != n-1 || g.Templates() != 2*n-3 {
		t.Fatalf("Len %d Templates %d", g.Len(), g.Templates())
	}
	for i := 2; i < n; i++ {
		m, ok := g.Identify(synthTemplate(t, uint64(100+i), 1, 11))
		if !ok || m.ID != fmt.Sprint("id", i) {
			t.Fatalf("after removals probe %d: got %+v", i, m)
		}
	}
}

func TestGalleryRejects(t *testing.T) {
	g, _ := NewGallery(DefaultGalleryConfig())
	ex := mustExtractor(t)
	tp := mustExtract(t, ex, synthPalm(1, 5, 0, 1))
	c := DefaultExtractorConfig()
	c.Grid = 16
	ex16, _ := NewExtractor(c)
	tp16 := mustExtract(t, ex16, synthPalm(1, 5, 0, 1))
	if err := g.Add("", tp); !errors.Is(err, ErrBadConfig) {
		t.Fatal(err)
	}
	if err := g.Add("a"); !errors.Is(err, ErrBadConfig) {
		t.Fatal(err)
	}
	if err := g.Add("a", &Template{}); !errors.Is(err, ErrBadTemplate) {
		t.Fatal(err)
	}
	if err := g.Add("a", tp); err != nil {
		t.Fatal(err)
	}
	if err := g.Add("b", tp16); !errors.Is(err, ErrIncompatible) {
		t.Fatal(err)
	}
	if ms := g.Best(tp16, 3); ms != nil {
		t.Fatalf("incompatible probe: %+v", ms)
	}
	if _, err := NewGallery(GalleryConfig{Threshold: 2}); !errors.Is(err, ErrBadConfig) {
		t.Fatal(err)
	}
}

func TestGalleryConcurrent(t *testing.T) {
	cfg := DefaultGalleryConfig()
	cfg.MinParallel = 1
	g, _ := NewGallery(cfg)
	ts := make([]*Template, 8)
	for i := range ts {
		ts[i] = synthTemplate(t, uint64(200+i), 0, 1)
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 50; k++ {
				i := (w + k) % len(ts)
				id := fmt.Sprint("p", i)
				switch k % 3 {
				case 0:
					if err := g.Add(id, ts[i]); err != nil {
						t.Error(err)
					}
				case 1:
					if m, ok := g.Identify(ts[i]); ok && m.ID != id {
						t.Errorf("identify %s got %s", id, m.ID)
					}
				case 2:
					g.Remove(id)
				}
			}
		}()
	}
	wg.Wait()
}

// TestCoarsePassReference checks the coarse pass against a brute-force
// ranking by the reference coarseProbe.score (ties to the lower index),
// over several chunks and workers, after removals have moved entries
// around the slab, and that the slab holds every entry's coarse words.
func TestCoarsePassReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	cfg := DefaultGalleryConfig()
	cfg.MinParallel = 1
	cfg.Workers = 3
	g, err := NewGallery(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const n = 2600 // > 2 chunks of coarseChunkBlocks*coarseLanes
	coarseOf := make(map[*uint64][]uint64)
	dup := randomTemplate(rng)
	for i := 0; i < n; i++ {
		tp := randomTemplate(rng)
		if i%97 == 0 { // equal coarse scores: exercise the tie rule
			tp.coarse = dup.coarse
		}
		coarseOf[&tp.code[0]] = tp.coarse
		if err := g.Add(fmt.Sprint(i%(n-40)), tp); err != nil { // ids re-added replace
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i += 13 {
		g.Remove(fmt.Sprint(i))
	}
	cw := len(dup.coarse) / 2
	for i, e := range g.ents {
		if got, want := slabGet(g.coarse, cw, i), coarseOf[&e.t.code[0]][:cw]; !slices.Equal(got, want) {
			t.Fatalf("slab entry %d: %x want %x", i, got, want)
		}
	}
	if len(g.coarse) != (len(g.ents)+coarseLanes-1)/coarseLanes*cw*coarseLanes {
		t.Fatalf("slab of %d words for %d entries", len(g.coarse), len(g.ents))
	}
	for _, poses := range []int{1, 3} {
		for _, budget := range []int{1, 50, 700} {
			t.Run(fmt.Sprintf("poses%d/budget%d", poses, budget), func(t *testing.T) {
				probe := randomProbe(rng)
				probe.coarse = dup.coarse
				ref := newCoarseProbe(probe, poses)
				idx := make([]int32, len(g.ents))
				sc := make([]float32, len(g.ents))
				for i, e := range g.ents {
					idx[i] = int32(i)
					sc[i] = ref.score(coarseOf[&e.t.code[0]][:cw])
				}
				slices.SortFunc(idx, func(a, b int32) int {
					if sc[a] != sc[b] {
						if sc[a] > sc[b] {
							return -1
						}
						return 1
					}
					return int(a - b)
				})
				want := slices.Clone(idx[:budget])
				slices.Sort(want)
				if got := g.coarsePass(probe, poses, budget); !slices.Equal(got, want) {
					t.Fatalf("coarse pass kept %v\nwant %v", got, want)
				}
			})
		}
	}
}

func TestGallerySampleNorm(t *testing.T) {
	probe := synthTemplate(t, 7, 3, 9)
	one := synthTemplate(t, 7, 0, 1)
	raw := Compare(probe, one)
	cases := []struct {
		name  string
		k     int
		slope float64
		want  float64
	}{
		{"one template", 1, DefaultSampleNorm, raw},
		{"ten copies", 10, DefaultSampleNorm, raw - DefaultSampleNorm*math.Log(10)},
		{"three copies", 3, DefaultSampleNorm, raw - DefaultSampleNorm*math.Log(3)},
		{"normalisation off", 10, 0, raw},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultGalleryConfig()
			cfg.SampleNorm = c.slope
			g, err := NewGallery(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ts := make([]*Template, c.k)
			for i := range ts {
				ts[i] = one
			}
			if err := g.Add("a", ts...); err != nil {
				t.Fatal(err)
			}
			ms := g.Best(probe, 1)
			if len(ms) != 1 || math.Abs(ms[0].Score-c.want) > 1e-9 {
				t.Fatalf("Best = %+v, want score %v (raw %v)", ms, c.want, raw)
			}
		})
	}
	cfg := DefaultGalleryConfig()
	cfg.SampleNorm = -0.01
	if _, err := NewGallery(cfg); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("negative SampleNorm: %v", err)
	}
}

func TestGalleryThresholdGrowsWithStore(t *testing.T) {
	cfg := DefaultGalleryConfig()
	cases := []struct {
		ids      int
		min, max float64
	}{
		{0, cfg.Threshold, cfg.Threshold},
		{1000, cfg.Threshold, cfg.Threshold},
		{100000, 0.52, 0.53},
		{1000000, 0.565, 0.58},
	}
	for _, c := range cases {
		if got := cfg.thresholdFor(c.ids); got < c.min || got > c.max {
			t.Errorf("%d ids: threshold %v, want in [%v,%v]", c.ids, got, c.min, c.max)
		}
	}
	off := cfg
	off.TargetFPIR = 0
	if got := off.thresholdFor(1000000); got != cfg.Threshold {
		t.Errorf("TargetFPIR 0: %v", got)
	}
	g, err := NewGallery(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Add("a", synthTemplate(t, 1, 0, 1)); err != nil {
		t.Fatal(err)
	}
	if g.Threshold() != cfg.Threshold {
		t.Errorf("Threshold() = %v with one id", g.Threshold())
	}
	for _, bad := range []func(*GalleryConfig){
		func(c *GalleryConfig) { c.TargetFPIR = -0.1 },
		func(c *GalleryConfig) { c.TargetFPIR = 1 },
		func(c *GalleryConfig) { c.Tail = TailFit{A: 1, B: -2} },
	} {
		c := DefaultGalleryConfig()
		bad(&c)
		if _, err := NewGallery(c); !errors.Is(err, ErrBadConfig) {
			t.Errorf("%+v: err %v, want ErrBadConfig", c, err)
		}
	}
}
