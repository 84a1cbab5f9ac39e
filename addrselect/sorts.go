package addrselect

import (
	"cmp"
	"slices"
)

// This file holds the sort algorithms a profile may name. None of them
// knows a rule: they order records by the packed key that profile.key
// builds and, past the key, by the profile's pairwise comparator.

// rec is one destination's sort record: the packed key of the profile's
// keyed rules (larger first), the rule 9 value and family (for the
// consistent sort's rule 9 pass) and the input position.
type rec struct {
	key uint64
	r9  uint8
	v4  bool
	idx int32
}

// stackN is the largest input the sorts order without allocating.
const stackN = 64

// sortByKey orders recs by key (descending), then input position: a
// total order, so any algorithm gives the same result.
func sortByKey(recs []rec) {
	if len(recs) <= 16 {
		for i := 1; i < len(recs); i++ {
			x := recs[i]
			j := i
			for j > 0 && recs[j-1].key < x.key {
				recs[j] = recs[j-1]
				j--
			}
			recs[j] = x
		}
		return
	}
	slices.SortFunc(recs, func(a, b rec) int {
		if c := cmp.Compare(b.key, a.key); c != 0 {
			return c
		}
		return cmp.Compare(a.idx, b.idx)
	})
}

// Layout of sortPacked's one-integer records: the key above the family
// (1 for IPv4), the rule 9 value and 63 minus the input position.
const (
	packedIdxBits = 6 // positions up to packedMaxN-1
	packedR9Shift = packedIdxBits
	packedFamBit  = packedR9Shift + 8
	packedKeyShft = packedFamBit + 1
	packedMaxN    = 1 << packedIdxBits
	packedKeyBits = 64 - packedKeyShft // the widest key that fits
)

// packRec is a destination's record as one integer for sortPacked: its
// key (of at most packedKeyBits), family, rule 9 value and input
// position i (< packedMaxN).
func packRec(key uint64, v4 bool, r9 uint64, i int) uint64 {
	return key<<packedKeyShft | b2u(v4)<<packedFamBit | r9<<packedR9Shift | uint64(packedMaxN-1-i)
}

// sortPacked is sortByKey followed by rule9Pass, for up to packedMaxN
// records made by packRec: one descending sort orders by key and, inside
// each run of equal key, each family by rule 9 with ties in input order.
// A run holding both families is then put back to the input's pattern of
// families (restoreFamilies). It writes the order to perm (the input
// positions, first to last).
func sortPacked(keys []uint64, perm []int32) {
	for i := 1; i < len(keys); i++ { // insertion sort, descending: inputs are small
		x, j := keys[i], i
		for ; j > 0 && keys[j-1] < x; j-- {
			keys[j] = keys[j-1]
		}
		keys[j] = x
	}
	for start := 0; start < len(keys); {
		end := start + 1
		for end < len(keys) && keys[end]>>packedKeyShft == keys[start]>>packedKeyShft {
			end++
		}
		if (keys[start]^keys[end-1])&(1<<packedFamBit) != 0 {
			restoreFamilies(keys[start:end])
		}
		start = end
	}
	for i, k := range keys {
		perm[i] = int32(63 - k&63)
	}
}

// restoreFamilies rearranges a run of equal key holding both families: it
// arrives with the IPv4 members first, each family in its final order;
// each family goes back to the positions it held, in input order, in the
// run.
func restoreFamilies(run []uint64) {
	var members, byInput [packedMaxN]uint64
	n := copy(members[:], run)
	copy(byInput[:], run)
	in := byInput[:n]
	slices.SortFunc(in, func(a, b uint64) int { return cmp.Compare(b&63, a&63) }) // input order
	n4 := 0
	for _, k := range members[:n] {
		if k&(1<<packedFamBit) != 0 {
			n4++
		}
	}
	i4, i6 := 0, n4
	for p, k := range in {
		if k&(1<<packedFamBit) != 0 {
			run[p] = members[i4]
			i4++
		} else {
			run[p] = members[i6]
			i6++
		}
	}
}

// rule9Pass is the consistent sort's second step: inside each run of
// equal key, each family's members are stably sorted by the rule 9 value
// among the positions the family holds in the run, the other family's
// members staying in place. Rule 9 relates one family only, so this keeps
// every pair the rules order in order, whatever the input.
func rule9Pass(recs []rec) {
	var scratch []rec // one family's members of one run
	for start := 0; start < len(recs); {
		end := start + 1
		for end < len(recs) && recs[end].key == recs[start].key {
			end++
		}
		if end-start > 1 {
			run := recs[start:end]
			scratch = sortFamily(run, false, scratch)
			scratch = sortFamily(run, true, scratch)
		}
		start = end
	}
}

// sortFamily stably sorts the members of run whose family is v4 by r9
// (descending), leaving the other members where they are. It collects
// them in scratch, which it returns for reuse.
func sortFamily(run []rec, v4 bool, scratch []rec) []rec {
	members := scratch[:0]
	for _, r := range run {
		if r.v4 == v4 {
			members = append(members, r)
		}
	}
	slices.SortStableFunc(members, func(a, b rec) int { return cmp.Compare(b.r9, a.r9) })
	k := 0
	for i := range run {
		if run[i].v4 == v4 {
			run[i] = members[k]
			k++
		}
	}
	return members
}

// mergeSort sorts recs the way glibc's msort (qsort and qsort_r up to
// glibc 2.36, which c-ares also uses there) does: top-down, the first
// half holding n/2 elements, merging by taking the left element unless
// less says the right one goes first. tmp has len(recs) elements.
func mergeSort(recs, tmp []rec, compare func(a, b rec) int) {
	n := len(recs)
	if n <= 1 {
		return
	}
	b1, b2 := recs[:n/2], recs[n/2:]
	mergeSort(b1, tmp, compare)
	mergeSort(b2, tmp, compare)
	k, i, j := 0, 0, 0
	for i < len(b1) && j < len(b2) {
		if compare(b1[i], b2[j]) <= 0 {
			tmp[k] = b1[i]
			i++
		} else {
			tmp[k] = b2[j]
			j++
		}
		k++
	}
	// The rest of b2 is already in place; copy the rest of b1 after the
	// merged part, then the merged part back.
	k += copy(tmp[k:], b1[i:])
	copy(recs, tmp[:k])
}

// permute reorders dsts so that the new dsts[i] is the old dsts[perm[i]].
// It destroys perm.
func permute(dsts []Destination, perm []int32) {
	for i := range perm {
		if perm[i] < 0 || int(perm[i]) == i {
			continue
		}
		// Follow the cycle starting at i.
		tmp := dsts[i]
		j := i
		for {
			k := int(perm[j])
			perm[j] = -1
			if k == i {
				dsts[j] = tmp
				break
			}
			dsts[j] = dsts[k]
			j = k
		}
	}
}
