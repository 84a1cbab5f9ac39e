//go:build !race

package mxorder_test

const raceEnabled = false
