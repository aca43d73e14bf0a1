package main

import (
	"math"
	"slices"

	"github.com/palmtill/palmtill/matchcore"
)

// probeResult is one probe's search outcome.
type probeResult struct {
	palm     string
	path     string
	mated    bool
	top      matchcore.Match    // Identify's answer (with the coarse pass)
	exactTop matchcore.Match    // best over exact scores against every palm
	scores   map[string]float64 // best score per gallery palm
}

// stats are the accuracy figures of one evaluation.
type stats struct {
	genuine, impostor, nonmatedTop []float64
	rank1, rank1Exact              float64
	eer, eerThreshold              float64
	fnmr1e3, fnmr1e4               float64
	thr1e3, thr1e4                 float64
	fnirAtFPIR                     *float64
	dprime                         float64
	matedN, nonmatedN              int
}

func computeStats(res []probeResult) stats {
	var st stats
	hits, exactHits := 0, 0
	for _, r := range res {
		if r.mated {
			st.matedN++
			if r.top.ID == r.palm {
				hits++
			}
			if r.exactTop.ID == r.palm {
				exactHits++
			}
		} else {
			st.nonmatedN++
			st.nonmatedTop = append(st.nonmatedTop, r.top.Score)
		}
		for p, s := range r.scores {
			if p == r.palm {
				st.genuine = append(st.genuine, s)
			} else {
				st.impostor = append(st.impostor, s)
			}
		}
	}
	if st.matedN > 0 {
		st.rank1 = float64(hits) / float64(st.matedN)
		st.rank1Exact = float64(exactHits) / float64(st.matedN)
	}
	slices.Sort(st.genuine)
	slices.Sort(st.impostor)
	st.eer, st.eerThreshold = eer(st.genuine, st.impostor)
	st.thr1e3 = matchcore.ThresholdForFMR(st.impostor, 1e-3)
	st.thr1e4 = matchcore.ThresholdForFMR(st.impostor, 1e-4)
	st.fnmr1e3 = fracBelow(st.genuine, st.thr1e3)
	st.fnmr1e4 = fracBelow(st.genuine, st.thr1e4)
	if st.nonmatedN > 0 && st.matedN > 0 {
		t := matchcore.ThresholdForFMR(st.nonmatedTop, 0.01)
		miss := 0
		for _, r := range res {
			if r.mated && (r.top.ID != r.palm || r.top.Score < t) {
				miss++
			}
		}
		v := float64(miss) / float64(st.matedN)
		st.fnirAtFPIR = &v
	}
	mg, sg := meanSD(st.genuine)
	mi, si := meanSD(st.impostor)
	if d := math.Sqrt((sg*sg + si*si) / 2); d > 0 {
		st.dprime = math.Abs(mg-mi) / d
	}
	return st
}

// fracBelow is the fraction of sorted values strictly below t.
func fracBelow(sorted []float64, t float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i, _ := slices.BinarySearch(sorted, t)
	return float64(i) / float64(len(sorted))
}

// fracAtOrAbove is the fraction of sorted values >= t.
func fracAtOrAbove(sorted []float64, t float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	return 1 - fracBelow(sorted, t)
}

// eer returns the equal error rate of sorted genuine and impostor scores and
// the threshold where it is reached (the mean of FMR and FNMR where they are
// closest).
func eer(gen, imp []float64) (float64, float64) {
	if len(gen) == 0 || len(imp) == 0 {
		return math.NaN(), math.NaN()
	}
	cands := slices.Concat(gen, imp)
	slices.Sort(cands)
	cands = slices.Compact(cands)
	best, bestT, bestGap := 1.0, 0.0, math.Inf(1)
	lo, hi := 0, len(cands)-1
	// FNMR rises and FMR falls with t: binary search the crossing.
	for lo < hi {
		mid := (lo + hi) / 2
		if fracBelow(gen, cands[mid]) < fracAtOrAbove(imp, cands[mid]) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	for i := max(0, lo-2); i <= min(len(cands)-1, lo+2); i++ {
		t := cands[i]
		fnmr, fmr := fracBelow(gen, t), fracAtOrAbove(imp, t)
		if gap := math.Abs(fnmr - fmr); gap < bestGap {
			bestGap, best, bestT = gap, (fnmr+fmr)/2, t
		}
	}
	return best, bestT
}

func meanSD(v []float64) (float64, float64) {
	if len(v) == 0 {
		return 0, 0
	}
	var s, s2 float64
	for _, x := range v {
		s += x
		s2 += x * x
	}
	n := float64(len(v))
	m := s / n
	return m, math.Sqrt(math.Max(0, s2/n-m*m))
}

func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}
