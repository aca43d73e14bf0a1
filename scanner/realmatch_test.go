package scanner

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/palmtill/palmtill/matchcore"
)

// TestRealGenuineOutliers lists, for a whole-hand set, the probes whose best
// score against their own gallery palm is low: they point at ROIs cut
// differently in the two sessions. Set PALMTILL_OUTLIERS=<set> to run.
func TestRealGenuineOutliers(t *testing.T) {
	set := os.Getenv("PALMTILL_OUTLIERS")
	if set == "" {
		t.Skip("set PALMTILL_OUTLIERS=polyu-nir-hand-dev to run")
	}
	root := set
	if !filepath.IsAbs(set) {
		root = filepath.Join(dataDir(t), set)
	}
	roiInput := os.Getenv("PALMTILL_OUTLIERS_ROI") != "" // images are ROIs already
	p, _ := NewPipeline(DefaultPipelineConfig())
	ex, err := matchcore.NewExtractor(matchcore.DefaultExtractorConfig())
	if err != nil {
		t.Fatal(err)
	}
	type item struct {
		path string
		tm   *matchcore.Template
		res  Result
	}
	load := func(side string) map[string][]item {
		out := map[string][]item{}
		palms, _ := os.ReadDir(filepath.Join(root, side))
		for _, pd := range palms {
			files, _ := os.ReadDir(filepath.Join(root, side, pd.Name()))
			for _, f := range files {
				path := filepath.Join(root, side, pd.Name(), f.Name())
				img := loadImage(t, path)
				var res Result
				if roiInput {
					res.ROI = toGrayImage(img)
				} else {
					var err error
					if res, err = p.Process(Frame{Image: img}); err != nil {
						continue
					}
				}
				tm, err := ex.Extract(res.ROI)
				if err != nil {
					continue
				}
				out[pd.Name()] = append(out[pd.Name()], item{path, tm, res})
			}
		}
		return out
	}
	gal, prb := load("gallery"), load("probe")
	var lines []string
	for palm, ps := range prb {
		for _, pr := range ps {
			best := 0.0
			for _, g := range gal[palm] {
				best = max(best, matchcore.Compare(pr.tm, g.tm))
			}
			if best < 0.3 {
				lines = append(lines, strings.Join([]string{pr.path, fmtF(best), fmtV(pr.res)}, " "))
			}
		}
	}
	sort.Strings(lines)
	for _, l := range lines {
		t.Log(l)
	}
	t.Logf("%d low genuine probes", len(lines))
}

func fmtF(f float64) string { return strings.TrimRight(strings.TrimRight(strconvF(f), "0"), ".") }

func strconvF(f float64) string { return fmt.Sprintf("%.3f", f) }

func fmtV(r Result) string { return fmt.Sprintf("valleys %v", r.Valleys) }

func toGrayImage(img image.Image) *image.Gray {
	g := toGray(img)
	out := image.NewGray(image.Rect(0, 0, g.w, g.h))
	copy(out.Pix, g.pix)
	return out
}
