package matchcore

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestShiftBoardInto(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, side := range []int{8, 16} {
		for dy := -3; dy <= 3; dy++ {
			for dx := -3; dx <= 3; dx++ {
				t.Run(fmt.Sprintf("side%d/dx%d/dy%d", side, dx, dy), func(t *testing.T) {
					for range 20 {
						src := make([]uint64, coarseWords(side))
						for i := range src {
							src[i] = rng.Uint64()
						}
						got := make([]uint64, len(src))
						shiftBoardInto(got, src, side, dx, dy)
						if want := shiftBoard(src, side, dx, dy); !slices.Equal(got, want) {
							t.Fatalf("got %x want %x", got, want)
						}
					}
				})
			}
		}
	}
}

// buildSlab lays out the coarse code words of ts as a Gallery does.
func buildSlab(ts []*Template) ([]uint64, int) {
	cw := len(ts[0].coarse) / 2
	nb := (len(ts) + coarseLanes - 1) / coarseLanes
	slab := make([]uint64, nb*cw*coarseLanes)
	for i, t := range ts {
		slabPut(slab, cw, i, t.coarse[:cw])
	}
	return slab, cw
}

// TestCoarseScoreBlocks checks that the block kernels (assembly where the
// CPU has it, and Go) give exactly the scores of the reference
// coarseProbe.score, for random codes, partial blocks and 1, 3 and 9 poses,
// and for an 8x8 coarse grid (Go path only).
func TestCoarseScoreBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	small := func(tp *Template) { // 8x8 boards: keep one word per plane
		O := tp.planes
		if len(tp.coarse) == 2*O {
			return
		}
		c := make([]uint64, 2*O)
		for o := 0; o < 2*O; o++ {
			c[o] = tp.coarse[o*4]
		}
		tp.coarse = c
		for i := range tp.variants {
			v := &tp.variants[i]
			vc := make([]uint64, 2*O)
			for o := 0; o < 2*O; o++ {
				vc[o] = v.coarse[o*4]
			}
			v.coarse = vc
		}
	}
	for _, c := range []struct {
		name  string
		n     int
		poses int
		side8 bool
	}{
		{"n1", 1, 1, false}, {"n7", 7, 1, false}, {"n8", 8, 1, false}, {"n45-poses3", 45, 3, false},
		{"n64-poses9", 64, 9, false}, {"n300", 300, 1, false}, {"side8-n21", 21, 3, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts := make([]*Template, c.n)
			for i := range ts {
				ts[i] = randomTemplate(rng)
				if i%5 == 0 { // near-duplicates and extreme words
					ts[i].coarse = slices.Clone(ts[0].coarse)
				}
				if c.side8 {
					small(ts[i])
				}
			}
			ts[c.n-1].coarse = make([]uint64, len(ts[0].coarse)) // all zero
			probe := randomProbe(rng)
			if c.side8 {
				small(probe)
			}
			slab, cw := buildSlab(ts)
			q := newCoarseQuery(probe, c.poses)
			ref := newCoarseProbe(probe, c.poses)
			got := make([]float32, len(slab)/cw)
			gotGo := make([]float32, len(slab)/cw)
			q.scoreBlocks(slab, got)
			q.scoreBlocksGo(slab, gotGo)
			gotAVX2 := slices.Clone(gotGo)
			if haveCoarseAVX2 && q.n == 24 {
				coarseBlocks24AVX2(&slab[0], len(slab)/(cw*coarseLanes), &q.pm[0], &q.cnt[0], &q.inv[0], q.shifts, &gotAVX2[0])
			}
			for i, tp := range ts {
				want := ref.score(tp.coarse[:cw])
				if got[i] != want || gotGo[i] != want || gotAVX2[i] != want {
					t.Fatalf("template %d: kernel %v, Go %v, AVX2 %v, reference %v (AVX-512 %v, AVX2 %v)",
						i, got[i], gotGo[i], gotAVX2[i], want, haveCoarseAsm, haveCoarseAVX2)
				}
			}
		})
	}
}

func TestSlabPutGet(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const n, cw = 21, 24
	slab := make([]uint64, 3*cw*coarseLanes)
	want := make([][]uint64, n)
	for i := range want {
		want[i] = make([]uint64, cw)
		for w := range want[i] {
			want[i][w] = rng.Uint64()
		}
		slabPut(slab, cw, i, want[i])
	}
	for i := range want {
		if got := slabGet(slab, cw, i); !slices.Equal(got, want[i]) {
			t.Fatalf("template %d: %x want %x", i, got, want[i])
		}
	}
}

// sparseTemplate is randomTemplate with some rows' masks cleared (so some
// alignments compare no bits) and the rest dense or sparse.
func sparseTemplate(rng *rand.Rand, emptyEvery int) *Template {
	t := randomTemplate(rng)
	pw := planesWords(t.planes)
	for r := 0; r < t.rows; r++ {
		if r%emptyEvery == 0 {
			for w := 0; w < pw; w++ {
				t.code[r*pw+w], t.mask[r*pw+w] = 0, 0
			}
		}
	}
	return t
}

// TestExactKernels checks the exact stage's vector kernels against the Go
// loops bit for bit: shiftedDiff against diffGo for every shift, the first
// stage's per-alignment scores of exactSample against the Go formula, and
// poseSet.score with and without the kernel (also on Compare's symmetric
// path).
func TestExactKernels(t *testing.T) {
	if !haveExactAsm && !haveExactAVX2 {
		t.Skip("no exact-stage kernel on this CPU")
	}
	rng := rand.New(rand.NewPCG(21, 22))
	type pair struct {
		name string
		a, b *Template
	}
	var pairs []pair
	for i := range 6 {
		pairs = append(pairs, pair{fmt.Sprint("random", i), randomProbe(rng), randomTemplate(rng)})
	}
	same := randomProbe(rng)
	pairs = append(pairs,
		pair{"identical", same, same.canonical()},
		pair{"sparse-gallery", randomProbe(rng), sparseTemplate(rng, 2)},
		pair{"empty-rows", randomProbe(rng), sparseTemplate(rng, 1)},
		pair{"no-variants", randomTemplate(rng), randomTemplate(rng)},
	)
	for _, c := range pairs {
		t.Run(c.name, func(t *testing.T) {
			set := preparePoses(c.a)
			if set.vec == nil {
				t.Fatal("no kernel layout for the default geometry")
			}
			b := c.b
			for pi, p := range set.ps {
				if !haveExactAsm {
					break
				}
				pw := planesWords(p.t.planes)
				for dy := -p.s; dy <= p.s; dy++ {
					for k := 0; k <= 2*p.s; k++ {
						dx := k - p.s
						r0, r1 := max(0, -dy), min(p.t.rows, p.t.rows-dy)
						ac, am := p.t.code[r0*pw:r1*pw], p.t.mask[r0*pw:r1*pw]
						bc, bm := b.code[(r0+dy)*pw:(r1+dy)*pw], b.mask[(r0+dy)*pw:(r1+dy)*pw]
						wd, wn := diffGo(ac, am, bc, bm, dx, p.colMask)
						var shl, shr uint64
						if dx >= 0 {
							shl = uint64(dx)
						} else {
							shr = uint64(-dx)
						}
						if gd, gn := shiftedDiff(&ac[0], &am[0], &bc[0], &bm[0], len(ac), shl, shr, p.colMask); gd != wd || gn != wn {
							t.Fatalf("pose %d dy %d dx %d: shiftedDiff %d/%d, Go %d/%d", pi, dy, dx, gd, gn, wd, wn)
						}
					}
				}
			}
			// First stage, alignment by alignment.
			p0 := set.ps[0]
			pw := planesWords(p0.t.planes)
			var gal [vecShifts * 2 * vecWords]uint64
			for d := 0; d < vecShifts; d++ {
				o := d * 2 * vecWords
				for i := 0; i < p0.nSample; i++ {
					g := (d + i*sampleRows) * pw
					copy(gal[o+i*pw:], b.code[g:g+pw])
					copy(gal[o+vecWords+i*pw:], b.mask[g:g+pw])
				}
			}
			var kernels []func(out []float32)
			if haveExactAsm {
				kernels = append(kernels, func(out []float32) {
					exactSample(&gal[0], &set.vec[0], len(set.ps), &invSqrt[0], &out[0])
				})
			}
			if haveExactAVX2 {
				kernels = append(kernels, func(out []float32) {
					exactSampleAVX2(&gal[0], &set.vec[0], len(set.ps), &invSqrt[0], &out[0])
				})
			}
			for ki, kernel := range kernels {
				out := make([]float32, len(set.ps)*vecShifts*8)
				kernel(out)
				for pi, p := range set.ps {
					for d := 0; d < vecShifts; d++ {
						base := d * pw
						for k, sm := range p.sample {
							diff, n := 0, 0
							for i := 0; i < p.nSample; i++ {
								for w := 0; w < pw; w++ {
									g := base + i*sampleRows*pw + w
									m := sm[(i*pw+w)*2+1] & b.mask[g]
									n += bits.OnesCount64(m)
									diff += bits.OnesCount64((sm[(i*pw+w)*2] ^ b.code[g]) & m)
								}
							}
							want := float32(-1e30)
							if n > 0 {
								want = float32(n-2*diff) * invSqrtN(n)
							}
							if got := out[(pi*vecShifts+d)*8+k]; got != want {
								t.Fatalf("kernel %d: pose %d dy %d k %d: %v, Go %v (n %d diff %d)", ki, pi, d-p.s, k, got, want, n, diff)
							}
						}
						grp := out[(pi*vecShifts+d)*8 : (pi*vecShifts+d)*8+8]
						if mx := slices.Max(grp[:7]); grp[7] != mx {
							t.Fatalf("kernel %d: group max lane %v, max %v", ki, grp[7], mx)
						}
					}
				}
			}
			goSet := set
			goSet.vec = nil
			if got, want := set.score(b), goSet.score(b); got != want {
				t.Fatalf("score with kernel %v, Go %v", got, want)
			}
		})
	}
}

// geomTemplate is a random template of the given geometry with 0-2 pose
// variants.
func geomTemplate(rng *rand.Rand, rows, cols, planes, variants int) *Template {
	pw := planesWords(planes)
	mk := func() ([]uint64, []uint64) {
		code, mask := make([]uint64, rows*pw), make([]uint64, rows*pw)
		for i := range code {
			mask[i] = wordMask(cols, 2*(i%pw)+1 < planes) & (rng.Uint64() | rng.Uint64())
			code[i] = rng.Uint64() & mask[i]
		}
		return code, mask
	}
	t := &Template{rows: rows, cols: cols, planes: planes}
	t.code, t.mask = mk()
	for range variants {
		c, m := mk()
		t.variants = append(t.variants, variant{code: c, mask: m})
	}
	return t
}

// TestExactKernelsGeometry checks the exact stage with the kernels against
// the Go search on other grid sizes and plane counts (the kernel pads the
// sampled words to 24 when fewer are used, and is not used when more).
func TestExactKernelsGeometry(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, g := range []struct{ rows, cols, planes int }{
		{16, 16, 6}, {32, 32, 8}, {24, 20, 3}, {32, 32, 10}, {8, 8, 1},
	} {
		t.Run(fmt.Sprintf("%dx%dx%d", g.rows, g.cols, g.planes), func(t *testing.T) {
			for i := range 5 {
				a := geomTemplate(rng, g.rows, g.cols, g.planes, i%3)
				b := geomTemplate(rng, g.rows, g.cols, g.planes, i%2)
				for _, c := range [][2]*Template{{a, b}, {b, a}, {a, a.canonical()}} {
					set := preparePoses(c[0])
					goSet := set
					goSet.vec = nil
					got, want := set.score(c[1]), goSet.score(c[1])
					if got != want {
						t.Fatalf("score %v, Go %v (kernel layout %v)", got, want, set.vec != nil)
					}
				}
			}
		})
	}
}
