package apply

import "slices"

// readySet holds the indexes of the changes ready to start, sorted, so
// that a run starts changes in plan order. Insertion is a binary search and
// a memmove: cheap even for plans of tens of thousands of changes.
type readySet struct{ items []int }

func (s *readySet) len() int { return len(s.items) }

func (s *readySet) push(i int) {
	at, _ := slices.BinarySearch(s.items, i)
	s.items = slices.Insert(s.items, at, i)
}

func (s *readySet) pop() int {
	i := s.items[0]
	s.items = s.items[1:]
	return i
}
