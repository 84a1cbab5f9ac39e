//go:build race

package mxorder_test

// raceEnabled: the race detector changes allocation counts.
const raceEnabled = true
