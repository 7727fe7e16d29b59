package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dbt-crawler/dbt-crawler/pkg/config"
)

// instruction is one Dockerfile instruction with its continuation lines
// joined.
type instruction struct {
	Cmd  string // upper case, e.g. FROM
	Args string
}

func parseDockerfile(t *testing.T, b []byte) []instruction {
	t.Helper()
	var out []instruction
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasPrefix(line, "#") { // a comment inside a continued instruction
			continue
		}
		if cont, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		out = append(out, instruction{Cmd: strings.ToUpper(cmd), Args: strings.Join(strings.Fields(args), " ")})
		cur.Reset()
	}
	require.NoError(t, sc.Err())
	require.Zero(t, cur.Len(), "the Dockerfile ends inside a continued line")
	return out
}

// stages splits instructions at each FROM.
func stages(ins []instruction) [][]instruction {
	var out [][]instruction
	for _, in := range ins {
		if in.Cmd == "FROM" {
			out = append(out, nil)
		}
		if len(out) > 0 {
			out[len(out)-1] = append(out[len(out)-1], in)
		}
	}
	return out
}

func args(stage []instruction, cmd string) []string {
	var out []string
	for _, in := range stage {
		if in.Cmd == cmd {
			out = append(out, in.Args)
		}
	}
	return out
}

// makeVar returns the value of a simple `NAME := value` Makefile variable.
func makeVar(t *testing.T, makefile, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `\s*[:?]?=\s*(.+)$`).FindStringSubmatch(makefile)
	require.NotNil(t, m, "Makefile defines %s", name)
	return strings.TrimSpace(m[1])
}

func TestDockerfile(t *testing.T) {
	root := repoRoot(t)
	st := stages(parseDockerfile(t, readFile(t, filepath.Join(root, "Dockerfile"))))
	require.Len(t, st, 2, "a build stage and a runtime stage")
	buildStage, runtime := st[0], st[1]
	makefile := string(readFile(t, filepath.Join(root, "Makefile")))

	t.Run("the build stage runs make build with the version", func(t *testing.T) {
		require.Equal(t, "golang:1.26 AS build", buildStage[0].Args)
		require.Contains(t, args(buildStage, "ARG"), "VERSION=dev")
		var built bool
		for _, run := range args(buildStage, "RUN") {
			if strings.HasSuffix(run, "make build VERSION=$VERSION") {
				built = true
			}
		}
		require.True(t, built, "RUN ... make build VERSION=$VERSION")
		// make build is static: distroless/static has no libc.
		require.Regexp(t, `(?m)^export CGO_ENABLED\s*=\s*0$`, makefile)
		require.Regexp(t, `(?m)^build:`, makefile)
		require.Contains(t, makefile, "-o $(BIN) ./cmd/crawler")
	})

	t.Run("the runtime stage copies the binary make build wrote", func(t *testing.T) {
		require.Equal(t, "gcr.io/distroless/static-debian12:nonroot", runtime[0].Args)
		workdir := args(buildStage, "WORKDIR")
		require.Len(t, workdir, 1)
		bin := path.Join(workdir[0], makeVar(t, makefile, "BIN"))
		copies := args(runtime, "COPY")
		require.Len(t, copies, 1)
		f := strings.Fields(copies[0])
		require.Equal(t, []string{"--from=build", bin}, f[:2])
		var entry []string
		require.NoError(t, json.Unmarshal([]byte(args(runtime, "ENTRYPOINT")[0]), &entry), "ENTRYPOINT in exec form")
		require.Equal(t, []string{f[2]}, entry)
		require.Equal(t, "crawler", path.Base(entry[0]))
		var cmd []string
		require.NoError(t, json.Unmarshal([]byte(args(runtime, "CMD")[0]), &cmd), "CMD in exec form")
		require.Equal(t, []string{"schedule"}, cmd)
	})

	t.Run("the container runs as a numeric non-root user", func(t *testing.T) {
		users := args(runtime, "USER")
		require.Len(t, users, 1)
		uid, _, _ := strings.Cut(users[0], ":")
		n, err := strconv.Atoi(uid)
		require.NoError(t, err, "a numeric uid lets Kubernetes verify runAsNonRoot")
		require.NotZero(t, n)
	})

	t.Run("the exposed port is the crawler's listen port", func(t *testing.T) {
		_, port, _ := strings.Cut(config.DefaultListen, ":")
		require.Equal(t, []string{port}, args(runtime, "EXPOSE"))
	})
}

// dockerignored reports whether a slash-separated path relative to the
// repository root is excluded by the top-level patterns of .dockerignore.
func dockerignored(patterns []string, rel string) bool {
	ignored := false
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(p, "!")
		p = strings.TrimPrefix(p, "**/")
		for cand := rel; cand != "." && cand != "/"; cand = path.Dir(cand) {
			if ok, _ := path.Match(p, cand); ok {
				ignored = !neg
				break
			}
			if ok, _ := path.Match(p, path.Base(cand)); ok && strings.Contains(p, "*") {
				ignored = !neg
				break
			}
		}
	}
	return ignored
}

var goEmbed = regexp.MustCompile(`(?m)^//go:embed\s+(.+)$`)

func TestDockerignoreKeepsWhatTheBuildNeeds(t *testing.T) {
	root := repoRoot(t)
	var patterns []string
	for _, line := range strings.Split(string(readFile(t, filepath.Join(root, ".dockerignore"))), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}
	for _, p := range []string{".git", "bin", "deploy"} {
		require.True(t, dockerignored(patterns, p), "%s stays out of the build context", p)
	}
	for _, p := range []string{"go.mod", "go.sum", "Makefile", "cmd/crawler/main.go", "pkg/store/store.go", "internal/pgtest/pgtest.go", "migrations/00001_schema.sql"} {
		require.False(t, dockerignored(patterns, p), "make build needs %s", p)
	}
	// Every file a non-test Go file embeds must reach the build.
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && dockerignored(patterns, rel) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		for _, m := range goEmbed.FindAllStringSubmatch(string(readFile(t, p)), -1) {
			for _, pat := range strings.Fields(m[1]) {
				matches, err := filepath.Glob(filepath.Join(filepath.Dir(p), pat))
				require.NoError(t, err)
				for _, f := range matches {
					r, _ := filepath.Rel(root, f)
					require.False(t, dockerignored(patterns, filepath.ToSlash(r)), "%s embeds %s, which .dockerignore excludes", rel, r)
				}
			}
		}
		return nil
	}))
}
