package matchcore

import (
	"math"
	"math/rand/v2"
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
