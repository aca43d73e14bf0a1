package matchcore

import (
	"slices"
	"sync"
	"sync/atomic"
)

// topK keeps the k best entries seen as a min-heap: higher score is better,
// and on equal scores the lower entry index, so that the kept set does not
// depend on the order entries are pushed in (nor on how a search is split
// among goroutines).
type topK struct {
	k     int
	score []float32
	idx   []int32
}

func newTopK(k int) *topK {
	return &topK{k: k, score: make([]float32, 0, k), idx: make([]int32, 0, k)}
}

// floor returns the score an entry must reach to enter (-inf while not
// full); an entry with exactly this score enters only if its index is lower
// than the worst kept entry's.
func (h *topK) floor() float32 {
	if len(h.score) < h.k {
		return -1e30
	}
	return h.score[0]
}

// worse reports whether heap element a ranks below element b.
func (h *topK) worse(a, b int) bool {
	return h.score[a] < h.score[b] || (h.score[a] == h.score[b] && h.idx[a] > h.idx[b])
}

func (h *topK) push(s float32, i int32) {
	if len(h.score) < h.k {
		h.score = append(h.score, s)
		h.idx = append(h.idx, i)
		for j := len(h.score) - 1; j > 0; {
			p := (j - 1) / 2
			if !h.worse(j, p) {
				break
			}
			h.swap(p, j)
			j = p
		}
		return
	}
	if s < h.score[0] || (s == h.score[0] && i >= h.idx[0]) {
		return
	}
	h.score[0], h.idx[0] = s, i
	for j := 0; ; {
		l, r, m := 2*j+1, 2*j+2, j
		if l < len(h.score) && h.worse(l, m) {
			m = l
		}
		if r < len(h.score) && h.worse(r, m) {
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

// coarseChunkBlocks is the number of slab blocks a coarse-pass worker takes
// at a time (1024 templates, 192 KB of slab with the default extractor):
// small enough that a worker slowed down by other processes on the machine
// leaves the rest to the others, large enough that taking one is cheap.
const coarseChunkBlocks = 128

// coarsePass scores every entry's coarse code against the probe and returns
// the indexes of the budget best (ties to the lower index), in increasing
// order.
func (g *Gallery) coarsePass(probe *Template, poses, budget int) []int32 {
	q := newCoarseQuery(probe, poses)
	n := len(g.ents)
	bw := q.n * coarseLanes
	nb := len(g.coarse) / bw
	chunks := (nb + coarseChunkBlocks - 1) / coarseChunkBlocks
	workers := max(1, min(g.workers, chunks))
	if n < g.cfg.MinParallel {
		workers = 1
	}
	heaps := make([]*topK, workers)
	var next atomic.Int64
	work := func(wi int) {
		h := newTopK(budget)
		out := make([]float32, coarseChunkBlocks*coarseLanes)
		for {
			c := int(next.Add(1)) - 1
			if c >= chunks {
				break
			}
			b0 := c * coarseChunkBlocks
			b1 := min(b0+coarseChunkBlocks, nb)
			q.scoreBlocks(g.coarse[b0*bw:b1*bw], out)
			base := b0 * coarseLanes
			floor := h.floor()
			for j, s := range out[:min(b1*coarseLanes, n)-base] {
				if s >= floor {
					h.push(s, int32(base+j))
					floor = h.floor()
				}
			}
		}
		heaps[wi] = h
	}
	var wg sync.WaitGroup
	for wi := 1; wi < workers; wi++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(wi)
		}()
	}
	work(0)
	wg.Wait()
	all := heaps[0]
	for _, h := range heaps[1:] {
		for j, s := range h.score {
			all.push(s, h.idx[j])
		}
	}
	out := all.idx
	slices.Sort(out)
	return out
}
