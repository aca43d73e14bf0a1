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
