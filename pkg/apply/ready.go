package apply

import "container/heap"

// readySet holds the indexes of the changes ready to start and gives the
// lowest first, so that a run starts changes in plan order; a heap keeps
// that at O(log n) for plans of tens of thousands of changes.
type readySet struct{ items []int }

func (s *readySet) Len() int           { return len(s.items) }
func (s *readySet) Less(i, j int) bool { return s.items[i] < s.items[j] }
func (s *readySet) Swap(i, j int)      { s.items[i], s.items[j] = s.items[j], s.items[i] }
func (s *readySet) Push(x any)         { s.items = append(s.items, x.(int)) }
func (s *readySet) Pop() any {
	v := s.items[len(s.items)-1]
	s.items = s.items[:len(s.items)-1]
	return v
}

func (s *readySet) len() int   { return len(s.items) }
func (s *readySet) push(i int) { heap.Push(s, i) }
func (s *readySet) pop() int   { return heap.Pop(s).(int) }
