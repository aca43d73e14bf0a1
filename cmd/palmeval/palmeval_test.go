package main

import (
	"image"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/palmtill/palmtill/matchcore"
)

func TestParsePerturb(t *testing.T) {
	cases := []struct {
		in   string
		want perturbSpec
		ok   bool
	}{
		{"", perturbSpec{}, true},
		{"rot=10,scale=0.1,shift=0.05", perturbSpec{10, 0.1, 0.05}, true},
		{"rot=5", perturbSpec{rot: 5}, true},
		{"rot", perturbSpec{}, false},
		{"tilt=3", perturbSpec{}, false},
		{"rot=-1", perturbSpec{}, false},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := parsePerturb(c.in)
			if (err == nil) != c.ok || (c.ok && got != c.want) {
				t.Fatalf("got %+v, %v", got, err)
			}
		})
	}
}

func TestPerturbIdentityAndSize(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 20, 10))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	out := perturbSpec{}.apply(img, rand.New(rand.NewPCG(1, 1)))
	if out.Bounds() != img.Bounds() {
		t.Fatalf("bounds %v", out.Bounds())
	}
	for i := range img.Pix {
		if out.Pix[i] != img.Pix[i] {
			t.Fatalf("zero perturbation changed pixel %d", i)
		}
	}
}

func TestComputeStats(t *testing.T) {
	res := []probeResult{
		{palm: "a", mated: true, top: matchcore.Match{ID: "a", Score: 0.9}, exactTop: matchcore.Match{ID: "a"},
			scores: map[string]float64{"a": 0.9, "b": 0.1}},
		{palm: "b", mated: true, top: matchcore.Match{ID: "a", Score: 0.3}, exactTop: matchcore.Match{ID: "b"},
			scores: map[string]float64{"a": 0.3, "b": 0.2}},
		{palm: "x", mated: false, top: matchcore.Match{ID: "a", Score: 0.15},
			scores: map[string]float64{"a": 0.15, "b": 0.05}},
	}
	st := computeStats(res)
	if st.matedN != 2 || st.nonmatedN != 1 {
		t.Fatalf("mated %d nonmated %d", st.matedN, st.nonmatedN)
	}
	if st.rank1 != 0.5 || st.rank1Exact != 1 {
		t.Fatalf("rank1 %v exact %v", st.rank1, st.rank1Exact)
	}
	if len(st.genuine) != 2 || len(st.impostor) != 4 {
		t.Fatalf("genuine %v impostor %v", st.genuine, st.impostor)
	}
	if st.fnirAtFPIR == nil {
		t.Fatal("no FNIR with non-mated probes")
	}
	// genuine {0.2, 0.9}, impostor {0.05, 0.1, 0.15, 0.3}: FNMR and FMR are
	// closest at t=0.2 (0 and 1/4), so EER is their mean, 1/8.
	if math.Abs(st.eer-0.125) > 1e-9 {
		t.Fatalf("EER %v", st.eer)
	}
}

func TestEERSeparated(t *testing.T) {
	e, _ := eer([]float64{0.6, 0.7, 0.8}, []float64{0.1, 0.2, 0.3})
	if e != 0 {
		t.Fatalf("EER of separated scores %v", e)
	}
}

func TestListSetFollowsLinkedPalmDirs(t *testing.T) {
	data, set := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(data, "p1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "p1", "a.png"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(data, "p1"), filepath.Join(set, "p1")); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	if err := os.Symlink(filepath.Join(data, "p1", "a.png"), filepath.Join(set, "stray.png")); err != nil {
		t.Fatal(err)
	}
	got, err := listSet(set)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].palm != "p1" {
		t.Fatalf("listSet = %+v, want the one image of the linked palm p1", got)
	}
}
