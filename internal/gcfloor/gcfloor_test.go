package gcfloor

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name               string
		floor, live, roots uint64
		want               int
	}{
		{"a small live heap may grow to the floor", 200 * mib, 50 * mib, 0, 300},
		{"roots count in the goal", 200 * mib, 50 * mib, 25 * mib, 200},
		{"a live heap at half the floor keeps the default", 200 * mib, 100 * mib, 0, 100},
		{"a live heap above the floor keeps the default", 200 * mib, 300 * mib, 0, 100},
		{"a tiny live heap is bounded by the runtime's minimum heap", 200 * mib, 1, 0, 5000},
		{"no live heap yet is bounded", 200 * mib, 0, 0, 5000},
		{"a huge floor is bounded", 1 << 40, 1, 0, maxPercent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, percent(tc.floor, tc.live, tc.roots, 100))
		})
	}
}

func TestFloorFollowsCollections(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	f := Start(64 << 20)
	var keep [][]byte
	for i := range 200 {
		keep = append(keep, make([]byte, 64<<10))
		if i%50 == 0 {
			runtime.GC()
		}
	}
	runtime.KeepAlive(keep)
	require.Eventually(t, func() bool { return f.adjusted.Load() >= 3 }, 5*time.Second, 10*time.Millisecond)
	f.Stop()
	require.Equal(t, 100, debug.SetGCPercent(100), "Stop restores the target")
}
