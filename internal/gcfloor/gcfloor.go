// Package gcfloor lets a process whose memory is capped by a limit
// (GOMEMLIMIT) use part of that memory before its collector runs.
//
// With the default target (GOGC=100) the Go collector runs each time the
// heap doubles, however small it is. A crawl keeps a few tens of MiB live
// and allocates gigabytes on the way, so it collects dozens of times even
// when its container has hundreds of MiB to spare, and the runtime hands
// the memory freed in between back to the kernel, which faults it in
// again. A floor raises the target after every collection so that the
// next one starts no sooner than when the heap reaches the floor; above
// the floor the target is the default one, and the memory limit still
// bounds everything.
package gcfloor

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// LimitShare is the share of the memory limit FromLimit makes the floor:
// the heap may reach it between collections; the rest is for the live
// heap's growth, stacks, buffers and the runtime's own memory.
const LimitShare = 0.4

// maxPercent bounds the target so that a tiny live heap cannot ask for an
// absurd one.
const maxPercent = 10000

// minHeap is the Go runtime's minimum heap goal at GOGC=100.
const minHeap = 4 << 20

// FromLimit returns the floor for the process's memory limit: LimitShare
// of it, or 0 (no floor) when no limit is set or GOGC is, since then the
// collector's target is the operator's choice.
func FromLimit() uint64 {
	if os.Getenv("GOGC") != "" {
		return 0
	}
	limit := debug.SetMemoryLimit(-1)
	if limit <= 0 || limit == math.MaxInt64 {
		return 0
	}
	return uint64(float64(limit) * LimitShare)
}

// Floor keeps the collector's target at or above the default and high
// enough for the heap to reach a number of bytes between collections.
type Floor struct {
	bytes   uint64
	base    int // the target to return to
	stopped atomic.Bool
	sample  []metrics.Sample
	// adjusted counts the adjustments, for tests.
	adjusted atomic.Int64
}

// Start sets a floor of the given bytes and adjusts the collector's target
// after every collection until Stop. A floor of 0 does nothing.
func Start(bytes uint64) *Floor {
	f := &Floor{bytes: bytes, sample: []metrics.Sample{
		{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"}}}
	if bytes == 0 {
		f.stopped.Store(true)
		return f
	}
	f.base = debug.SetGCPercent(100) // the only way to read the target
	debug.SetGCPercent(f.base)
	// The first adjustment waits for the first collection: before it
	// there is no live heap to measure, and a target computed from none
	// would let the heap grow to the floor's hundredfold.
	f.arm()
	return f
}

// Stop restores the target the process had before Start.
func (f *Floor) Stop() {
	if f.stopped.Swap(true) {
		return
	}
	debug.SetGCPercent(f.base)
}

// percent returns the target at which the collector's next goal is the
// floor of bytes, never below base. The runtime's goal is the live heap
// plus GOGC percent of the live heap and its other roots (goroutine stacks
// and globals), so roots counts those.
func percent(bytes, live, roots uint64, base int) int {
	if live >= bytes {
		return base
	}
	p := (bytes - live) * 100 / max(live+roots, 1)
	// The runtime never sets a goal below its minimum heap, 4 MiB times
	// GOGC percent.
	p = min(p, bytes*100/minHeap, maxPercent)
	return max(int(p), base)
}

// adjust sets the target from what the last collection found.
func (f *Floor) adjust() {
	metrics.Read(f.sample)
	var v [3]uint64
	for i, s := range f.sample {
		if s.Value.Kind() != metrics.KindUint64 {
			return
		}
		v[i] = s.Value.Uint64()
	}
	debug.SetGCPercent(percent(f.bytes, v[0], v[1]+v[2], f.base))
	f.adjusted.Add(1)
}

// arm schedules adjust after the next collection: the cleanup of an
// object nothing references runs once a collection has found it.
func (f *Floor) arm() {
	sentinel := new([32]byte)
	runtime.AddCleanup(sentinel, func(f *Floor) {
		if f.stopped.Load() {
			return
		}
		f.adjust()
		f.arm()
	}, f)
}
