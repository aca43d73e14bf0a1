package scanner

import "math"

// mask is a binary image; true is hand.
type mask struct {
	w, h int
	on   []bool
}

// largestComponent keeps only the largest 4-connected foreground component of
// m and returns its size in pixels.
func (m *mask) largestComponent() int {
	label := make([]int32, len(m.on))
	stack := make([]int32, 0, 1024)
	var best, bestLabel int32
	var next int32
	for i, v := range m.on {
		if !v || label[i] != 0 {
			continue
		}
		next++
		var n int32
		stack = append(stack[:0], int32(i))
		label[i] = next
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			n++
			x, y := int(p)%m.w, int(p)/m.w
			push := func(q int) {
				if m.on[q] && label[q] == 0 {
					label[q] = next
					stack = append(stack, int32(q))
				}
			}
			if x > 0 {
				push(int(p) - 1)
			}
			if x < m.w-1 {
				push(int(p) + 1)
			}
			if y > 0 {
				push(int(p) - m.w)
			}
			if y < m.h-1 {
				push(int(p) + m.w)
			}
		}
		if n > best {
			best, bestLabel = n, next
		}
	}
	for i := range m.on {
		m.on[i] = label[i] == bestLabel && bestLabel != 0
	}
	return int(best)
}

// fillHoles turns background regions not connected to the image border into
// foreground.
func (m *mask) fillHoles() {
	reach := make([]bool, len(m.on))
	stack := make([]int32, 0, 1024)
	seed := func(i int) {
		if !m.on[i] && !reach[i] {
			reach[i] = true
			stack = append(stack, int32(i))
		}
	}
	for x := 0; x < m.w; x++ {
		seed(x)
		seed((m.h-1)*m.w + x)
	}
	for y := 0; y < m.h; y++ {
		seed(y * m.w)
		seed(y*m.w + m.w - 1)
	}
	for len(stack) > 0 {
		p := int(stack[len(stack)-1])
		stack = stack[:len(stack)-1]
		x, y := p%m.w, p/m.w
		if x > 0 {
			seed(p - 1)
		}
		if x < m.w-1 {
			seed(p + 1)
		}
		if y > 0 {
			seed(p - m.w)
		}
		if y < m.h-1 {
			seed(p + m.w)
		}
	}
	for i := range m.on {
		if !reach[i] {
			m.on[i] = true
		}
	}
}

// distanceMax runs a 3-4 chamfer distance transform (outside the image counts
// as background) and returns the deepest point and its distance in pixels.
func (m *mask) distanceMax() (cx, cy int, r float64) {
	const inf = math.MaxInt32 / 2
	d := make([]int32, len(m.on))
	w, h := m.w, m.h
	for i, v := range m.on {
		if v {
			d[i] = inf
		}
	}
	at := func(x, y int) int32 {
		if x < 0 || y < 0 || x >= w || y >= h {
			return 0
		}
		return d[y*w+x]
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			if d[i] == 0 {
				continue
			}
			v := d[i]
			v = min(v, at(x-1, y)+3, at(x, y-1)+3, at(x-1, y-1)+4, at(x+1, y-1)+4)
			d[i] = v
		}
	}
	var best int32
	for y := h - 1; y >= 0; y-- {
		for x := w - 1; x >= 0; x-- {
			i := y*w + x
			if d[i] == 0 {
				continue
			}
			v := d[i]
			v = min(v, at(x+1, y)+3, at(x, y+1)+3, at(x+1, y+1)+4, at(x-1, y+1)+4)
			d[i] = v
			if v > best {
				best, cx, cy = v, x, y
			}
		}
	}
	return cx, cy, float64(best) / 3
}

// contourPoint is one pixel of the traced outer boundary.
type contourPoint struct {
	x, y   int
	border bool // on the image border: the hand leaves the frame here
}

// traceContour returns the outer boundary of the (single) foreground
// component by Moore-neighbour tracing, clockwise in image coordinates.
func (m *mask) traceContour() []contourPoint {
	w, h := m.w, m.h
	fg := func(x, y int) bool {
		return x >= 0 && y >= 0 && x < w && y < h && m.on[y*w+x]
	}
	sx, sy := -1, -1
	for i, v := range m.on {
		if v {
			sx, sy = i%w, i/w
			break
		}
	}
	if sx < 0 {
		return nil
	}
	dx := [8]int{-1, -1, 0, 1, 1, 1, 0, -1}
	dy := [8]int{0, -1, -1, -1, 0, 1, 1, 1}
	dirOf := func(ddx, ddy int) int {
		for k := 0; k < 8; k++ {
			if dx[k] == ddx && dy[k] == ddy {
				return k
			}
		}
		return 0
	}
	mk := func(x, y int) contourPoint {
		return contourPoint{x: x, y: y, border: x == 0 || y == 0 || x == w-1 || y == h-1}
	}
	out := []contourPoint{mk(sx, sy)}
	px, py, d := sx, sy, 0 // d: direction from p to its background backtrack
	limit := 4 * (w*h + 8)
	for it := 0; it < limit; it++ {
		found := false
		for k := 1; k <= 8; k++ {
			nd := (d + k) % 8
			qx, qy := px+dx[nd], py+dy[nd]
			if !fg(qx, qy) {
				continue
			}
			bd := (d + k + 7) % 8
			bx, by := px+dx[bd], py+dy[bd]
			prevX, prevY := px, py
			px, py = qx, qy
			d = dirOf(bx-px, by-py)
			found = true
			if prevX == sx && prevY == sy && len(out) > 1 && px == out[1].x && py == out[1].y {
				return out[:len(out)-1]
			}
			out = append(out, mk(px, py))
			break
		}
		if !found {
			break
		}
	}
	return out
}
