package matchcore

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// randomTemplate makes a synthetic template of the default geometry with
// random code bits and about 80% reliable bits.
func randomTemplate(rng *rand.Rand) *Template {
	c := DefaultExtractorConfig()
	G, O := c.Grid, c.Orientations
	pw := planesWords(O)
	wpp := coarseWords(c.CoarseGrid)
	t := &Template{rows: G, cols: G, planes: O, code: make([]uint64, G*pw), mask: make([]uint64, G*pw), coarse: make([]uint64, 2*O*wpp)}
	for r := 0; r < G; r++ {
		for w := 0; w < pw; w++ {
			m := wordMask(G, 2*w+1 < O) & (rng.Uint64() | rng.Uint64() | rng.Uint64())
			t.mask[r*pw+w] = m
			t.code[r*pw+w] = rng.Uint64() & m
		}
	}
	for i := 0; i < O*wpp; i++ {
		m := rng.Uint64() | rng.Uint64() | rng.Uint64()
		t.coarse[O*wpp+i] = m
		t.coarse[i] = rng.Uint64() & m
	}
	return t
}

// randomProbe is randomTemplate with as many random pose variants as the
// default extractor makes.
func randomProbe(rng *rand.Rand) *Template {
	t := randomTemplate(rng)
	for i := 0; i < DefaultExtractorConfig().variants(); i++ {
		v := randomTemplate(rng)
		t.variants = append(t.variants, variant{code: v.code, mask: v.mask, coarse: v.coarse})
	}
	return t
}

func BenchmarkExtract(b *testing.B) {
	ex := mustExtractor(b)
	img := synthPalm(1, 5, 0, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ex.Extract(img); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompare(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	x, y := randomProbe(rng), randomTemplate(rng)
	for b.Loop() {
		Compare(x, y)
	}
}

// BenchmarkIdentify is one probe (with its pose variants) against galleries
// of random templates with the default configuration: the coarse pass on
// the probe's canonical pose and its two rotations (CoarsePoses 3; this
// was BenchmarkIdentifyRotatedCoarse while the default was 1).
func BenchmarkIdentify(b *testing.B) {
	benchmarkIdentify(b, DefaultGalleryConfig(), []int{1000, 10000, 100000, 1000000})
}

// BenchmarkIdentifyCanonicalCoarse is BenchmarkIdentify with the coarse
// pass on the probe's canonical pose only (CoarsePoses 1, the default
// before the vector kernels).
func BenchmarkIdentifyCanonicalCoarse(b *testing.B) {
	cfg := DefaultGalleryConfig()
	cfg.CoarsePoses = 1
	benchmarkIdentify(b, cfg, []int{100000, 1000000})
}

func benchmarkIdentify(b *testing.B, cfg GalleryConfig, sizes []int) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(uint64(n), 3))
			runtime.GC()
			var ms0 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			before := ms0.HeapAlloc
			g, err := NewGallery(cfg)
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < n; i++ {
				if err := g.Add(fmt.Sprint(i), randomTemplate(rng)); err != nil {
					b.Fatal(err)
				}
			}
			probe := randomProbe(rng)
			b.ResetTimer()
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			perTemplate := float64(ms.HeapAlloc-before) / float64(n)
			for b.Loop() {
				g.Identify(probe)
			}
			b.ReportMetric(perTemplate, "heap-B/template")
		})
	}
}

// BenchmarkMemoryBandwidth reads a 256 MiB slab on all cores, as the coarse
// pass does, to give the machine's read bandwidth (MB/s column) that the
// search is compared against in DESIGN.md.
func BenchmarkMemoryBandwidth(b *testing.B) {
	slab := make([]uint64, 32<<20)
	for i := range slab {
		slab[i] = uint64(i)
	}
	g, _ := NewGallery(DefaultGalleryConfig())
	b.SetBytes(int64(8 * len(slab)))
	var sink [64]uint64
	for b.Loop() {
		g.parallel(len(slab), 1, func(lo, hi int) {
			var s uint64
			for _, v := range slab[lo:hi] {
				s += v
			}
			sink[lo*64/len(slab)] = s
		})
	}
	_ = sink
}

// BenchmarkScoreCandidate is the exact stage's cost per candidate: a probe
// with all its pose variants, prepared once, against one gallery template.
func BenchmarkScoreCandidate(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	ps := preparePoses(randomProbe(rng))
	y := randomTemplate(rng)
	for b.Loop() {
		ps.score(y)
	}
}

// BenchmarkCoarseKernel is the coarse pass's scoring alone, on one core, on
// a slab of 4096 templates (768 KB, cache-resident): ns/template per probe
// pose tried (9 shifts each).
func BenchmarkCoarseKernel(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	ts := make([]*Template, 4096)
	for i := range ts {
		ts[i] = randomTemplate(rng)
	}
	slab, cw := buildSlab(ts)
	probe := randomProbe(rng)
	out := make([]float32, len(slab)/cw)
	for _, poses := range []int{1, 3} {
		q := newCoarseQuery(probe, poses)
		ref := newCoarseProbe(probe, poses)
		for _, impl := range []string{"kernel", "avx2", "go", "reference"} {
			if impl == "avx2" && !haveCoarseAVX2 {
				continue
			}
			b.Run(fmt.Sprintf("poses=%d/%s", poses, impl), func(b *testing.B) {
				for b.Loop() {
					switch impl {
					case "go":
						q.scoreBlocksGo(slab, out)
					case "avx2":
						coarseBlocks24AVX2(&slab[0], len(slab)/(cw*coarseLanes), &q.pm[0], &q.cnt[0], &q.inv[0], q.shifts, &out[0])
					case "reference": // the contiguous layout before the kernel
						for i, t := range ts {
							out[i] = ref.score(t.coarse[:cw])
						}
					default:
						q.scoreBlocks(slab, out)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ts)*poses), "ns/template-pose")
			})
		}
	}
}

// BenchmarkExactSample is the exact stage's first-stage kernels alone (all
// 9 poses x 49 shifts of one candidate), where the CPU has them.
func BenchmarkExactSample(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	set := preparePoses(randomProbe(rng))
	if set.vec == nil {
		b.Skip("no exact-stage kernel on this CPU")
	}
	y := randomTemplate(rng)
	var gal [vecShifts * 2 * vecWords]uint64
	for d := 0; d < vecShifts; d++ {
		for i := 0; i < 7; i++ {
			g := (d + i*sampleRows) * 3
			copy(gal[d*2*vecWords+3*i:], y.code[g:g+3])
			copy(gal[d*2*vecWords+vecWords+3*i:], y.mask[g:g+3])
		}
	}
	out := make([]float32, vecMaxPoses*vecShifts*8)
	for _, k := range []struct {
		name string
		ok   bool
		f    func(gal *uint64, probe *uint64, poses int, inv *float32, out *float32)
	}{{"avx512", haveExactAsm, exactSample}, {"avx2", haveExactAVX2, exactSampleAVX2}} {
		b.Run(k.name, func(b *testing.B) {
			if !k.ok {
				b.Skip("not on this CPU")
			}
			for b.Loop() {
				k.f(&gal[0], &set.vec[0], len(set.ps), &invSqrt[0], &out[0])
			}
		})
	}
}
