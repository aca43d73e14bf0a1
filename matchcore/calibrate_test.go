package matchcore

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestFitImpostorTail(t *testing.T) {
	cases := []struct {
		name string
		a, b float64
	}{{"steep", 0, 30}, {"shallow", 1, 12}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Scores whose tail is exactly log10 FMR(t) = a − b·t.
			rng := rand.New(rand.NewPCG(1, 2))
			imp := make([]float64, 200000)
			for i := range imp {
				imp[i] = (c.a - math.Log10(1-rng.Float64())) / c.b
			}
			f, err := FitImpostorTail(imp, 1e-2)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(f.B-c.b)/c.b > 0.05 || math.Abs(f.A-c.a) > 0.15 {
				t.Fatalf("fit %+v, want A %v B %v", f, c.a, c.b)
			}
			want := (c.a + 8) / c.b // FMR 1e-8, far beyond the data
			if got := f.Threshold(1e-8); math.Abs(got-want) > 0.03*want {
				t.Fatalf("Threshold(1e-8) = %v, want about %v", got, want)
			}
			if got := f.FMR(f.Threshold(1e-6)); math.Abs(math.Log10(got)+6) > 1e-9 {
				t.Fatalf("FMR(Threshold(1e-6)) = %v", got)
			}
			if f.MinFMR != 10.0/float64(len(imp)) {
				t.Fatalf("MinFMR %v", f.MinFMR)
			}
		})
	}
	for _, bad := range []struct {
		n    int
		from float64
	}{{0, 1e-2}, {5000, 1e-2}, {200000, 0}, {200000, 1}} {
		if _, err := FitImpostorTail(make([]float64, bad.n), bad.from); !errors.Is(err, ErrBadConfig) {
			t.Errorf("n %d from %v: err %v, want ErrBadConfig", bad.n, bad.from, err)
		}
	}
	if _, err := FitImpostorTail(make([]float64, 200000), 1e-2); !errors.Is(err, ErrBadConfig) {
		t.Errorf("constant scores: err %v, want ErrBadConfig", err)
	}
}
