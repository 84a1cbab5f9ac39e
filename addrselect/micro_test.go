package addrselect

import "testing"

func BenchmarkMicroN4(b *testing.B) {
	ds := benchDestinations(4)
	s := RFC6724()
	buf := make([]Destination, 4)
	for b.Loop() {
		copy(buf, ds)
		s.SortDestinations(buf)
	}
}
