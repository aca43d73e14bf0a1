package matchcore

import (
	"fmt"
	"math"
	"slices"
)

// FMRForFPIR returns the per-comparison false-match rate that gives a
// false-positive identification rate fpir against a gallery of n enrolled
// ids, from FPIR = 1-(1-FMR)^n (about n*FMR for small FMR).
func FMRForFPIR(fpir float64, n int) float64 {
	if n <= 0 || fpir <= 0 {
		return 0
	}
	if fpir >= 1 {
		return 1
	}
	return -math.Expm1(math.Log1p(-fpir) / float64(n))
}

// ThresholdForFMR returns the smallest threshold t such that the fraction of
// impostor scores >= t is at most fmr. When fmr is below 1/len(impostor)
// the answer is just above the largest impostor score (an extrapolation the
// caller should treat with care). impostor is not modified.
func ThresholdForFMR(impostor []float64, fmr float64) float64 {
	if len(impostor) == 0 {
		return 0
	}
	s := slices.Clone(impostor)
	slices.Sort(s)
	allowed := int(math.Floor(fmr * float64(len(s)))) // impostors allowed at or above t
	if allowed >= len(s) {
		return s[0]
	}
	// t must exceed the (allowed+1)-th largest score.
	v := s[len(s)-1-allowed]
	return math.Nextafter(v, math.Inf(1))
}

// DefaultSampleNorm is the default GalleryConfig.SampleNorm: how much an
// id's best score over k enrolled templates is lowered, per natural log of
// k, to bring it to the scale of a single template. An impostor's best
// score rises with the number of templates it is compared with; on
// tongji-dev palms 1-150 (2.2 million impostor template pairs, 15-pose
// search) the threshold for a given FMR rose by 0.0085, 0.0132, 0.0176 and
// 0.0239 for k = 2, 3, 5, 10 templates per id at FMR 1e-3 (0.0080-0.0242
// at 1e-2), a least-squares slope of 0.0108-0.0109 per ln k (0.0113 with
// the earlier 9-pose search). Subtracting it makes one threshold mean the
// same FMR whatever the number of captures. See DESIGN.md.
const DefaultSampleNorm = 0.011

// SampleNormalize maps best, the highest score of an id over its k
// templates, to the single-template scale: best − slope·ln(k), at least 0.
// k <= 1 returns best unchanged.
func SampleNormalize(best float64, k int, slope float64) float64 {
	if k <= 1 || slope == 0 {
		return best
	}
	return math.Max(0, best-slope*math.Log(float64(k)))
}

// TailFit models the upper tail of an impostor score distribution as
// log10 FMR(t) = A − B·t, fitted where the FMR was measured. Large stores
// need FMRs (about FPIR/N) far below what any development set can measure
// directly (a million customers at FPIR 1% need 1e-8); the fit extrapolates
// the threshold for them. Extrapolation is an estimate: report it as one.
type TailFit struct {
	// A and B are the intercept and slope of log10 FMR against the score.
	A, B float64
	// MinFMR is the smallest FMR used in the fit (10 impostor scores above
	// the threshold); below it the fit extrapolates.
	MinFMR float64
}

// FitImpostorTail fits TailFit to impostor scores (not modified) between
// FMR fromFMR (e.g. 1e-2) and the FMR at which 10 scores remain above the
// threshold, by least squares over log-spaced points. It fails with
// ErrBadConfig when there are too few scores to fit (fewer than 100 above
// fromFMR·len).
func FitImpostorTail(impostor []float64, fromFMR float64) (TailFit, error) {
	n := len(impostor)
	minFMR := 10 / float64(n)
	if n == 0 || !(fromFMR > 0 && fromFMR < 1) || fromFMR*float64(n) < 100 {
		return TailFit{}, fmt.Errorf("impostor tail fit: %d scores, from FMR %v: %w", n, fromFMR, ErrBadConfig)
	}
	s := slices.Clone(impostor)
	slices.Sort(s)
	var sx, sy, sxx, sxy float64
	pts := 0
	for lf := math.Log10(fromFMR); lf >= math.Log10(minFMR); lf -= 0.1 {
		above := int(math.Pow(10, lf) * float64(n)) // scores at or above the threshold
		t := s[n-above]
		sx += t
		sy += lf
		sxx += t * t
		sxy += t * lf
		pts++
	}
	den := float64(pts)*sxx - sx*sx
	if pts < 3 || den <= 0 {
		return TailFit{}, fmt.Errorf("impostor tail fit: degenerate scores: %w", ErrBadConfig)
	}
	slope := (float64(pts)*sxy - sx*sy) / den
	return TailFit{A: (sy - slope*sx) / float64(pts), B: -slope, MinFMR: minFMR}, nil
}

// Threshold returns the score at which the fitted FMR is fmr.
func (f TailFit) Threshold(fmr float64) float64 { return (f.A - math.Log10(fmr)) / f.B }

// FMR returns the fitted false-match rate at threshold t.
func (f TailFit) FMR(t float64) float64 { return math.Pow(10, f.A-f.B*t) }

// DefaultImpostorTail is the impostor tail measured on tongji-dev palms
// 1-150 with the default extractor and sample-normalised scores (palmeval
// --split tune: fitted from FMR 1e-2 to 4.5e-5 over 223,500 probe-palm
// impostor scores). A straight line in log FMR from 1e-2 is conservative
// far out: a tail that bends down (as a binomial one does) has lower FMRs
// than the line predicts, so thresholds extrapolated from it err high.
var DefaultImpostorTail = TailFit{A: 4.52, B: 21.9, MinFMR: 4.5e-5}

// DefaultTargetFPIR is the default GalleryConfig.TargetFPIR: with
// DefaultImpostorTail it leaves DefaultThreshold in force up to about
// 2,800 enrolled customers and raises it beyond (about 0.526 at 100,000 and
// 0.572 at 1,000,000, where FNMR on tongji-dev rises to 2.5% and 4.4%).
const DefaultTargetFPIR = 0.01
