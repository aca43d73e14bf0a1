//go:build race

package scanner

// raceEnabled shrinks the heavy image tests under the race detector, which
// slows pixel loops about tenfold; the full sizes run without -race.
const raceEnabled = true
