package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/dbt-crawler/dbt-crawler/pkg/admin"
	"github.com/dbt-crawler/dbt-crawler/pkg/crawl"
	"github.com/dbt-crawler/dbt-crawler/pkg/dbtcloudtest"
	"github.com/dbt-crawler/dbt-crawler/pkg/discovery"
	"github.com/dbt-crawler/dbt-crawler/pkg/store"
	"github.com/dbt-crawler/dbt-crawler/pkg/transport"
)

// usage is what one crawl cost.
type usage struct {
	Wall      time.Duration
	CPU       time.Duration
	MaxRSS    int64 // bytes; 0 when unknown
	InProcess bool
}

// crawlTarget is what one crawl talks to.
type crawlTarget struct {
	URL       string
	AccountID int64
	DSN       string
}

// crawlChild runs `crawler run` as a child process against t, so wall
// time, CPU time and peak RSS are the crawler's own.
// environ passes through variables such as PATH and HOME; variables of the
// crawler's own configuration in it are ignored.
// When log is not nil the child's output is copied to it too (and it is
// closed when it is an io.Closer).
func crawlChild(ctx context.Context, binary string, environ []string, t crawlTarget, tmp string, log io.Writer) (usage, error) {
	cmd := exec.CommandContext(ctx, binary, "run")
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "DBT_CLOUD_") && !strings.HasPrefix(kv, "CRAWLER_") && !strings.HasPrefix(kv, "DATABASE_URL=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env,
		"DBT_CLOUD_ACCESS_URL="+t.URL,
		"DBT_CLOUD_ACCOUNT_ID="+strconv.FormatInt(t.AccountID, 10),
		"DBT_CLOUD_TOKEN="+dbtcloudtest.DefaultToken,
		"DATABASE_URL="+t.DSN,
		"CRAWLER_DATA_DIR="+filepath.Join(tmp, "crawler-data"),
		"CRAWLER_LOG_LEVEL=warn",
		"CRAWLER_LOG_FORMAT=console",
	)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if log != nil {
		if c, ok := log.(io.Closer); ok {
			defer c.Close()
		}
		cmd.Stdout, cmd.Stderr = io.MultiWriter(&out, log), io.MultiWriter(&errOut, log)
	}
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return usage{}, fmt.Errorf("start %s: %w", binary, err)
	}
	// The child's rusage maxrss starts from this (large) process's at fork
	// on Linux, so the peak is read from the child's own VmHWM instead.
	hwm := make(chan int64, 1)
	done := make(chan struct{})
	go func() { hwm <- watchHWM(cmd.Process.Pid, done) }()
	err := cmd.Wait()
	close(done)
	u := usage{Wall: time.Since(start), MaxRSS: <-hwm}
	if ps := cmd.ProcessState; ps != nil {
		u.CPU = ps.UserTime() + ps.SystemTime()
	}
	if err != nil {
		return u, fmt.Errorf("crawler run (%s) failed: %w\n%s", binary, err, tail(errOut.String()+out.String(), 4000))
	}
	return u, nil
}

// crawlInProcess crawls t from this process with the same wiring as
// `crawler run` (rate budgets, retrying transport, meters), optionally
// under the CPU profiler, writing profiles named prefix.cpu.pprof and
// prefix.allocs.pprof into profileDir when it is set. CPU and RSS then
// include the emulator, which runs in this process too.
func crawlInProcess(ctx context.Context, t crawlTarget, log *zap.Logger, profileDir, prefix string) (usage, error) {
	st, err := store.Open(ctx, t.DSN, store.Options{Logger: log})
	if err != nil {
		return usage{}, err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return usage{}, err
	}
	network := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second}).DialContext,
		MaxIdleConns:        32,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
	}
	defer network.CloseIdleConnections()
	adminT := transport.New(crawl.MeterTransport(network, false), transport.Options{
		Name: "admin", Budget: transport.Budget{PerMinute: adminPerMinute, Burst: 100}, Logger: log,
	})
	ac, err := admin.NewClient(t.URL, t.AccountID, dbtcloudtest.DefaultToken,
		admin.WithHTTPClient(&http.Client{Transport: crawl.MeterTransport(adminT, true)}),
		admin.WithUserAgent("dbt-crawler/bench"), admin.WithLogger(log))
	if err != nil {
		return usage{}, err
	}
	discT := transport.New(crawl.MeterTransport(network, false), transport.Options{
		Name: "discovery", Budget: transport.Budget{PerMinute: discoveryPerMinute, Burst: 25}, RetryPOST: true, Logger: log,
	})
	dc, err := discovery.NewClient(ac.AccessURL().DiscoveryURL(), dbtcloudtest.DefaultToken,
		discovery.WithHTTPClient(&http.Client{Transport: crawl.MeterTransport(discT, true)}), discovery.WithLogger(log))
	if err != nil {
		return usage{}, err
	}
	cr := crawl.New(ac, dc, st, crawl.Options{Concurrency: 2, Logger: log})

	if profileDir != "" {
		f, err := os.Create(filepath.Join(profileDir, prefix+".cpu.pprof"))
		if err != nil {
			return usage{}, fmt.Errorf("create CPU profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return usage{}, fmt.Errorf("start CPU profile: %w", err)
		}
	}
	before := rusageSelf()
	start := time.Now()
	rep := cr.Run(ctx)
	u := usage{Wall: time.Since(start), InProcess: true}
	after := rusageSelf()
	if profileDir != "" {
		pprof.StopCPUProfile()
		runtime.GC()
		f, err := os.Create(filepath.Join(profileDir, prefix+".allocs.pprof"))
		if err != nil {
			return u, fmt.Errorf("create allocation profile: %w", err)
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return u, fmt.Errorf("write allocation profile: %w", err)
		}
	}
	u.CPU = time.Duration(after.cpu - before.cpu)
	u.MaxRSS = after.maxRSS
	return u, rep.Error()
}

// watchHWM polls /proc/PID/status every 20 ms until done and returns the
// largest VmHWM (peak resident set) seen, in bytes; 0 when unreadable.
// VmHWM is a high-water mark, so only growth in the last interval before
// exit can be missed.
func watchHWM(pid int, done <-chan struct{}) int64 {
	path := fmt.Sprintf("/proc/%d/status", pid)
	var peak int64
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if b, err := os.ReadFile(path); err == nil {
			for line := range strings.Lines(string(b)) {
				if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					if f := strings.Fields(rest); len(f) > 0 {
						kb, _ := strconv.ParseInt(f[0], 10, 64)
						peak = max(peak, kb*1024)
					}
				}
			}
		}
		select {
		case <-done:
			return peak
		case <-t.C:
		}
	}
}

type selfUsage struct {
	cpu    int64 // nanoseconds, user+system
	maxRSS int64 // bytes
}

func rusageSelf() selfUsage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return selfUsage{}
	}
	return selfUsage{cpu: ru.Utime.Nano() + ru.Stime.Nano(), maxRSS: ru.Maxrss * 1024}
}

// tail returns the last n bytes of s, trimmed.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}
