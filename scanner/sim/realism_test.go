package sim

import (
	"fmt"
	"image"
	_ "image/png"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/palmtill/palmtill/matchcore"
)

// TestRealismQuick measures d' and EER of matchcore on simulated ROIs with
// the palmeval protocol (best score over each gallery palm's templates).
// Set PALMTILL_REALISM=palms (e.g. 60) to run; a development aid for tuning
// the simulator, palmeval on palmsim output is the reference figure.
func TestRealismQuick(t *testing.T) {
	palms, _ := strconv.Atoi(os.Getenv("PALMTILL_REALISM"))
	if palms == 0 {
		t.Skip("set PALMTILL_REALISM=<palms> to measure")
	}
	samples := 4
	if s, _ := strconv.Atoi(os.Getenv("PALMTILL_SAMPLES")); s > 0 {
		samples = s
	}
	ex, err := matchcore.NewExtractor(matchcore.DefaultExtractorConfig())
	if err != nil {
		t.Fatal(err)
	}
	tongji := os.Getenv("PALMTILL_TONGJI")     // folder of tongji-dev: measure it instead
	tm := make([][]*matchcore.Template, palms) // [palm][capture]; gallery first
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for p := 0; p < palms; p++ {
		tm[p] = make([]*matchcore.Template, 2*samples)
		for c := 0; c < 2*samples; c++ {
			wg.Add(1)
			sem <- struct{}{}
			go func(p, c int) {
				defer wg.Done()
				defer func() { <-sem }()
				var roi image.Image
				if tongji != "" {
					side, n := "gallery", c+1
					if c >= samples {
						side, n = "probe", c-samples+1
					}
					f, err := os.Open(filepath.Join(tongji, side, fmt.Sprintf("t%03d", p), fmt.Sprintf("%02d.png", n)))
					if err != nil {
						return
					}
					roi, _, _ = image.Decode(f)
					f.Close()
				} else {
					roi = RenderROI(uint64(p)*7919+123457, c, 128)
				}
				x, err := ex.Extract(roi)
				if err == nil {
					tm[p][c] = x
				}
			}(p, c)
		}
	}
	wg.Wait()
	var gen, imp []float64
	for pp := 0; pp < palms; pp++ {
		for c := samples; c < 2*samples; c++ {
			probe := tm[pp][c]
			for gp := 0; gp < palms; gp++ {
				best := 0.0
				for g := 0; g < samples; g++ {
					best = math.Max(best, matchcore.Compare(probe, tm[gp][g]))
				}
				if gp == pp {
					if best < 0.3 && testing.Verbose() {
						t.Logf("low genuine: palm %d probe capture %d: %.3f", pp, c, best)
					}
					gen = append(gen, best)
				} else {
					imp = append(imp, best)
				}
			}
		}
	}
	mg, sg := meanSD(gen)
	mi, si := meanSD(imp)
	t.Logf("genuine %s", summary(gen))
	t.Logf("impostor %s", summary(imp))
	t.Logf("dprime %.3f eer %.4f; genuine below matchcore's threshold %.2f: %d/%d", (mg-mi)/math.Sqrt((sg*sg+si*si)/2), eer(gen, imp),
		matchcore.DefaultThreshold, belowAt(gen, matchcore.DefaultThreshold), len(gen))
}

func meanSD(v []float64) (float64, float64) {
	var m, q float64
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	for _, x := range v {
		q += (x - m) * (x - m)
	}
	return m, math.Sqrt(q / float64(len(v)))
}

// eer returns the equal error rate of similarity scores.
func eer(gen, imp []float64) float64 {
	g := append([]float64(nil), gen...)
	i := append([]float64(nil), imp...)
	sort.Float64s(g)
	sort.Float64s(i)
	best, bestDiff := 1.0, math.Inf(1)
	for _, th := range append(g, i...) {
		fnmr := float64(sort.SearchFloat64s(g, th)) / float64(len(g))
		fmr := float64(len(i)-sort.SearchFloat64s(i, th)) / float64(len(i))
		if d := math.Abs(fnmr - fmr); d < bestDiff {
			bestDiff, best = d, (fnmr+fmr)/2
		}
	}
	return best
}

func init() {
	belowAt = func(gen []float64, th float64) int {
		n := 0
		for _, g := range gen {
			if g < th {
				n++
			}
		}
		return n
	}
}

var belowAt func([]float64, float64) int
