package sim

import (
	"math"
	"math/rand/v2"
)

// pt is a 2-D point in texture or hand coordinates.
type pt struct{ x, y float64 }

func (a pt) add(b pt) pt         { return pt{a.x + b.x, a.y + b.y} }
func (a pt) sub(b pt) pt         { return pt{a.x - b.x, a.y - b.y} }
func (a pt) mul(s float64) pt    { return pt{a.x * s, a.y * s} }
func lerp(a, b pt, t float64) pt { return a.add(b.sub(a).mul(t)) }

// bezier is a cubic Bézier crease with a width and depth profile.
type bezier struct {
	p0, p1, p2, p3 pt
	width          float64 // Gaussian sigma at the middle, texels
	depth          float64 // darkening at the middle, 0..1
	taper          float64 // 0: constant; 1: fades to nothing at both ends
}

func (b bezier) at(t float64) pt {
	u := 1 - t
	return b.p0.mul(u * u * u).add(b.p1.mul(3 * u * u * t)).add(b.p2.mul(3 * u * t * t)).add(b.p3.mul(t * t * t))
}

// layer is a float32 raster in texture coordinates.
type layer struct {
	w, h int
	v    []float32
}

func newLayer(w, h int) *layer { return &layer{w: w, h: h, v: make([]float32, w*h)} }

// splat draws the crease into l, keeping the maximum darkening per texel.
func (l *layer) splat(b bezier) {
	// Arc length estimate for the sampling step.
	n := 16
	var length float64
	prev := b.at(0)
	for i := 1; i <= n; i++ {
		p := b.at(float64(i) / float64(n))
		length += math.Hypot(p.x-prev.x, p.y-prev.y)
		prev = p
	}
	steps := int(length/0.5) + 2
	for i := 0; i <= steps; i++ {
		t := float64(i) / float64(steps)
		prof := 1 - b.taper*math.Pow(math.Abs(2*t-1), 3)
		sig := b.width * (0.55 + 0.45*prof)
		d := b.depth * prof
		if d <= 0.003 || sig <= 0.05 {
			continue
		}
		p := b.at(t)
		rad := int(math.Ceil(2.5 * sig))
		cx, cy := int(math.Round(p.x)), int(math.Round(p.y))
		inv := 1 / (2 * sig * sig)
		for y := max(cy-rad, 0); y <= min(cy+rad, l.h-1); y++ {
			dy := float64(y) - p.y
			row := l.v[y*l.w:]
			for x := max(cx-rad, 0); x <= min(cx+rad, l.w-1); x++ {
				dx := float64(x) - p.x
				e := (dx*dx + dy*dy) * inv
				if e >= expMax {
					continue
				}
				v := float32(d) * expLUT[int(e*expRes)]
				if v > row[x] {
					row[x] = v
				}
			}
		}
	}
}

const (
	expMax = 8.0
	expRes = 256.0
)

// expLUT[i] = exp(-(i+0.5)/expRes): the crease profile without math.Exp.
var expLUT = func() (t [int(expMax*expRes) + 1]float32) {
	for i := range t {
		t[i] = float32(math.Exp(-(float64(i) + 0.5) / expRes))
	}
	return t
}()

// sample reads l bilinearly at (x, y); outside the raster it is 0.
func (l *layer) sample(x, y float64) float32 {
	if x < 0 || y < 0 || x >= float64(l.w-1) || y >= float64(l.h-1) {
		return 0
	}
	x0, y0 := int(x), int(y)
	fx, fy := float32(x-float64(x0)), float32(y-float64(y0))
	i := y0*l.w + x0
	a := l.v[i]*(1-fx) + l.v[i+1]*fx
	b := l.v[i+l.w]*(1-fx) + l.v[i+l.w+1]*fx
	return a*(1-fy) + b*fy
}

// valueNoise fills l with smooth noise of the given cell size (texels),
// values in [-1, 1].
func (l *layer) valueNoise(r *rand.Rand, cell float64, amp float64) {
	gw, gh := int(float64(l.w)/cell)+3, int(float64(l.h)/cell)+3
	g := make([]float64, gw*gh)
	for i := range g {
		g[i] = 2*r.Float64() - 1
	}
	for y := 0; y < l.h; y++ {
		fy := float64(y) / cell
		y0 := int(fy)
		ty := smooth(fy - float64(y0))
		for x := 0; x < l.w; x++ {
			fx := float64(x) / cell
			x0 := int(fx)
			tx := smooth(fx - float64(x0))
			a := g[y0*gw+x0]*(1-tx) + g[y0*gw+x0+1]*tx
			b := g[(y0+1)*gw+x0]*(1-tx) + g[(y0+1)*gw+x0+1]*tx
			l.v[y*l.w+x] += float32(amp * (a*(1-ty) + b*ty))
		}
	}
}

func smooth(t float64) float64 { return t * t * (3 - 2*t) }

// gauss returns a standard normal variate.
func gauss(r *rand.Rand) float64 { return r.NormFloat64() }

// uni returns a uniform variate in [a, b).
func uni(r *rand.Rand, a, b float64) float64 { return a + (b-a)*r.Float64() }
