// Command palmeval measures matchcore's accuracy and speed on a palm data set
// laid out as DIR/<palm-id>/<image>: it enrols every gallery image under its
// palm id, searches every probe against the whole gallery (1:N) and reports
// rank-1, EER, FNMR at fixed FMR, FNIR at FPIR 0.01, decidability, timing and
// template size.
//
//	go run ./cmd/palmeval --gallery ../shared/data/tongji-dev/gallery \
//	    --probe ../shared/data/tongji-dev/probe [--json] [--perturb rot=10,scale=0.1,shift=0.05]
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/palmtill/palmtill/matchcore"
)

type options struct {
	gallery, probe string
	jsonOut        bool
	input          string
	perturb        perturbSpec
	seed           uint64
	plot           string
	palmsFrom      int
	palmsTo        int
	extractor      string
	workers        int
	reportFile     string
	worst          int
	candidates     int
	coarsePoses    int
}

func main() {
	var o options
	var perturb string
	flag.StringVar(&o.gallery, "gallery", "", "gallery directory DIR/<palm-id>/<image> (required)")
	flag.StringVar(&o.probe, "probe", "", "probe directory DIR/<palm-id>/<image> (required)")
	flag.BoolVar(&o.jsonOut, "json", false, "print one JSON line instead of the report")
	flag.StringVar(&o.input, "input", "roi", "roi: images are palm ROIs; hand: whole-hand frames (scanner ROI extraction first)")
	flag.StringVar(&perturb, "perturb", "", "random pose change per probe: rot=DEG,scale=FRAC,shift=FRAC")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of --perturb")
	flag.StringVar(&o.plot, "plot", "", "write score histograms and DET curve to this PNG file")
	flag.IntVar(&o.palmsFrom, "palms-from", 0, "first palm (1-based position in sorted palm ids) to evaluate")
	flag.IntVar(&o.palmsTo, "palms-to", 0, "last palm (inclusive) to evaluate")
	split := flag.String("split", "", "shorthand: tune = palms 1-150, test = palms 151-300")
	flag.StringVar(&o.extractor, "extractor", "", "JSON object overriding fields of matchcore.DefaultExtractorConfig")
	flag.StringVar(&o.reportFile, "report", "", "also write the readable report to this file (useful with --json)")
	flag.IntVar(&o.candidates, "candidates", 0, "override GalleryConfig.Candidates (exact rescoring budget)")
	flag.IntVar(&o.coarsePoses, "coarse-poses", 0, "override GalleryConfig.CoarsePoses")
	flag.IntVar(&o.worst, "worst", 0, "list the N mated probes with the lowest genuine scores")
	flag.IntVar(&o.workers, "workers", 0, "extraction and search goroutines (0 = GOMAXPROCS)")
	flag.Parse()
	var err error
	if o.perturb, err = parsePerturb(perturb); err != nil {
		fatal(err)
	}
	switch *split {
	case "":
	case "tune":
		o.palmsFrom, o.palmsTo = 1, 150
	case "test":
		o.palmsFrom, o.palmsTo = 151, 300
	default:
		fatal(fmt.Errorf("--split %q: want tune or test", *split))
	}
	if o.gallery == "" || o.probe == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	slog.Error("palmeval", "error", err)
	os.Exit(1)
}

// roiSource turns a loaded image into a palm ROI.
type roiSource func(image.Image) (image.Image, error)

func run(o options) error {
	cfg := matchcore.DefaultExtractorConfig()
	if o.extractor != "" {
		if err := json.Unmarshal([]byte(o.extractor), &cfg); err != nil {
			return fmt.Errorf("--extractor: %w", err)
		}
	}
	ex, err := matchcore.NewExtractor(cfg)
	if err != nil {
		return err
	}
	toROI, err := newROISource(o.input)
	if err != nil {
		return err
	}
	if o.workers <= 0 {
		o.workers = runtime.GOMAXPROCS(0)
	}
	gal, err := listSet(o.gallery)
	if err != nil {
		return err
	}
	prb, err := listSet(o.probe)
	if err != nil {
		return err
	}
	gal, prb = palmRange(gal, prb, o.palmsFrom, o.palmsTo)
	if len(gal) == 0 || len(prb) == 0 {
		return errors.New("empty gallery or probe set")
	}

	galT, galFail, galMs, err := extractAll(ex, gal, toROI, perturbSpec{}, 0, o.workers)
	if err != nil {
		return err
	}
	prbT, prbFail, prbMs, err := extractAll(ex, prb, toROI, o.perturb, o.seed, o.workers)
	if err != nil {
		return err
	}
	gcfg := matchcore.DefaultGalleryConfig()
	gcfg.Workers = o.workers
	if o.candidates > 0 {
		gcfg.Candidates = o.candidates
	}
	if o.coarsePoses > 0 {
		gcfg.CoarsePoses = o.coarsePoses
	}
	g, err := matchcore.NewGallery(gcfg)
	if err != nil {
		return err
	}
	byPalm := map[string][]*matchcore.Template{}
	var palmOrder []string
	for i, t := range galT {
		if t == nil {
			continue
		}
		p := gal[i].palm
		if _, ok := byPalm[p]; !ok {
			palmOrder = append(palmOrder, p)
		}
		byPalm[p] = append(byPalm[p], t)
	}
	for _, p := range palmOrder {
		if err := g.Add(p, byPalm[p]...); err != nil {
			return err
		}
	}

	var res []probeResult
	var idMs []float64
	for i, t := range prbT {
		if t == nil {
			continue
		}
		_, mated := byPalm[prb[i].palm]
		ms := g.Best(t, len(palmOrder)) // exact scores against every palm
		r := probeResult{palm: prb[i].palm, path: prb[i].path, mated: mated, scores: make(map[string]float64, len(ms))}
		if len(ms) > 0 {
			r.exactTop = ms[0]
		}
		for _, m := range ms {
			r.scores[m.ID] = m.Score
		}
		start := time.Now()
		r.top, _ = g.Identify(t) // as deployed: coarse pass, then exact rescoring
		idMs = append(idMs, float64(time.Since(start).Microseconds())/1000)
		res = append(res, r)
	}
	st := computeStats(res)
	if o.worst > 0 {
		printWorst(os.Stderr, res, o.worst)
	}
	tbytes, cbytes := 0, 0
	for _, t := range galT {
		if t != nil {
			tbytes, cbytes = t.Size(), t.Canonical().Size()
			break
		}
	}
	rep := report{
		GalleryPalms:  len(palmOrder),
		GalleryImages: len(gal),
		Probes:        len(prb),
		Mated:         st.matedN,
		Nonmated:      st.nonmatedN,
		FTE:           galFail + prbFail,
		Rank1:         st.rank1,
		EER:           st.eer,
		FNMR1e3:       st.fnmr1e3,
		FNMR1e4:       st.fnmr1e4,
		FNIR:          st.fnirAtFPIR,
		DPrime:        st.dprime,
		ExtractMs:     percentile(append(galMs, prbMs...), 0.5),
		IdentifyMs:    percentile(idMs, 0.5),
		TemplateBytes: tbytes,
	}
	if o.plot != "" {
		if err := writePlot(o.plot, st); err != nil {
			return err
		}
	}
	if o.reportFile != "" {
		f, err := os.Create(o.reportFile)
		if err != nil {
			return err
		}
		printReport(f, o, rep, st, g.Threshold(), cbytes)
		if err := f.Close(); err != nil {
			return err
		}
	}
	if o.jsonOut {
		return json.NewEncoder(os.Stdout).Encode(rep)
	}
	printReport(os.Stdout, o, rep, st, g.Threshold(), cbytes)
	return nil
}

// report is the --json output; its keys are fixed by the issue.
type report struct {
	GalleryPalms  int      `json:"gallery_palms"`
	GalleryImages int      `json:"gallery_images"`
	Probes        int      `json:"probes"`
	Mated         int      `json:"mated"`
	Nonmated      int      `json:"nonmated"`
	FTE           int      `json:"failures_to_extract"`
	Rank1         float64  `json:"rank1"`
	EER           float64  `json:"eer"`
	FNMR1e3       float64  `json:"fnmr_at_fmr_1e-3"`
	FNMR1e4       float64  `json:"fnmr_at_fmr_1e-4"`
	FNIR          *float64 `json:"fnir_at_fpir_0.01"`
	DPrime        float64  `json:"dprime"`
	ExtractMs     float64  `json:"extract_ms_p50"`
	IdentifyMs    float64  `json:"identify_ms_p50"`
	TemplateBytes int      `json:"template_bytes"`
}

// extractAll loads and codes every sample on workers goroutines. A sample
// that fails with matchcore.ErrNotPalm (or fails ROI extraction) gives a nil
// template and counts as a failure to extract; unreadable files are errors.
func extractAll(ex *matchcore.Extractor, ss []sample, toROI roiSource, pert perturbSpec, seed uint64, workers int) ([]*matchcore.Template, int, []float64, error) {
	out := make([]*matchcore.Template, len(ss))
	rois := make([]image.Image, min(len(ss), timedSamples))
	fails := make([]bool, len(ss))
	errs := make([]error, len(ss))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				img, err := loadImage(ss[i].path)
				if err != nil {
					errs[i] = err
					continue
				}
				if !pert.zero() {
					img = pert.apply(img, rand.New(rand.NewPCG(seed, uint64(i))))
				}
				roi, err := toROI(img)
				if err != nil {
					fails[i] = true
					continue
				}
				if i < timedSamples {
					rois[i] = roi
				}
				t, err := ex.Extract(roi)
				if errors.Is(err, matchcore.ErrNotPalm) {
					fails[i] = true
					continue
				}
				if err != nil {
					errs[i] = err
					continue
				}
				out[i] = t
			}
		}()
	}
	for i := range ss {
		next <- i
	}
	close(next)
	wg.Wait()
	n := 0
	for i := range ss {
		if errs[i] != nil {
			return nil, 0, nil, errs[i]
		}
		if fails[i] {
			n++
		}
	}
	// Time extraction one ROI at a time, as a kiosk extracts a capture: the
	// parallel pass above shares the cores between workers.
	var ms []float64
	for _, roi := range rois {
		if roi == nil {
			continue
		}
		start := time.Now()
		ex.Extract(roi) //nolint:errcheck // outcome already recorded above
		ms = append(ms, float64(time.Since(start).Microseconds())/1000)
	}
	return out, n, ms, nil
}

// timedSamples is how many ROIs of each set extractAll times one at a time
// for extract_ms_p50.
const timedSamples = 200
