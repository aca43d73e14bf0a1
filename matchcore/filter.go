package matchcore

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// scratch holds one Extract call's work buffers, reused from pose to pose
// (an extraction would otherwise allocate about 1 MB).
type scratch struct {
	f    []float32
	i    []int
	u, v []uint32
}

// floats returns the float buffer with n elements (contents undefined).
func (s *scratch) floats(n int) []float32 {
	if cap(s.f) < n {
		s.f = make([]float32, n)
	}
	return s.f[:n]
}

// ints returns the int buffer with n elements (contents undefined).
func (s *scratch) ints(n int) []int {
	if cap(s.i) < n {
		s.i = make([]int, n)
	}
	return s.i[:n]
}

// uints returns the two uint32 buffers with n elements each.
func (s *scratch) uints(n int) ([]uint32, []uint32) {
	if cap(s.u) < n {
		s.u, s.v = make([]uint32, n), make([]uint32, n)
	}
	return s.u[:n], s.v[:n]
}

// bank8 re-lays an interleaved bank of O <= 8 filters ([tap][O]) as
// [tap][8], zero-padding the unused lanes, for filter8x8; nil if O > 8.
func bank8(bank []float32, O int) []float32 {
	if O > 8 {
		return nil
	}
	taps := len(bank) / O
	out := make([]float32, taps*8)
	for t := 0; t < taps; t++ {
		copy(out[t*8:t*8+O], bank[t*O:t*O+O])
	}
	return out
}

// filterWindows8 correlates the side x side windows of pad (row stride P)
// whose top-left elements are at offs with the [tap][8] bank, eight windows
// per filter8x8 call, and writes the first O responses of window i to
// resp[i*O:]. It panics if a window does not lie inside pad, the check the
// assembly kernel cannot make.
func filterWindows8(pad []float32, offs []int, P, side int, bank []float32, O int, resp []float32) {
	if len(bank) < side*side*8 {
		panic(fmt.Sprintf("matchcore: bank of %d taps for side %d", len(bank)/8, side))
	}
	span := (side-1)*P + side
	for _, o := range offs {
		if o < 0 || o%P+side > P || o+span > len(pad) {
			panic(fmt.Sprintf("matchcore: window at %d outside %d-element image", o, len(pad)))
		}
	}
	var blk [8]int
	var out [64]float32
	for i := 0; i < len(offs); i += 8 {
		n := copy(blk[:], offs[i:])
		for j := n; j < 8; j++ {
			blk[j] = blk[n-1]
		}
		filter8x8(&pad[0], &blk, P, side, &bank[0], &out)
		for j := 0; j < n; j++ {
			copy(resp[(i+j)*O:(i+j+1)*O], out[j*8:j*8+O])
		}
	}
}

// planeKeys writes to keys the magnitudes of orientation o's responses
// (resp interleaved by O orientations) as float bits without the sign, and
// returns their largest. For non-negative floats the bits order as the
// values do, so the fragile-bit threshold is selected, and compared with,
// as integers, without branches.
func planeKeys(resp []float32, O, o int, keys []uint32) (peak uint32) {
	for i := range keys {
		b := math.Float32bits(resp[i*O+o]) &^ (1 << 31)
		keys[i] = b
		peak = max(peak, b)
	}
	return peak
}

// above is 1 if key > thr, else 0 (both below 1<<31).
func above(key, thr uint32) uint64 { return uint64((thr - key) >> 31) }

// negative is 1 if r's sign bit is set, else 0.
func negative(r float32) uint64 { return uint64(math.Float32bits(r) >> 31) }

// selectKth returns the k-th smallest (0-based) of v, values below 1<<31
// (non-negative float32 bits), without changing v; scratch must have
// len(v) elements. It brackets the answer between two order statistics of
// a fixed sample of v and selects within the elements in the bracket; if
// the bracket misses (rare) it selects over all of v. The result is
// exactly kthSmallest's.
func selectKth(v []uint32, k int, scratch []uint32) uint32 {
	const S, margin = 64, 7
	n := len(v)
	scratch = scratch[:n]
	if n < 4*S {
		copy(scratch, v)
		return kthSmallest(scratch, k)
	}
	var samp [S]uint32
	step := n / S
	for i := range samp {
		samp[i] = v[i*step]
	}
	slices.Sort(samp[:])
	r := k * S / n
	lo, hi := uint32(0), uint32(1<<31-1)
	if r-margin >= 0 {
		lo = samp[r-margin]
	}
	if r+margin < S {
		hi = samp[r+margin]
	}
	below, j := 0, 0
	for _, x := range v { // branch-free: x < lo counts, lo <= x <= hi is kept
		under := int((x - lo) >> 31)
		over := int((hi - x) >> 31)
		below += under
		scratch[j] = x
		j += 1 - under - over
	}
	if below <= k && k < below+j {
		return kthSmallest(scratch[:j], k-below)
	}
	copy(scratch, v)
	return kthSmallest(scratch, k)
}

// kthSmallest returns the k-th smallest (0-based) of v, reordering v; it is
// the value sorting v would put at index k (quickselect, Hoare partition
// around a median of three).
func kthSmallest[T cmp.Ordered](v []T, k int) T {
	lo, hi := 0, len(v)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if v[mid] < v[lo] {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi] < v[lo] {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[hi] < v[mid] {
			v[hi], v[mid] = v[mid], v[hi]
		}
		p := v[mid]
		i, j := lo, hi
		for i <= j {
			for v[i] < p {
				i++
			}
			for v[j] > p {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k]
		}
	}
	return v[k]
}

// filterAt filters the W x W image, padded by margin to side P, with the
// pose's bank of O filters at the points of a G x G grid rotated and scaled
// by the pose about the image centre; responses are indexed
// [(gy*G+gx)*O+o], in sc's float buffer (valid until its next use). Where the CPU allows (haveFilter8x8) it runs the
// assembly kernel eight windows at a time; the responses then differ from
// the pure-Go path only by float32 rounding (fused multiply-adds).
func filterAt(pad []float32, P, margin, W, G, O int, ps pose, sc *scratch) []float32 {
	R := ps.radius
	side := 2*R + 1
	resp := sc.floats(G * G * O)
	step := float64(W) / float64(G)
	half := float64(W) / 2
	cs, sn := ps.scale*math.Cos(ps.rot), ps.scale*math.Sin(ps.rot)
	origin := func(gx, gy int) int { // window origin in pad
		u, v := step*(float64(gx)+0.5)-half, step*(float64(gy)+0.5)-half
		cx := int(math.Floor(half+cs*u-sn*v)) + margin - R
		cy := int(math.Floor(half+sn*u+cs*v)) + margin - R
		return cy*P + cx
	}
	if haveFilter8x8 && ps.bank8 != nil {
		offs := sc.ints(G * G)
		for gy := 0; gy < G; gy++ {
			for gx := 0; gx < G; gx++ {
				offs[gy*G+gx] = origin(gx, gy)
			}
		}
		filterWindows8(pad, offs, P, side, ps.bank8, O, resp)
		return resp
	}
	acc := make([]float32, O)
	for gy := 0; gy < G; gy++ {
		for gx := 0; gx < G; gx++ {
			if O == 6 && gx+1 < G {
				i := (gy*G + gx) * 6
				filter6x2(pad, origin(gx, gy), origin(gx+1, gy), P, side, ps.bank, resp[i:i+12:i+12])
				gx++
				continue
			}
			o0 := origin(gx, gy)
			cx, cy := o0%P, o0/P
			if O == 6 {
				filter6(pad[cy*P+cx:], P, side, ps.bank, resp[(gy*G+gx)*6:(gy*G+gx)*6+6])
				continue
			}
			clear(acc)
			for ky := 0; ky < side; ky++ {
				row := pad[(cy+ky)*P+cx : (cy+ky)*P+cx+side]
				fk := ps.bank[ky*side*O : (ky+1)*side*O]
				for kx, px := range row {
					f := fk[kx*O : kx*O+O]
					for o := range acc {
						acc[o] += px * f[o]
					}
				}
			}
			copy(resp[(gy*G+gx)*O:], acc)
		}
	}
	return resp
}

// filter6 is the inner loop of filterPose for six orientations: it
// correlates the side x side window at img (row stride P) with the
// interleaved bank and writes the six responses to out.
func filter6(img []float32, P, side int, bank []float32, out []float32) {
	var a0, a1, a2, a3, a4, a5 float32
	for ky := 0; ky < side; ky++ {
		row := img[ky*P : ky*P+side]
		fk := bank[ky*side*6 : (ky+1)*side*6]
		for kx, px := range row {
			f := fk[kx*6 : kx*6+6 : kx*6+6]
			a0 += px * f[0]
			a1 += px * f[1]
			a2 += px * f[2]
			a3 += px * f[3]
			a4 += px * f[4]
			a5 += px * f[5]
		}
	}
	out[0], out[1], out[2], out[3], out[4], out[5] = a0, a1, a2, a3, a4, a5
}

// filter6x2 is filter6 for two windows at once (origins o0 and o1 in img),
// sharing the filter loads; it writes 6 responses for each to out.
func filter6x2(img []float32, o0, o1, P, side int, bank []float32, out []float32) {
	var a0, a1, a2, a3, a4, a5 float32
	var b0, b1, b2, b3, b4, b5 float32
	for ky := 0; ky < side; ky++ {
		r0 := img[o0+ky*P : o0+ky*P+side]
		r1 := img[o1+ky*P : o1+ky*P+side]
		r1 = r1[:len(r0)]
		fk := bank[ky*side*6 : (ky+1)*side*6]
		for kx, p := range r0 {
			q := r1[kx]
			f := fk[kx*6 : kx*6+6 : kx*6+6]
			f0, f1, f2, f3, f4, f5 := f[0], f[1], f[2], f[3], f[4], f[5]
			a0 += p * f0
			a1 += p * f1
			a2 += p * f2
			a3 += p * f3
			a4 += p * f4
			a5 += p * f5
			b0 += q * f0
			b1 += q * f1
			b2 += q * f2
			b3 += q * f3
			b4 += q * f4
			b5 += q * f5
		}
	}
	out[0], out[1], out[2], out[3], out[4], out[5] = a0, a1, a2, a3, a4, a5
	out[6], out[7], out[8], out[9], out[10], out[11] = b0, b1, b2, b3, b4, b5
}
