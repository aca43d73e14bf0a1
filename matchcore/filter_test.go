package matchcore

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestFilter6x2MatchesFilter6(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const P, side = 40, 9
	img := make([]float32, P*P)
	for i := range img {
		img[i] = rng.Float32()
	}
	bank := make([]float32, side*side*6)
	for i := range bank {
		bank[i] = rng.Float32() - 0.5
	}
	o0, o1 := 3*P+4, 5*P+7
	var pair [12]float32
	filter6x2(img, o0, o1, P, side, bank, pair[:])
	var a, b [6]float32
	filter6(img[o0:], P, side, bank, a[:])
	filter6(img[o1:], P, side, bank, b[:])
	for i := 0; i < 6; i++ {
		if math.Abs(float64(pair[i]-a[i])) > 1e-4 || math.Abs(float64(pair[6+i]-b[i])) > 1e-4 {
			t.Fatalf("orientation %d: pair %v,%v single %v,%v", i, pair[i], pair[6+i], a[i], b[i])
		}
	}
}

func TestFilterWindows8MatchesGo(t *testing.T) {
	if !haveFilter8x8 {
		t.Skip("no assembly filter kernel on this CPU/platform")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	cases := []struct{ P, side, O, n int }{
		{40, 9, 6, 16}, {40, 9, 6, 13}, {90, 17, 6, 37}, {30, 3, 8, 8}, {30, 5, 1, 3},
	}
	for _, tc := range cases {
		img := make([]float32, tc.P*tc.P)
		for i := range img {
			img[i] = rng.Float32()*4 - 2
		}
		bank := make([]float32, tc.side*tc.side*tc.O)
		for i := range bank {
			bank[i] = rng.Float32() - 0.5
		}
		offs := make([]int, tc.n)
		for i := range offs {
			offs[i] = rng.IntN(tc.P-tc.side+1)*tc.P + rng.IntN(tc.P-tc.side+1)
		}
		got := make([]float32, tc.n*tc.O)
		filterWindows8(img, offs, tc.P, tc.side, bank8(bank, tc.O), tc.O, got)
		for i, o := range offs {
			for k := 0; k < tc.O; k++ {
				var want float64
				for ky := 0; ky < tc.side; ky++ {
					for kx := 0; kx < tc.side; kx++ {
						want += float64(img[o+ky*tc.P+kx]) * float64(bank[(ky*tc.side+kx)*tc.O+k])
					}
				}
				if d := math.Abs(want - float64(got[i*tc.O+k])); d > 1e-4*(1+math.Abs(want)) {
					t.Fatalf("P%d side%d O%d window %d filter %d: got %v want %v", tc.P, tc.side, tc.O, i, k, got[i*tc.O+k], want)
				}
			}
		}
	}
}

func TestFilterWindows8RejectsOutside(t *testing.T) {
	if !haveFilter8x8 {
		t.Skip("no assembly filter kernel on this CPU/platform")
	}
	img := make([]float32, 20*20)
	bank := bank8(make([]float32, 5*5*6), 6)
	for _, off := range []int{-1, 16, 16*20 + 1, 20*20 - 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("offset %d: no panic", off)
				}
			}()
			filterWindows8(img, []int{off}, 20, 5, bank, 6, make([]float32, 6))
		}()
	}
}

func TestKthSmallestMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{1, 2, 3, 7, 64, 256, 1024} {
		for trial := 0; trial < 20; trial++ {
			v := make([]float32, n)
			for i := range v {
				v[i] = float32(rng.IntN(max(2, n/3))) // many ties
				if trial%2 == 0 {
					v[i] = rng.Float32()
				}
			}
			sorted := slices.Clone(v)
			slices.Sort(sorted)
			for _, k := range []int{rng.IntN(n), n / 5, 0, n - 1} {
				if got := kthSmallest(slices.Clone(v), k); got != sorted[k] {
					t.Fatalf("kthSmallest n %d k %d: got %v want %v", n, k, got, sorted[k])
				}
				keys := make([]uint32, n)
				for i, x := range v {
					keys[i] = math.Float32bits(x)
				}
				orig := slices.Clone(keys)
				if got := selectKth(keys, k, make([]uint32, n)); got != math.Float32bits(sorted[k]) || !slices.Equal(keys, orig) {
					t.Fatalf("selectKth n %d k %d: got %v want %v (input changed: %v)", n, k, math.Float32frombits(got), sorted[k], !slices.Equal(keys, orig))
				}
			}
		}
	}
}
