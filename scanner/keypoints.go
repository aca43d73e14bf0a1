package scanner

import (
	"math"
	"sort"
)

// vec is a 2-D point or vector in pixel coordinates.
type vec struct{ x, y float64 }

func (a vec) add(b vec) vec       { return vec{a.x + b.x, a.y + b.y} }
func (a vec) sub(b vec) vec       { return vec{a.x - b.x, a.y - b.y} }
func (a vec) scale(s float64) vec { return vec{a.x * s, a.y * s} }
func (a vec) dot(b vec) float64   { return a.x*b.x + a.y*b.y }
func (a vec) cross(b vec) float64 { return a.x*b.y - a.y*b.x }
func (a vec) norm() float64       { return math.Hypot(a.x, a.y) }
func (a vec) unit() vec {
	n := a.norm()
	if n == 0 {
		return vec{}
	}
	return a.scale(1 / n)
}

// defect is a convexity defect of the hand contour: a concavity such as the
// gap between two fingers. Its deepest point is a valley candidate.
type defect struct {
	idx   int     // contour index of the deepest point
	p     vec     // deepest point
	depth float64 // distance from the hull edge
	open  vec     // unit vector from p towards the hull edge: where the gap opens
	width float64 // length of the hull edge spanning the gap
	angle float64 // opening angle of the gap's sides (radians): narrow between fingers, wide at the thumb
}

// convexHullIdx returns the indices of the contour points on its convex hull,
// sorted by contour index.
func convexHullIdx(c []contourPoint) []int {
	n := len(c)
	if n < 3 {
		return nil
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool {
		pa, pb := c[idx[a]], c[idx[b]]
		if pa.x != pb.x {
			return pa.x < pb.x
		}
		return pa.y < pb.y
	})
	cross := func(o, a, b int) int {
		return (c[a].x-c[o].x)*(c[b].y-c[o].y) - (c[a].y-c[o].y)*(c[b].x-c[o].x)
	}
	hull := make([]int, 0, 64)
	for _, i := range idx {
		for len(hull) >= 2 && cross(hull[len(hull)-2], hull[len(hull)-1], i) <= 0 {
			hull = hull[:len(hull)-1]
		}
		hull = append(hull, i)
	}
	lower := len(hull) + 1
	for k := n - 2; k >= 0; k-- {
		i := idx[k]
		for len(hull) >= lower && cross(hull[len(hull)-2], hull[len(hull)-1], i) <= 0 {
			hull = hull[:len(hull)-1]
		}
		hull = append(hull, i)
	}
	hull = hull[:len(hull)-1]
	sort.Ints(hull)
	return hull
}

// hullDepth returns, for every contour point, its distance from the edge of
// the convex hull that spans it (0 on the hull): how deep in a concavity
// such as a finger gap it lies. Where the hand leaves the frame the contour
// runs along the image border, which the hull would cover with one long
// edge; the hull is split at the ends of every border run so that each gap
// opening onto the border is measured on its own.
func hullDepth(c []contourPoint) []float64 {
	n := len(c)
	depth := make([]float64, n)
	hull := convexHullIdx(c)
	if len(hull) < 2 {
		return depth
	}
	inHull := make(map[int]bool, len(hull))
	for _, i := range hull {
		inHull[i] = true
	}
	for i := range c {
		if c[i].border && (!c[(i+n-1)%n].border || !c[(i+1)%n].border) && !inHull[i] {
			hull = append(hull, i)
			inHull[i] = true
		}
	}
	sort.Ints(hull)
	for h := range hull {
		i, j := hull[h], hull[(h+1)%len(hull)]
		span := (j - i + n) % n
		a := vec{float64(c[i].x), float64(c[i].y)}
		b := vec{float64(c[j].x), float64(c[j].y)}
		e := b.sub(a)
		el := e.norm()
		if el == 0 {
			continue
		}
		for s := 1; s < span; s++ {
			k := (i + s) % n
			p := vec{float64(c[k].x), float64(c[k].y)}
			depth[k] = math.Abs(e.cross(p.sub(a))) / el
		}
	}
	return depth
}

// radialValleys finds valley candidates as prominent local minima of the
// contour's distance from the palm centre: between two fingers the contour
// dips towards the palm. Points on the image border count as far away (the
// finger goes on outside the frame). minProm is the least prominence (how
// far the contour rises on both sides before coming lower again); a valley
// must also lie at least minDepth inside the convex hull (straight edges
// have radial minima too, but are not gaps).
func radialValleys(c []contourPoint, w, h int, centre vec, minProm, minDepth float64) []defect {
	n := len(c)
	if n < 8 {
		return nil
	}
	hd := hullDepth(c)
	far := 0.0
	raw := make([]float64, n)
	for i, p := range c {
		raw[i] = math.Hypot(float64(p.x)-centre.x, float64(p.y)-centre.y)
		far = math.Max(far, raw[i])
	}
	for i, p := range c {
		if p.border {
			raw[i] = 2 * far
		}
	}
	// Circular moving average over 5 points.
	d := make([]float64, n)
	for i := range d {
		var s float64
		for k := -2; k <= 2; k++ {
			s += raw[(i+k+n)%n]
		}
		d[i] = s / 5
	}
	var out []defect
	for i := 0; i < n; i++ {
		if c[i].border || hd[i] < minDepth || d[i] > d[(i+n-1)%n] || d[i] > d[(i+1)%n] {
			continue
		}
		// A real valley lies inside the frame, not in a sliver along its edge.
		const margin = 3
		if x, y := c[i].x, c[i].y; x < margin || y < margin || x >= w-margin || y >= h-margin {
			continue
		}
		// Plateaus: keep the first point only.
		if d[i] == d[(i+n-1)%n] {
			continue
		}
		rise := func(step int) float64 {
			hi := d[i]
			for k, j := 1, i; k < n; k++ {
				j = (j + step + n) % n
				if d[j] < d[i] {
					break
				}
				hi = math.Max(hi, d[j])
			}
			return hi - d[i]
		}
		prom := math.Min(rise(1), rise(-1))
		if prom < minProm {
			continue
		}
		p := vec{float64(c[i].x), float64(c[i].y)}
		// The gap's sides, a little way out along the contour.
		k := max(3, int(0.35*minProm/0.25))
		l := vec{float64(c[(i-k+n)%n].x), float64(c[(i-k+n)%n].y)}.sub(p).unit()
		r := vec{float64(c[(i+k)%n].x), float64(c[(i+k)%n].y)}.sub(p).unit()
		ang := math.Acos(math.Max(-1, math.Min(1, l.dot(r))))
		out = append(out, defect{idx: i, p: p, depth: prom, open: p.sub(centre).unit(), angle: ang})
	}
	return out
}

// maxPairAngle is the widest gap the two-gap fallbacks accept: gaps between
// fingers are narrow, the thumb's and the wrist's are not.
const maxPairAngle = 160 * math.Pi / 180

// fingerValleys picks, among the defects, the three consecutive gaps between
// the four fingers (index–middle, middle–ring, ring–little) and returns the
// two outer ones. palmR is the palm's inscribed radius, used for scale.
// ok is false when no plausible triple (or pair) exists.
func fingerValleys(ds []defect, centre vec, palmR float64) (v1, v3 vec, open vec, ok bool) {
	n := len(ds)
	bestCost := math.Inf(1)
	for s := 0; s < n && n >= 3; s++ {
		a, b, c := ds[s], ds[(s+1)%n], ds[(s+2)%n]
		d1, d2 := b.p.sub(a.p).norm(), c.p.sub(b.p).norm()
		L := c.p.sub(a.p).norm()
		if L < 0.4*palmR || L > 3.2*palmR || d1 == 0 || d2 == 0 {
			continue
		}
		// Gaps between fingers open to the same side; the thumb's does not.
		if a.open.dot(c.open) < 0 || a.open.dot(b.open) < 0.5 || b.open.dot(c.open) < 0.5 {
			continue
		}
		balance := math.Abs(d1-d2) / (d1 + d2)
		// The outer valleys' gaps should open away from the palm side of the
		// line joining them.
		nrm := vec{-(c.p.y - a.p.y), c.p.x - a.p.x}.unit()
		mo := a.open.add(b.open).add(c.open).unit()
		align := 1 - math.Abs(nrm.dot(mo))
		cost := balance + align + (a.angle+b.angle+c.angle)/math.Pi
		if cost < bestCost {
			bestCost, v1, v3, open = cost, a.p, c.p, mo
			ok = true
		}
	}
	if ok {
		return v1, v3, open, true
	}
	// Two gaps only (e.g. a contact scanner whose peg fills the middle
	// gap): accept a pair that opens to the same side and is as far apart
	// as the outer valleys of a hand this size are.
	bestCost = math.Inf(1)
	for s := 0; s < n && n >= 2; s++ {
		a, c := ds[s], ds[(s+1)%n]
		if n == 2 && s == 1 {
			break
		}
		L := c.p.sub(a.p).norm()
		if L < 0.8*palmR || L > 2.5*palmR || a.open.dot(c.open) < 0.5 || max(a.angle, c.angle) > maxPairAngle {
			continue
		}
		nrm := vec{-(c.p.y - a.p.y), c.p.x - a.p.x}.unit()
		mo := a.open.add(c.open).unit()
		cost := 1 - math.Abs(nrm.dot(mo))
		if cost < 0.5 && cost < bestCost {
			bestCost, v1, v3, open, ok = cost, a.p, c.p, mo, true
		}
	}
	if ok {
		return v1, v3, open, true
	}
	// Two neighbouring gaps only: the middle valley is the one nearer the
	// palm centre's foot on their line; the missing outer valley is as far
	// beyond it on the other side.
	bestCost = math.Inf(1)
	for s := 0; s < n && n >= 2; s++ {
		a, c := ds[s], ds[(s+1)%n]
		if n == 2 && s == 1 {
			break
		}
		e := c.p.sub(a.p)
		L := e.norm()
		if L < 0.3*palmR || L >= 0.8*palmR || a.open.dot(c.open) < 0.7 || max(a.angle, c.angle) > maxPairAngle {
			continue
		}
		nrm := vec{-e.y, e.x}.unit()
		mo := a.open.add(c.open).unit()
		cost := 1 - math.Abs(nrm.dot(mo))
		if cost >= 0.3 || cost >= bestCost {
			continue
		}
		t := centre.sub(a.p).dot(e) / (L * L)
		bestCost, open, ok = cost, mo, true
		if t < 0.5 {
			v1, v3 = a.p.sub(e), c.p
		} else {
			v1, v3 = a.p, c.p.add(e)
		}
	}
	if ok {
		return v1, v3, open, true
	}
	return vec{}, vec{}, vec{}, false
}
