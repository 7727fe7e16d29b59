package main

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/dbt-crawler/dbt-crawler/pkg/crawl"
)

// progressFor returns a live progress display when w is a terminal, and nil
// otherwise (structured log lines then report progress).
func progressFor(w io.Writer) func(crawl.Progress) {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	var mu sync.Mutex
	return func(p crawl.Progress) {
		mu.Lock()
		defer mu.Unlock()
		name := p.Scope.ProjectName + " / " + p.Scope.EnvironmentName
		switch p.Phase {
		case "done":
			fmt.Fprintf(f, "\r\033[K✓ %s (%s)\n", name, humanBytes(p.Bytes))
		default:
			fmt.Fprintf(f, "\r\033[K… %s: %s (%d items)", name, p.Phase, p.Items)
		}
	}
}
