package apply

// readySet holds the indexes of the changes ready to start and hands out
// the smallest first, so that a run starts changes in plan order. It is a
// binary min-heap: push and pop cost O(log n) whatever the order changes
// become ready in. (A sorted slice with binary insertion costs a memmove
// of up to n items per push: quadratic when, at tens of thousands of
// changes, dependants become ready ahead of a long ready list.)
type readySet struct{ items []int }

func (s *readySet) len() int { return len(s.items) }

func (s *readySet) push(i int) {
	s.items = append(s.items, i)
	h := s.items
	for c := len(h) - 1; c > 0; {
		p := (c - 1) / 2
		if h[p] <= h[c] {
			break
		}
		h[p], h[c] = h[c], h[p]
		c = p
	}
}

func (s *readySet) pop() int {
	h := s.items
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for p := 0; ; {
		c := 2*p + 1
		if c >= len(h) {
			break
		}
		if r := c + 1; r < len(h) && h[r] < h[c] {
			c = r
		}
		if h[p] <= h[c] {
			break
		}
		h[p], h[c] = h[c], h[p]
		p = c
	}
	s.items = h
	return top
}
