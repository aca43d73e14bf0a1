package matchcore

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// GalleryConfig configures a Gallery.
type GalleryConfig struct {
	// Threshold is the smallest Compare score that Identify accepts as a
	// match. See DefaultThreshold for the operating point.
	Threshold float64
	// Workers is the number of goroutines one search uses; 0 means
	// GOMAXPROCS.
	Workers int
	// MinParallel is the number of templates below which the coarse pass
	// runs on the calling goroutine only.
	MinParallel int
	// Candidates is the smallest number of templates that the coarse pass
	// keeps for exact rescoring; galleries of at most this many templates
	// are searched exactly.
	Candidates int
	// CoarsePoses is how many of the probe's poses the coarse pass tries:
	// its canonical pose first, then its pose variants in order (with the
	// default extractor, 3 adds the two rotations at scale 1). The pass
	// costs about this many times one pose; 0 means 1.
	CoarsePoses int
	// CandidateFraction is the fraction of the gallery's templates kept for
	// exact rescoring when that is more than Candidates.
	CandidateFraction float64
	// SampleNorm normalises an id's score for its number of enrolled
	// templates k: the score Identify and Best report, and Threshold is
	// compared with, is the best template's Compare score minus
	// SampleNorm·ln(k) (SampleNormalize), so that one threshold gives the
	// same false-match rate whether a customer enrolled 1 capture or 10.
	// 0 reports the raw best score. See DefaultSampleNorm.
	SampleNorm float64
	// TargetFPIR, when positive, raises the threshold as the store grows,
	// so that a palm that is not enrolled is matched to somebody with a
	// probability (false-positive identification rate) of about TargetFPIR
	// whatever the number of enrolled ids: Identify accepts a score of at
	// least max(Threshold, Tail.Threshold(FMRForFPIR(TargetFPIR, ids))).
	// 0 keeps Threshold fixed. See Gallery.Threshold.
	TargetFPIR float64
	// Tail is the impostor score tail used with TargetFPIR;
	// DefaultImpostorTail when zero.
	Tail TailFit
}

// DefaultThreshold is the default operating point of Identify, on the
// sample-normalised score (GalleryConfig.SampleNorm), chosen for a low
// false-match rate (a false match charges the wrong person). On tongji-dev
// (300 palms, gallery session 1 with 10 captures per palm, so normalised =
// raw − 0.026; probe session 2; 897,000 impostor and 3,000 genuine
// probe-palm scores) no impostor score reached it (FMR < 3.3e-6 at 95%
// confidence; the largest was 0.444 raw, 0.418 normalised). For a customer
// enrolled with 3 captures it means a best raw score of 0.467. It also keeps
// a margin over the largest impostor score on polyu-nir-hand-dev through the
// scanner's ROI (0.466 raw with 6 captures, 0.446 normalised). See
// DESIGN.md.
const DefaultThreshold = 0.455

// DefaultGalleryConfig returns the default configuration: Threshold
// DefaultThreshold, all cores, 512 candidates or 0.1% of the gallery,
// coarse pass on the probe's canonical pose and its two rotations
// (CoarsePoses 3, which keeps the coarse pass's recall on palms presented
// rotated; 1 makes the coarse pass about 3x cheaper, see DESIGN.md).
func DefaultGalleryConfig() GalleryConfig {
	return GalleryConfig{Threshold: DefaultThreshold, Workers: 0, MinParallel: 2048, Candidates: 512, CandidateFraction: 0.001, CoarsePoses: 3, SampleNorm: DefaultSampleNorm, TargetFPIR: DefaultTargetFPIR}
}

// Validate checks the configuration; errors wrap ErrBadConfig.
func (c GalleryConfig) Validate() error {
	switch {
	case !(c.Threshold >= 0 && c.Threshold <= 1):
		return fmt.Errorf("Threshold %v not in [0,1]: %w", c.Threshold, ErrBadConfig)
	case !(c.TargetFPIR >= 0 && c.TargetFPIR < 1):
		return fmt.Errorf("TargetFPIR %v not in [0,1): %w", c.TargetFPIR, ErrBadConfig)
	case c.Tail != (TailFit{}) && !(c.Tail.B > 0):
		return fmt.Errorf("Tail slope %v must be positive: %w", c.Tail.B, ErrBadConfig)
	case !(c.SampleNorm >= 0 && c.SampleNorm <= 0.1):
		return fmt.Errorf("SampleNorm %v not in [0,0.1]: %w", c.SampleNorm, ErrBadConfig)
	case c.Workers < 0:
		return fmt.Errorf("Workers %d negative: %w", c.Workers, ErrBadConfig)
	case c.CoarsePoses < 0:
		return fmt.Errorf("CoarsePoses %d negative: %w", c.CoarsePoses, ErrBadConfig)
	case c.MinParallel < 0:
		return fmt.Errorf("MinParallel %d negative: %w", c.MinParallel, ErrBadConfig)
	case c.Candidates < 1:
		return fmt.Errorf("Candidates %d below 1: %w", c.Candidates, ErrBadConfig)
	case !(c.CandidateFraction >= 0 && c.CandidateFraction <= 1):
		return fmt.Errorf("CandidateFraction %v not in [0,1]: %w", c.CandidateFraction, ErrBadConfig)
	}
	return nil
}

// Match is one search result: an enrolled id and its score, the best
// Compare score over that id's templates normalised for their number (see
// GalleryConfig.SampleNorm).
type Match struct {
	ID    string
	Score float64
}

// Gallery is an in-memory 1:N search structure of enrolled templates. All
// methods are safe for concurrent use; searches run concurrently with each
// other and wait for Add/Remove (and vice versa).
//
// Layout: the coarse code words of all templates sit in one contiguous
// slab (planes*4 words, 192 bytes, each with the default extractor; in
// blocks of 8 templates stored word-major, see search_coarse.go) scanned
// linearly by the coarse pass; the full templates are rescored only for the
// best candidates.
type Gallery struct {
	cfg     GalleryConfig
	workers int

	mu     sync.RWMutex
	geom   *Template // fixes the geometry while the gallery is non-empty
	ents   []entry
	coarse []uint64 // coarse code words (no mask) of the entries, in blocks (slabOffset)
	ids    map[string]*owner
}

// entry is one enrolled template: its owner and the canonical fine code
// and mask (held by value, so that the exact stage reaches the code from
// the entries array without another indirection).
type entry struct {
	own *owner
	t   Template
}

type owner struct {
	id   string
	ents []int // indexes into Gallery.ents
}

// NewGallery returns an empty gallery.
func NewGallery(cfg GalleryConfig) (*Gallery, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := cfg.Workers
	if w == 0 {
		w = runtime.GOMAXPROCS(0)
	}
	return &Gallery{cfg: cfg, workers: w, ids: make(map[string]*owner)}, nil
}

// Config returns the gallery's configuration.
func (g *Gallery) Config() GalleryConfig { return g.cfg }

// Add enrols id with the given templates (one per capture), replacing any
// templates id had. It fails with ErrIncompatible for templates whose
// geometry differs from those already in the gallery, with ErrBadTemplate
// for nil or empty templates and with ErrBadConfig for an empty id or no
// templates; on error the gallery is unchanged. The gallery keeps the
// templates' canonical codes (not their pose variants: the probe's variants
// are searched instead), which must not be modified afterwards (Templates
// are immutable through their API).
func (g *Gallery) Add(id string, ts ...*Template) error {
	if id == "" || len(ts) == 0 {
		return fmt.Errorf("add %q with %d templates: %w", id, len(ts), ErrBadConfig)
	}
	for _, t := range ts {
		if t == nil || len(t.code) == 0 || len(t.coarse) == 0 {
			return fmt.Errorf("add %q: empty template: %w", id, ErrBadTemplate)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	geom := g.geom
	if geom == nil || len(g.ents) == 0 || (len(g.ents) == len(g.idEnts(id))) {
		geom = ts[0]
	}
	for _, t := range ts {
		if !compatible(geom, t) {
			return fmt.Errorf("add %q: geometry %dx%dx%d, gallery %dx%dx%d: %w",
				id, t.rows, t.cols, t.planes, geom.rows, geom.cols, geom.planes, ErrIncompatible)
		}
	}
	g.removeLocked(id)
	g.geom = geom
	o := &owner{id: id}
	for _, t := range ts {
		o.ents = append(o.ents, len(g.ents))
		// Keep only what the exact stage reads: the canonical fine code and
		// mask (the coarse code words go to the slab).
		fine := Template{rows: t.rows, cols: t.cols, planes: t.planes, code: t.code, mask: t.mask}
		cw := len(t.coarse) / 2 // code words only
		if i := len(g.ents); i%coarseLanes == 0 {
			g.coarse = append(g.coarse, make([]uint64, cw*coarseLanes)...)
		}
		slabPut(g.coarse, cw, len(g.ents), t.coarse[:cw])
		g.ents = append(g.ents, entry{own: o, t: fine})
	}
	g.ids[id] = o
	return nil
}

func (g *Gallery) idEnts(id string) []int {
	if o, ok := g.ids[id]; ok {
		return o.ents
	}
	return nil
}

// Remove deletes id and all its templates; it reports whether id was there.
func (g *Gallery) Remove(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.removeLocked(id)
}

func (g *Gallery) removeLocked(id string) bool {
	o, ok := g.ids[id]
	if !ok {
		return false
	}
	delete(g.ids, id)
	cw := len(g.geom.coarse) / 2
	// Remove from the highest index down so swap-with-last never moves an
	// entry we still have to remove.
	idx := slices.Clone(o.ents)
	slices.Sort(idx)
	for k := len(idx) - 1; k >= 0; k-- {
		i, last := idx[k], len(g.ents)-1
		if i != last {
			moved := g.ents[last]
			g.ents[i] = moved
			slabPut(g.coarse, cw, i, slabGet(g.coarse, cw, last))
			for j, e := range moved.own.ents {
				if e == last {
					moved.own.ents[j] = i
				}
			}
		}
		g.ents[last] = entry{}
		g.ents = g.ents[:last]
		slabPut(g.coarse, cw, last, make([]uint64, cw))
		if last%coarseLanes == 0 {
			g.coarse = g.coarse[:last/coarseLanes*cw*coarseLanes]
		}
	}
	return true
}

// Len returns the number of enrolled ids.
func (g *Gallery) Len() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.ids)
}

// Threshold returns the score Identify requires now: Threshold, raised by
// TargetFPIR for the number of enrolled ids (see GalleryConfig).
func (g *Gallery) Threshold() float64 {
	return g.cfg.thresholdFor(g.Len())
}

// thresholdFor is the threshold for a gallery of n ids.
func (c GalleryConfig) thresholdFor(n int) float64 {
	if c.TargetFPIR <= 0 || n <= 0 {
		return c.Threshold
	}
	tail := c.Tail
	if tail == (TailFit{}) {
		tail = DefaultImpostorTail
	}
	return min(1, max(c.Threshold, tail.Threshold(FMRForFPIR(c.TargetFPIR, n))))
}

// Templates returns the number of enrolled templates (over all ids).
func (g *Gallery) Templates() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.ents)
}

// Identify returns the enrolled id that best matches probe. ok is false when
// the gallery is empty, the probe is incompatible, or the best score is
// below the threshold (the probe is taken for someone not enrolled); the
// best candidate is still returned when there is one.
func (g *Gallery) Identify(probe *Template) (Match, bool) {
	ms := g.Best(probe, 1)
	if len(ms) == 0 {
		return Match{}, false
	}
	return ms[0], ms[0].Score >= g.Threshold()
}

// Best returns up to k best-scoring enrolled ids for probe, best first,
// whatever their scores; each id's score is its best template's Compare
// score, normalised for the id's number of templates (SampleNorm). In galleries larger than the candidate budget only templates that
// pass the coarse pass are scored, so ids that fail it are not returned.
func (g *Gallery) Best(probe *Template, k int) []Match {
	if probe == nil || k <= 0 || len(probe.coarse) == 0 {
		return nil
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	n := len(g.ents)
	if n == 0 || !compatible(g.geom, probe) {
		return nil
	}
	budget := max(g.cfg.Candidates, int(g.cfg.CandidateFraction*float64(n)))
	if perID := (n + len(g.ids) - 1) / len(g.ids); k*perID > budget {
		budget = k * perID
	}
	p := preparePoses(probe)
	var cand []int32
	if n <= budget {
		cand = seq(n)
	} else {
		cand = g.coarsePass(probe, max(1, g.cfg.CoarsePoses), budget)
	}
	scores := make([]float64, len(cand))
	g.chunked(len(cand), exactChunk, minParallelExact, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if i+1 < hi {
				prefetchTemplate(&g.ents[cand[i+1]].t)
			}
			scores[i] = p.score(&g.ents[cand[i]].t)
		}
	})
	return g.topIDs(cand, scores, k)
}

func seq(n int) []int32 {
	s := make([]int32, n)
	for i := range s {
		s[i] = int32(i)
	}
	return s
}

// minParallelExact is the number of exact comparisons (some microseconds
// each) worth splitting among goroutines, and exactChunk how many a worker
// takes at a time.
const (
	minParallelExact = 16
	exactChunk       = 16
)

// chunked runs f over [0,n) in chunks of chunk items that the workers take
// in turn, so that a worker slowed down by other load on the machine does
// not hold up the others; it waits for all. Below minN items it runs f on
// the calling goroutine.
func (g *Gallery) chunked(n, chunk, minN int, f func(lo, hi int)) {
	chunks := (n + chunk - 1) / chunk
	w := min(g.workers, chunks)
	if n < minN || w <= 1 {
		f(0, n)
		return
	}
	var next atomic.Int64
	work := func() {
		for {
			c := int(next.Add(1)) - 1
			if c >= chunks {
				return
			}
			f(c*chunk, min((c+1)*chunk, n))
		}
	}
	var wg sync.WaitGroup
	for range w - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
}

// parallel runs f over [0,n) split among the workers and waits; below
// minN items it runs f on the calling goroutine.
func (g *Gallery) parallel(n, minN int, f func(lo, hi int)) {
	w := g.workers
	if n < minN || w <= 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + w - 1) / w
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}

// topIDs reduces the scores of entries ents to the k best ids.
func (g *Gallery) topIDs(ents []int32, scores []float64, k int) []Match {
	best := make(map[*owner]float64)
	for i, s := range scores {
		o := g.ents[ents[i]].own
		if b, ok := best[o]; !ok || s > b {
			best[o] = s
		}
	}
	out := make([]Match, 0, len(best))
	for o, s := range best {
		out = append(out, Match{ID: o.id, Score: SampleNormalize(s, len(o.ents), g.cfg.SampleNorm)})
	}
	slices.SortFunc(out, func(a, b Match) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return cmpString(a.ID, b.ID)
	})
	if len(out) > k {
		out = out[:k]
	}
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
