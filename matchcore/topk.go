package matchcore

import (
	"slices"
	"sync"
)

// topK keeps the k highest-scoring entry indexes seen, as a min-heap on
// score.
type topK struct {
	k     int
	score []float32
	idx   []int32
}

func newTopK(k int) *topK {
	return &topK{k: k, score: make([]float32, 0, k), idx: make([]int32, 0, k)}
}

// min returns the score an entry must beat to enter (-inf while not full).
func (h *topK) floor() float32 {
	if len(h.score) < h.k {
		return -1e30
	}
	return h.score[0]
}

func (h *topK) push(s float32, i int32) {
	if len(h.score) < h.k {
		h.score = append(h.score, s)
		h.idx = append(h.idx, i)
		for j := len(h.score) - 1; j > 0; {
			p := (j - 1) / 2
			if h.score[p] <= h.score[j] {
				break
			}
			h.swap(p, j)
			j = p
		}
		return
	}
	if s <= h.score[0] {
		return
	}
	h.score[0], h.idx[0] = s, i
	for j := 0; ; {
		l, r, m := 2*j+1, 2*j+2, j
		if l < len(h.score) && h.score[l] < h.score[m] {
			m = l
		}
		if r < len(h.score) && h.score[r] < h.score[m] {
			m = r
		}
		if m == j {
			break
		}
		h.swap(j, m)
		j = m
	}
}

func (h *topK) swap(a, b int) {
	h.score[a], h.score[b] = h.score[b], h.score[a]
	h.idx[a], h.idx[b] = h.idx[b], h.idx[a]
}

// coarsePass scores every entry's coarse code against the probe and returns
// the indexes of the budget best, in no particular order.
func (g *Gallery) coarsePass(probe *Template, poses, budget int) []int32 {
	cp := newCoarseProbe(probe, poses)
	cw := len(probe.coarse) / 2
	n := len(g.ents)
	var mu sync.Mutex
	var heaps []*topK
	g.parallel(n, g.cfg.MinParallel, func(lo, hi int) {
		h := newTopK(budget)
		floor := h.floor()
		for i := lo; i < hi; i++ {
			s := cp.score(g.coarse[i*cw : (i+1)*cw])
			if s > floor {
				h.push(s, int32(i))
				floor = h.floor()
			}
		}
		mu.Lock()
		heaps = append(heaps, h)
		mu.Unlock()
	})
	if len(heaps) == 1 {
		return heaps[0].idx
	}
	all := newTopK(budget)
	for _, h := range heaps {
		for j, s := range h.score {
			all.push(s, h.idx[j])
		}
	}
	out := all.idx
	slices.Sort(out)
	return out
}
