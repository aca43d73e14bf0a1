package matchcore

// The exact stage's first search stage (poseSet.score) with the vector
// kernel exactSample (AVX-512; exactSampleAVX2 on CPUs with AVX2 only): for the default geometry (7x7 shifts, at most 24
// sampled words per alignment) all poses x 49 shifts of one candidate are
// counted in one call, which writes one float32 score per alignment,
// bit-for-bit the value the Go loop computes, and the max of each group of
// 7 (one pose and dy); the Go side then picks the refineTop best in the same
// order and with the same tie rule, skipping groups whose max cannot enter.

const (
	// vecShifts is the number of shifts per axis the kernel handles.
	vecShifts = 7
	// vecWords is the number of sampled words per alignment it reads
	// (zero-padded).
	vecWords = 24
	// vecMaxPoses bounds the poses of a probe (canonical + maxVariants).
	vecMaxPoses = 1 + maxVariants
)

// sampleVec lays out the sampled probe words of the poses ps for
// exactSample, [pose][dx index][code vecWords, mask vecWords], or returns
// nil when the kernel does not apply (no CPU support, another geometry).
func sampleVec(ps []*prepared) []uint64 {
	if !(haveExactAsm || haveExactAVX2) || len(ps) == 0 || len(ps) > vecMaxPoses {
		return nil
	}
	for _, p := range ps {
		if 2*p.s+1 != vecShifts || p.nSample*planesWords(p.t.planes) > vecWords || len(p.sample) != vecShifts {
			return nil
		}
	}
	vec := make([]uint64, len(ps)*vecShifts*2*vecWords)
	for pi, p := range ps {
		words := p.nSample * planesWords(p.t.planes)
		for k, sm := range p.sample {
			o := (pi*vecShifts + k) * 2 * vecWords
			for j := 0; j < words; j++ {
				vec[o+j] = sm[2*j]
				vec[o+vecWords+j] = sm[2*j+1]
			}
		}
	}
	return vec
}

// scoreVec is poseSet.score's two-stage search with the first stage in
// exactSample.
func (set poseSet) scoreVec(b *Template) float64 {
	p0 := set.ps[0]
	pw := planesWords(p0.t.planes)
	var gal [vecShifts * 2 * vecWords]uint64
	if pw == 3 && p0.nSample == 7 { // the default geometry, unrolled
		for d := 0; d < vecShifts; d++ { // dy = d - s
			dst := (*[2 * vecWords]uint64)(gal[d*2*vecWords:])
			for i := 0; i < 7; i++ {
				g := (d + i*sampleRows) * 3
				c, m := (*[3]uint64)(b.code[g:]), (*[3]uint64)(b.mask[g:])
				dst[3*i], dst[3*i+1], dst[3*i+2] = c[0], c[1], c[2]
				dst[vecWords+3*i], dst[vecWords+3*i+1], dst[vecWords+3*i+2] = m[0], m[1], m[2]
			}
		}
	} else {
		for d := 0; d < vecShifts; d++ {
			o := d * 2 * vecWords
			for i := 0; i < p0.nSample; i++ {
				g := (d + i*sampleRows) * pw
				for w := 0; w < pw; w++ {
					gal[o+i*pw+w] = b.code[g+w]
					gal[o+vecWords+i*pw+w] = b.mask[g+w]
				}
			}
		}
	}
	var out [vecMaxPoses * vecShifts * 8]float32
	if haveExactAsm {
		exactSample(&gal[0], &set.vec[0], len(set.ps), &invSqrt[0], &out[0])
	} else {
		exactSampleAVX2(&gal[0], &set.vec[0], len(set.ps), &invSqrt[0], &out[0])
	}
	var top [refineTop]cand
	for i := range top {
		top[i].v = -1e30
	}
	for pi := range set.ps {
		for d := 0; d < vecShifts; d++ {
			row := out[(pi*vecShifts+d)*8 : (pi*vecShifts+d)*8+8]
			if row[7] <= top[refineTop-1].v { // the group's max: none enters
				continue
			}
			for k, v := range row[:vecShifts] {
				if v > top[refineTop-1].v {
					j := refineTop - 1
					for j > 0 && top[j-1].v < v {
						top[j] = top[j-1]
						j--
					}
					top[j] = cand{v, pi, d - p0.s, k}
				}
			}
		}
	}
	return set.refine(b, &top)
}

// prefetchTemplate starts loading t's fine code and mask into the caches,
// so that the exact stage finds the next candidate there.
func prefetchTemplate(t *Template) {
	if n := len(t.code); n > 0 {
		prefetchLines(&t.code[0], (8*n+63)/64)
		prefetchLines(&t.mask[0], (8*n+63)/64)
	}
}
