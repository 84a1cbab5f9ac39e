package addrselect

import "testing"

func BenchmarkMicro(b *testing.B) {
	ds := benchDestinations(16)
	s := RFC6724()
	p := s.prof
	as := make([]dattr, 16)
	for i := range ds {
		s.fillAttrs(&as[i], &ds[i], nil)
	}
	b.Run("fill", func(b *testing.B) {
		var a dattr
		for b.Loop() {
			var m srcMemo
			for i := range ds {
				s.fillAttrs(&a, &ds[i], &m)
			}
		}
	})
	b.Run("key", func(b *testing.B) {
		for b.Loop() {
			var x uint64
			for i := range as {
				x += p.key(&as[i])
			}
			sinkInt += int(x)
		}
	})
	b.Run("lookup", func(b *testing.B) {
		for b.Loop() {
			for i := range ds {
				sinkInt += int(s.lookup.Lookup(ds[i].Addr).Label)
			}
		}
	})
	b.Run("sort", func(b *testing.B) {
		buf := make([]Destination, 16)
		for b.Loop() {
			copy(buf, ds)
			s.SortDestinations(buf)
		}
	})
}
