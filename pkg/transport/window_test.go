package transport

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRollingBudgetNeverExceedsTheLimitInAnyMinute(t *testing.T) {
	w := newWindow(450, time.Minute)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	var sends []time.Time
	for i := 0; i < 2000; i++ {
		d := w.reserve(now)
		sends = append(sends, now.Add(d))
		now = now.Add(10 * time.Millisecond) // callers arrive faster than the budget
	}
	require.Equal(t, start.Add(449*10*time.Millisecond), sends[449], "the first 450 go without waiting")
	for i := 450; i < len(sends); i++ {
		require.GreaterOrEqual(t, sends[i].Sub(sends[i-450]), time.Minute, "send %d", i)
	}
}

func TestPrechargeCountsOtherProcessesRequests(t *testing.T) {
	tr := New(nil, Options{Budget: Budget{PerMinute: 10, Rolling: true}})
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr.Precharge(8, at)
	now := at.Add(30 * time.Second)
	require.Zero(t, tr.window.reserve(now))
	require.Zero(t, tr.window.reserve(now))
	require.Equal(t, 30*time.Second, tr.window.reserve(now), "the budget is spent until the precharged requests are a minute old")
}
