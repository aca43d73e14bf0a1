package matchcore

import (
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
