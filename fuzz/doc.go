// Package fuzz holds the fuzz targets over the public APIs of policytable,
// addrselect and mxorder. Each target checks invariants (no panic, output
// a permutation of the input, round trips, agreement with a slow reference
// implementation), not just the absence of crashes. Seed corpora live in
// testdata/fuzz/<Target>/.
//
// Run one target at a time, for example:
//
//	go test -run='^$' -fuzz='^FuzzGaiConf$' -fuzztime=30s ./fuzz
package fuzz
