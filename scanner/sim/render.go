package sim

import (
	"image"
	"math"
	"math/rand/v2"

	"github.com/palmtill/palmtill/scanner"
)

// The transient skin texture covers the palm texture at a coarser scale.
const (
	transientSize  = 128
	transientScale = 0.36
)

// pose is everything that varies between two captures of the same hand.
type pose struct {
	scale        float64 // frame pixels per nominal unit at the palm centre
	rot          float64 // in-plane rotation, radians
	cx, cy       float64 // frame position of the palm centre
	tiltX, tiltY float64 // out-of-plane tilt, radians
	fingerDelta  [4]float64
	spread       float64 // finger spread factor
	thumbDelta   float64
	warp         [6]float64 // smooth skin deformation coefficients
	gain, gamma  float64
	gradX, gradY float64 // illumination ramp across the frame
	lightX       float64 // side light across the palm's bulge
	lightY       float64
	blur         float64 // Gaussian sigma, frame pixels
	motion       float64 // motion blur length, frame pixels
	motionAng    float64
	noise        float64 // sensor noise sigma, gray levels
	cP, cR, cF   float64 // visibility of principal lines, wrinkles, fine creases
	cV           float64 // visibility of veins (NIR)
	occ          int     // 0 none, 1 shadow, 2 specular highlight
	transient    *layer  // skin texture that changes between captures (moisture, dust, skin tension)
	occX, occY   float64
	occR         float64
	bg           float64
	flat         bool // a printed photo: no tilt, no bulge
}

func captureRand(seed int64, identity uint64, capture int) *rand.Rand {
	return rand.New(rand.NewPCG(identity*0x9e3779b97f4a7c15^uint64(seed), uint64(capture)*0xd1b54a32d192ed03+uint64(seed)*0x2545f4914f6cdd1d+1))
}

// drawPose draws the capture variation for one capture.
func drawPose(cfg Config, r *rand.Rand) pose {
	fw, fh := float64(cfg.Width), float64(cfg.Height)
	base := fh / 480 * 0.85
	if cfg.Scale > 0 {
		base *= cfg.Scale
	}
	v := cfg.Variation
	p := pose{
		scale: base * (1 + v*uni(r, -0.12, 0.12)),
		rot:   v * 0.16 * gauss(r),
		cx:    fw/2 + v*0.05*fw*gauss(r),
		cy:    fh*0.64 + v*0.04*fh*gauss(r),
		tiltX: v * 0.08 * gauss(r),
		tiltY: v * 0.08 * gauss(r),
		gain:  1 + v*0.15*gauss(r),
		gamma: 1 + v*0.12*gauss(r),
		gradX: v * 0.08 * gauss(r),
		gradY: v * 0.08 * gauss(r),
		blur:  math.Abs(0.35+v*0.35*gauss(r)) + cfg.Blur,
		noise: 2 + v*uni(r, 0, 4),
		cP:    1 + v*0.12*gauss(r),
		cR:    1 + v*0.25*gauss(r),
		cF:    1 + v*0.15*gauss(r),
		cV:    1 + v*0.12*gauss(r),
		bg:    uni(r, 6, 30),
	}
	p.lightX, p.lightY = v*0.15*gauss(r), v*0.15*gauss(r)
	// Fingers spread more or less together (never crossing), each with a
	// little play of its own.
	spread := 1 + v*0.2*gauss(r)
	spread = math.Max(0.6, math.Min(1.5, spread))
	p.spread = spread
	for i := range p.fingerDelta {
		p.fingerDelta[i] = v * 0.015 * gauss(r)
	}
	p.thumbDelta = v * 0.12 * gauss(r)
	for i := range p.warp {
		p.warp[i] = v * 3.5 * gauss(r)
	}
	if r.Float64() < 0.1*v {
		p.motion, p.motionAng = uni(r, 2, 5), uni(r, 0, math.Pi)
	}
	switch u := r.Float64(); {
	case u < 0.08*v:
		p.occ = 1
	case u < 0.16*v:
		p.occ = 2
	}
	p.occX, p.occY, p.occR = uni(r, -0.5, 0.5), uni(r, -0.5, 0.5), uni(r, 0.15, 0.3)
	// How far this capture strays from the person's usual appearance: most
	// captures are close, a few differ a lot (as in real sessions).
	cond := math.Max(0.3, math.Min(2.5, math.Exp(0.5*gauss(r))))
	for i := range p.warp {
		p.warp[i] *= cond
	}
	p.transient = newLayer(transientSize, transientSize)
	p.transient.valueNoise(r, 3, v*0.03*cond)
	p.transient.valueNoise(r, 9, v*0.025*cond)
	return p
}

// hand is the per-capture silhouette: a signed distance field in nominal
// hand units on a coarse grid (negative inside).
type hand struct {
	id       *identity
	x0, y0   float64
	gw, gh   int
	sd       []float32
	fB, fT   [4]pt
	thB, thT pt
}

func capsule(p, a, b pt, ra, rb float64) float64 {
	ab := b.sub(a)
	t := ((p.x-a.x)*ab.x + (p.y-a.y)*ab.y) / (ab.x*ab.x + ab.y*ab.y)
	t = math.Max(0, math.Min(1, t))
	q := a.add(ab.mul(t))
	dx, dy := p.x-q.x, p.y-q.y
	return math.Sqrt(dx*dx+dy*dy) - (ra + (rb-ra)*t)
}

func smin(a, b, k float64) float64 {
	h := math.Max(k-math.Abs(a-b), 0) / k
	return math.Min(a, b) - h*h*k*0.25
}

// sdfAt evaluates the silhouette analytically.
func (h *hand) sdfAt(p pt) float64 {
	id := h.id
	a, b := id.w/2, id.hp/2
	xa, yb := p.x/a, p.y/b
	xa, yb = xa*xa, yb*yb
	q := math.Sqrt(math.Sqrt(xa*xa + yb*yb))
	d := (q - 1) * math.Min(a, b)
	if p.y > 0 {
		d = math.Min(d, math.Abs(p.x)-id.wristHalf)
	}
	k := 0.05 * id.w
	for i := 0; i < 4; i++ {
		d = smin(d, capsule(p, h.fB[i], h.fT[i], id.fWid[i]/2, id.fWid[i]*0.42), k)
	}
	d = smin(d, capsule(p, h.thB, h.thT, id.thumbWid/2, id.thumbWid*0.4), 2*k)
	return d
}

func newHand(id *identity, ps pose) *hand {
	h := &hand{id: id}
	for i := 0; i < 4; i++ {
		a := id.fAn[i]*ps.spread + ps.fingerDelta[i]
		h.fB[i] = id.fBase[i]
		h.fT[i] = id.fBase[i].add(pt{math.Sin(a), -math.Cos(a)}.mul(id.fLen[i]))
	}
	ta := id.thumbAng + ps.thumbDelta
	h.thB = id.thumbBase
	h.thT = id.thumbBase.add(pt{math.Sin(ta), -math.Cos(ta)}.mul(id.thumbLen))
	h.x0, h.y0 = -1.25*id.w, -1.7*id.w
	h.gw = int(2.5*id.w/sdfCell) + 2
	h.gh = int(3.4*id.w/sdfCell) + 2
	h.sd = make([]float32, h.gw*h.gh)
	for j := 0; j < h.gh; j++ {
		for i := 0; i < h.gw; i++ {
			h.sd[j*h.gw+i] = float32(h.sdfAt(pt{h.x0 + float64(i)*sdfCell, h.y0 + float64(j)*sdfCell}))
		}
	}
	return h
}

// sdf samples the silhouette field; below the grid the wrist continues.
func (h *hand) sdf(u, v float64) float64 {
	fx, fy := (u-h.x0)/sdfCell, (v-h.y0)/sdfCell
	if fx < 0 || fy < 0 || fx >= float64(h.gw-1) {
		return 1e3
	}
	if fy >= float64(h.gh-1) {
		return math.Abs(u) - h.id.wristHalf
	}
	x0, y0 := int(fx), int(fy)
	tx, ty := float32(fx-float64(x0)), float32(fy-float64(y0))
	i := y0*h.gw + x0
	a := h.sd[i]*(1-tx) + h.sd[i+1]*tx
	b := h.sd[i+h.gw]*(1-tx) + h.sd[i+h.gw+1]*tx
	return float64(a*(1-ty) + b*ty)
}

// render draws one frame of identity id in pose ps.
func render(cfg Config, id *identity, ps pose, r *rand.Rand) *image.Gray {
	W, H := cfg.Width, cfg.Height
	buf := getFloats(W * H)
	defer putFloats(buf)
	h := newHand(id, ps)
	nir := cfg.Band == scanner.BandNIR

	// Camera: focal length f; the palm plane sits at depth z0 so that one
	// nominal unit at its centre covers ps.scale pixels.
	f := 1.3 * float64(W)
	z0 := f / ps.scale
	cosR, sinR := math.Cos(ps.rot), math.Sin(ps.rot)
	tx, ty := ps.tiltX, ps.tiltY
	if ps.flat {
		tx, ty = 0, 0
	}
	// e1, e2: palm axes in camera space (rotation in plane, then tilt).
	e1 := [3]float64{cosR, sinR, 0}
	e2 := [3]float64{-sinR, cosR, 0}
	rotX := func(v [3]float64, a float64) [3]float64 {
		c, s := math.Cos(a), math.Sin(a)
		return [3]float64{v[0], c*v[1] - s*v[2], s*v[1] + c*v[2]}
	}
	rotY := func(v [3]float64, a float64) [3]float64 {
		c, s := math.Cos(a), math.Sin(a)
		return [3]float64{c*v[0] + s*v[2], v[1], -s*v[0] + c*v[2]}
	}
	e1, e2 = rotY(rotX(e1, tx), ty), rotY(rotX(e2, tx), ty)
	n := [3]float64{e1[1]*e2[2] - e1[2]*e2[1], e1[2]*e2[0] - e1[0]*e2[2], e1[0]*e2[1] - e1[1]*e2[0]}
	P0 := [3]float64{(ps.cx - float64(W)/2) * z0 / f, (ps.cy - float64(H)/2) * z0 / f, z0}
	nP0 := n[0]*P0[0] + n[1]*P0[1] + n[2]*P0[2]

	tone := id.tone * 255
	if nir {
		tone = (0.15 + 0.85*id.tone) * 235
	}
	if ps.flat {
		tone *= 0.9
	}
	org := id.texOrigin()
	iw, ih := 1/id.w, 1/id.hp
	wp := ps.warp
	colIllum := make([]float64, W)
	for x := range colIllum {
		colIllum[x] = ps.gradX * (float64(x)/float64(W) - 0.5)
	}
	// local maps a frame pixel to hand coordinates (ok false if the ray
	// misses the palm plane).
	local := func(x, y int) (u, v float64, ok bool) {
		dx := (float64(x) - float64(W)/2) / f
		dy := (float64(y) - float64(H)/2) / f
		den := n[0]*dx + n[1]*dy + n[2]
		if den <= 1e-9 {
			return 0, 0, false
		}
		t := nP0 / den
		X0, X1, X2 := t*dx-P0[0], t*dy-P0[1], t-P0[2]
		u = X0*e1[0] + X1*e1[1] + X2*e1[2]
		v = X0*e2[0] + X1*e2[1] + X2*e2[2]
		if id.left {
			u = -u
		}
		return u, v, true
	}
	pixel := func(x, y int, illum float64) float32 {
		bgv := ps.bg * illum
		u, v, ok := local(x, y)
		if !ok {
			return float32(bgv)
		}
		sd := h.sdf(u, v)
		alpha := 0.5 - sd*ps.scale
		if alpha <= 0 {
			return float32(bgv)
		}
		if alpha > 1 {
			alpha = 1
		}
		// Skin deformation, then the palm texture.
		nu, nv := u*iw, v*ih
		su := u + wp[0]*nu*nv + wp[1]*nu*nu + wp[2]*nv*nv - org.x
		sv := v + wp[3]*nu*nv + wp[4]*nu*nu + wp[5]*nv*nv - org.y
		var lines, albv float64
		if su > 0 && sv > 0 && su < float64(id.tw-1) && sv < float64(id.th-1) {
			t := id.sample5(su, sv)
			albv = float64(t[3])
			if nir {
				lines = 0.3*ps.cP*float64(t[0]) + 0.15*ps.cR*float64(t[1]) + 0.1*ps.cF*float64(t[2])
				if !ps.flat {
					lines += ps.cV * float64(t[4])
				}
			} else {
				lines = ps.cP*float64(t[0]) + ps.cR*float64(t[1]) + ps.cF*float64(t[2])
			}
		}
		// Fade the palm texture out towards the texture's edges.
		edge := min(su, sv, float64(id.tw)-su, float64(id.th)-sv) / texPad
		if edge < 1 {
			lines *= max(edge, 0)
		}
		alb := 1 + albv*max(min(edge, 1), 0) +
			float64(ps.transient.sample(su*transientScale, sv*transientScale))
		shade := 1.0
		if !ps.flat {
			r2 := min(nu*nu*2.2+nv*nv*1.4, 1.2)
			shade = 1 - 0.18*r2 + ps.lightX*max(-0.7, min(0.7, nu)) + ps.lightY*max(-0.7, min(0.7, nv))
			// Rounded edges: darker near the silhouette.
			if sd > -0.08*id.w {
				shade *= 0.75 + 0.25*(-sd/(0.08*id.w))
			}
		}
		val := tone * alb * (1 - min(lines, 0.9)) * shade * illum
		return float32(alpha*val + (1-alpha)*bgv)
	}
	// Blocks whose centre is far outside the silhouette are background.
	const blk = 8
	far := 1.6 * blk / ps.scale
	for by := 0; by < H; by += blk {
		for bx := 0; bx < W; bx += blk {
			u, v, ok := local(min(bx+blk/2, W-1), min(by+blk/2, H-1))
			outside := !ok || h.sdf(u, v) > far
			for y := by; y < min(by+blk, H); y++ {
				rowIllum := ps.gain * (1 + ps.gradY*(float64(y)/float64(H)-0.5))
				row := buf[y*W:]
				for x := bx; x < min(bx+blk, W); x++ {
					illum := rowIllum + ps.gain*colIllum[x]
					if outside {
						row[x] = float32(ps.bg * illum)
					} else {
						row[x] = pixel(x, y, illum)
					}
				}
			}
		}
	}
	applyOcclusion(buf, W, H, ps, id)
	if ps.flat {
		paperTexture(buf, W, H, r)
	}
	gaussBlur(buf, W, H, ps.blur)
	if ps.motion > 0 {
		motionBlur(buf, W, H, ps.motion, ps.motionAng)
	}
	return quantize(buf, W, H, ps, r)
}

// applyOcclusion darkens (an object in the way) or brightens (a specular
// highlight) a disc near the palm.
func applyOcclusion(buf []float32, W, H int, ps pose, id *identity) {
	if ps.occ == 0 {
		return
	}
	pw := id.w * ps.scale
	cx := ps.cx + ps.occX*pw*1.2
	cy := ps.cy + ps.occY*pw*1.2
	rad := ps.occR * pw
	for y := max(0, int(cy-rad)); y < min(H, int(cy+rad)+1); y++ {
		for x := max(0, int(cx-rad)); x < min(W, int(cx+rad)+1); x++ {
			d := math.Hypot(float64(x)-cx, float64(y)-cy) / rad
			if d >= 1 {
				continue
			}
			i := y*W + x
			if ps.occ == 1 { // a soft shadow (a sleeve, the other hand)
				a := float32(math.Min(1, (1-d)*3))
				buf[i] *= 1 - 0.45*a
			} else {
				buf[i] += float32(50 * math.Exp(-d*d*4))
			}
		}
	}
}

// paperTexture adds the fibre and halftone texture of a printed photo.
func paperTexture(buf []float32, W, H int, r *rand.Rand) {
	for i := range buf {
		x, y := i%W, i/W
		ht := float32(3 * math.Sin(float64(x)*1.9) * math.Sin(float64(y)*1.9))
		buf[i] = buf[i]*0.85 + 30 + ht + float32(4*(r.Float64()-0.5))
	}
}

// quantize applies gamma and sensor noise and returns the 8-bit frame.
func quantize(buf []float32, W, H int, ps pose, r *rand.Rand) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, W, H))
	var lut [256]float64
	for i := range lut {
		lut[i] = 255 * math.Pow(float64(i)/255, ps.gamma)
	}
	sig := ps.noise / 0.577
	var bits uint64
	nb := 0
	for i, v := range buf {
		if nb == 0 {
			bits, nb = r.Uint64(), 4
		}
		// Irwin–Hall of two 8-bit uniforms: cheap near-Gaussian noise.
		a, b := float64(bits&0xff), float64((bits>>8)&0xff)
		bits >>= 16
		nb--
		nz := ((a+b)/510 - 0.5) * sig * 1.41
		x := float64(v)
		if x < 0 {
			x = 0
		} else if x > 255 {
			x = 255
		}
		x = lut[int(x)] + nz*math.Sqrt(0.3+x/128)
		if x < 0 {
			x = 0
		} else if x > 255 {
			x = 255
		}
		img.Pix[i] = uint8(x + 0.5)
	}
	return img
}
