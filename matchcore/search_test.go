package matchcore

import (
	"fmt"
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
			for i, tp := range ts {
				want := ref.score(tp.coarse[:cw])
				if got[i] != want || gotGo[i] != want {
					t.Fatalf("template %d: kernel %v, Go %v, reference %v (asm %v)", i, got[i], gotGo[i], want, haveCoarseAsm)
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
