package sim

import (
	"math"
	"math/rand/v2"
	"sync"
)

// Nominal hand units: the palm of an average identity is about palmW wide.
// The palm texture has one texel per nominal unit.
const (
	palmW   = 256.0
	texPad  = 20.0
	sdfCell = 6.0
)

// identity is everything that is fixed about one simulated person's hand.
// All fields are read-only once built, so identities are shared between
// goroutines through the cache.
type identity struct {
	id    uint64
	left  bool    // mirror image of a right hand
	w, hp float64 // palm width and height (nominal units)
	tone  float64 // skin albedo, visible band, 0..1
	// Fingers, index to little: base on the palm's top edge, length, width,
	// resting angle from the palm's axis (radians, positive towards little).
	fBase           [4]pt
	fLen, fWid, fAn [4]float64
	thumbBase       pt
	thumbLen        float64
	thumbWid        float64
	thumbAng        float64 // direction of the thumb, radians from -y axis
	wristHalf       float64
	// Palm texture, texture origin at hand (-w/2-texPad, -hp/2-texPad).
	tw, th                    int
	princ, wrink, fine, veins *layer
	albedo                    *layer // multiplicative variation around 1
	// packed interleaves princ, wrink, fine, albedo and veins per texel
	// as 16-bit fixed point (about 0.9 MB per identity), so that one
	// bilinear lookup reads them all.
	packed []uint16
}

// Fixed-point packing of the palm layers: creases and veins in [0, 1),
// albedo offset by half.
const (
	nPacked    = 5
	packScale  = 65535
	albedoBias = 0.5
)

// pack fills packed from the layers and drops the float layers.
func (id *identity) pack() {
	n := id.tw * id.th
	id.packed = make([]uint16, nPacked*n)
	q := func(v float32) uint16 { return uint16(math.Round(float64(min(max(v, 0), 1)) * packScale)) }
	for i := 0; i < n; i++ {
		id.packed[nPacked*i] = q(id.princ.v[i])
		id.packed[nPacked*i+1] = q(id.wrink.v[i])
		id.packed[nPacked*i+2] = q(id.fine.v[i])
		id.packed[nPacked*i+3] = q(id.albedo.v[i] + albedoBias)
		id.packed[nPacked*i+4] = q(id.veins.v[i])
	}
	id.princ, id.wrink, id.fine, id.albedo, id.veins = nil, nil, nil, nil, nil
}

// sample5 reads the packed layers bilinearly at (x, y), which must lie
// inside [0, tw-1) × [0, th-1): principal lines, wrinkles, fine creases,
// albedo variation, veins.
func (id *identity) sample5(x, y float64) (out [nPacked]float32) {
	x0, y0 := int(x), int(y)
	fx, fy := float32(x-float64(x0)), float32(y-float64(y0))
	const k = 1.0 / packScale
	w00, w01, w10, w11 := (1-fx)*(1-fy)*k, fx*(1-fy)*k, (1-fx)*fy*k, fx*fy*k
	i := nPacked * (y0*id.tw + x0)
	j := i + nPacked*id.tw
	p := id.packed
	for c := 0; c < nPacked; c++ {
		out[c] = float32(p[i+c])*w00 + float32(p[i+nPacked+c])*w01 + float32(p[j+c])*w10 + float32(p[j+nPacked+c])*w11
	}
	out[3] -= albedoBias
	return out
}

// texOrigin returns the hand coordinates of texel (0,0).
func (id *identity) texOrigin() pt { return pt{-id.w/2 - texPad, -id.hp/2 - texPad} }

var cache = struct {
	sync.Mutex
	m map[uint64]*identity
}{m: make(map[uint64]*identity)}

const cacheMax = 64

// getIdentity returns the (cached) identity for a seed.
func getIdentity(seed uint64) *identity {
	cache.Lock()
	id, ok := cache.m[seed]
	cache.Unlock()
	if ok {
		return id
	}
	id = buildIdentity(seed)
	cache.Lock()
	if len(cache.m) >= cacheMax {
		for k := range cache.m { // drop an arbitrary half
			delete(cache.m, k)
			if len(cache.m) < cacheMax/2 {
				break
			}
		}
	}
	cache.m[seed] = id
	cache.Unlock()
	return id
}

func identityRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed^0x9e3779b97f4a7c15, seed*0xbf58476d1ce4e5b9+0x94d049bb133111eb))
}

func buildIdentity(seed uint64) *identity {
	r := identityRand(seed)
	id := &identity{id: seed}
	id.left = r.IntN(2) == 1
	id.w = palmW * uni(r, 0.9, 1.1)
	id.hp = id.w * uni(r, 1.0, 1.15)
	id.tone = uni(r, 0.38, 0.58)
	top := -id.hp / 2
	lens := [4]float64{0.74, 0.84, 0.79, 0.6}
	wids := [4]float64{0.215, 0.225, 0.21, 0.18}
	angs := [4]float64{-0.2, -0.07, 0.06, 0.2}
	for i := 0; i < 4; i++ {
		x := (-0.38 + 0.255*float64(i) + 0.012*gauss(r)) * id.w
		drop := 0.0
		if i == 3 {
			drop = uni(r, 0.04, 0.09) * id.w
		}
		id.fBase[i] = pt{x, top + 0.06*id.w + drop}
		id.fLen[i] = lens[i] * id.w * uni(r, 0.92, 1.08)
		id.fWid[i] = wids[i] * id.w * uni(r, 0.94, 1.06)
		id.fAn[i] = angs[i] * uni(r, 0.8, 1.2)
	}
	id.thumbBase = pt{-0.4 * id.w, uni(r, 0.16, 0.26) * id.hp}
	id.thumbLen = uni(r, 0.6, 0.72) * id.w
	id.thumbWid = uni(r, 0.25, 0.29) * id.w
	id.thumbAng = -uni(r, 0.85, 1.15) // towards -x, upwards
	id.wristHalf = uni(r, 0.36, 0.42) * id.w

	id.tw = int(id.w + 2*texPad)
	id.th = int(id.hp + 2*texPad)
	id.princ = newLayer(id.tw, id.th)
	id.wrink = newLayer(id.tw, id.th)
	id.fine = newLayer(id.tw, id.th)
	id.veins = newLayer(id.tw, id.th)
	id.albedo = newLayer(id.tw, id.th)
	id.paintCreases(r)
	id.paintVeins(r)
	id.albedo.valueNoise(r, 40, 0.07)
	id.albedo.valueNoise(r, 12, 0.03)
	id.pack()
	return id
}

// palmPt maps palm-normalised coordinates (x, y in about [-0.5, 0.5], y
// towards the wrist, x towards the little finger) to texels.
func (id *identity) palmPt(x, y float64) pt {
	return pt{x*id.w + id.w/2 + texPad, y*id.hp + id.hp/2 + texPad}
}

// jit returns a palm-normalised point jittered by sd.
func jit(r *rand.Rand, x, y, sd float64) (float64, float64) {
	return x + sd*gauss(r), y + sd*gauss(r)
}

// paintCreases draws the principal lines, wrinkles and fine creases as
// cubic Bézier curves placed relative to the palm (after BezierPalm, Zhao et
// al., ECCV 2022).
func (id *identity) paintCreases(r *rand.Rand) {
	P := func(x, y, sd float64) pt { x, y = jit(r, x, y, 0.75*sd); return id.palmPt(x, y) }
	// How marked this person's lines, wrinkles and fine creases are.
	sP, sW, sF := uni(r, 0.7, 1.3), uni(r, 0.6, 1.5), uni(r, 0.5, 1.6)
	princ := func(p0, p1, p2, p3 pt) {
		id.princ.splat(bezier{p0, p1, p2, p3, uni(r, 1.2, 2.0), sP * uni(r, 0.2, 0.35), uni(r, 0.5, 0.9)})
	}
	// Heart line: ulnar edge towards the index–middle gap.
	princ(P(0.52, -0.24, 0.035), P(0.25, -0.27, 0.05), P(0.02, -0.30, 0.06), P(-0.2, -0.42, 0.05))
	// Head line: radial edge across the palm.
	hy := uni(r, -0.22, -0.16)
	princ(P(-0.52, hy, 0.02), P(-0.25, hy+0.04, 0.05), P(0.02, -0.04, 0.06), P(0.3, 0.06, 0.08))
	// Life line: from near the head line around the thenar eminence.
	princ(P(-0.50, hy+0.02, 0.02), P(-0.15, -0.06, 0.05), P(-0.1, 0.25, 0.06), P(-0.24, 0.56, 0.06))
	if r.Float64() < 0.6 { // fate line
		x := uni(r, -0.06, 0.1)
		id.princ.splat(bezier{id.palmPt(x, 0.56), P(x, 0.3, 0.04), P(x, 0.05, 0.04), P(x, uni(r, -0.3, -0.05), 0.04),
			uni(r, 0.9, 1.5), uni(r, 0.15, 0.3), 0.8})
	}
	// Wrinkles: 5–15 shorter creases anywhere on the palm.
	nw := 5 + r.IntN(11)
	for i := 0; i < nw; i++ {
		c := pt{uni(r, -0.42, 0.42), uni(r, -0.42, 0.45)}
		a := uni(r, 0, math.Pi)
		l := uni(r, 0.08, 0.3)
		d := pt{math.Cos(a) * l / 2, math.Sin(a) * l / 2}
		p0, p3 := c.sub(d), c.add(d)
		bend := pt{-d.y, d.x}.mul(0.4 * gauss(r))
		id.wrink.splat(bezier{id.palmPt(p0.x, p0.y), id.palmPt(lerp(p0, p3, 0.33).add(bend).x, lerp(p0, p3, 0.33).add(bend).y),
			id.palmPt(lerp(p0, p3, 0.67).add(bend).x, lerp(p0, p3, 0.67).add(bend).y), id.palmPt(p3.x, p3.y),
			uni(r, 0.7, 1.2), sW * uni(r, 0.12, 0.25), 0.9})
	}
	// Fine creases: a mesh in two dominant directions.
	a1, a2 := uni(r, 0, math.Pi), 0.0
	a2 = a1 + uni(r, 0.9, 1.6)
	nf := 1800 + r.IntN(800)
	for i := 0; i < nf; i++ {
		a := a1
		if r.IntN(2) == 1 {
			a = a2
		}
		a += 0.25 * gauss(r)
		c := pt{uni(r, 0, float64(id.tw)), uni(r, 0, float64(id.th))}
		l := uni(r, 3, 10)
		d := pt{math.Cos(a) * l / 2, math.Sin(a) * l / 2}
		id.fine.splat(bezier{c.sub(d), c.sub(d.mul(0.33)), c.add(d.mul(0.33)), c.add(d), uni(r, 0.5, 0.8), sF * uni(r, 0.03, 0.08), 0.9})
	}
}

// paintVeins draws the near-infrared vein pattern: as in real NIR palms, a
// polygonal network of vessels (nodes on a jittered grid, each joined to its
// nearest neighbours by slightly bent curves) over a few broad veins rising
// from the wrist.
func (id *identity) paintVeins(r *rand.Rand) {
	var nodes []pt
	for gy := 0; gy < 4; gy++ {
		for gx := 0; gx < 4; gx++ {
			if r.Float64() < 0.15 {
				continue
			}
			nodes = append(nodes, pt{-0.42 + 0.28*float64(gx) + 0.09*gauss(r), -0.4 + 0.27*float64(gy) + 0.09*gauss(r)})
		}
	}
	seg := func(a, b pt, w, d float64) {
		bend := pt{-(b.y - a.y), b.x - a.x}.mul(0.35 * gauss(r))
		p1, p2 := lerp(a, b, 0.33).add(bend), lerp(a, b, 0.67).add(bend)
		id.veins.splat(bezier{id.palmPt(a.x, a.y), id.palmPt(p1.x, p1.y), id.palmPt(p2.x, p2.y), id.palmPt(b.x, b.y), w, d, 0.3})
	}
	for i, a := range nodes {
		// Join to the two nearest later nodes (each pair once).
		best := [2]int{-1, -1}
		bd := [2]float64{math.Inf(1), math.Inf(1)}
		for j := i + 1; j < len(nodes); j++ {
			d := math.Hypot(nodes[j].x-a.x, nodes[j].y-a.y)
			if d < bd[0] {
				best[1], bd[1] = best[0], bd[0]
				best[0], bd[0] = j, d
			} else if d < bd[1] {
				best[1], bd[1] = j, d
			}
		}
		for k, j := range best {
			if j >= 0 && (k == 0 || r.Float64() < 0.6) {
				seg(a, nodes[j], uni(r, 4, 7), uni(r, 0.07, 0.15))
			}
		}
	}
	n := 2 + r.IntN(2)
	for i := 0; i < n; i++ {
		x0 := uni(r, -0.3, 0.3)
		seg(pt{x0, 0.62}, pt{x0 + uni(r, -0.2, 0.2), uni(r, -0.1, 0.2)}, uni(r, 6, 9), uni(r, 0.1, 0.18))
	}
}
