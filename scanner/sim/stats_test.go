package sim

import (
	"fmt"
	"math"
	"sort"
)

func summary(v []float64) string {
	if len(v) == 0 {
		return "none"
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	var m, q float64
	for _, x := range s {
		m += x
	}
	m /= float64(len(s))
	for _, x := range s {
		q += (x - m) * (x - m)
	}
	return fmt.Sprintf("n=%d mean=%.3f sd=%.3f min=%.3f median=%.3f max=%.3f", len(s), m, math.Sqrt(q/float64(len(s))), s[0], s[len(s)/2], s[len(s)-1])
}
