package store

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/dbt-crawler/dbt-crawler/pkg/catalog"
)

// hasher builds the content hash of a row: every field is written with its
// length, so that ("ab","c") and ("a","bc") differ. Rows whose hash did not
// change are not written. The fields are gathered in one buffer and hashed
// in one call: a SHA-256 write per field cost more than the hashing.
type hasher struct {
	buf []byte
	// fast, when set, hashes with two seeded xxHash64 instead of SHA-256:
	// for artifact hashes, which only the crawler compares (content
	// hashes stay SHA-256, as stored). It is the second hash's digest.
	fast *xxhash.Digest
}

func newHasher() *hasher { return &hasher{buf: make([]byte, 0, 4<<10)} }

func (h *hasher) reset() { h.buf = h.buf[:0] }

func (h *hasher) u64(v uint64) { h.buf = binary.LittleEndian.AppendUint64(h.buf, v) }

func (h *hasher) str(s string) {
	h.u64(uint64(len(s)))
	h.buf = append(h.buf, s...)
}

// text hashes a compressed text by its length and digest. A text held as
// it is goes through str, so both forms of one text never meet: the form
// follows from the text itself.
func (h *hasher) text(t catalog.Text) {
	d, ok := t.Digest()
	if !ok {
		h.str(t.String())
		return
	}
	h.u64(uint64(t.Len()))
	h.u64(math.MaxUint64) // marks a digest
	h.buf = append(h.buf, d...)
}

func (h *hasher) strs(ss []string) {
	h.u64(uint64(len(ss)))
	for _, s := range ss {
		h.str(s)
	}
}

func (h *hasher) i64(v int64) { h.u64(uint64(v)) }

func (h *hasher) f64(v float64) { h.u64(math.Float64bits(v)) }

func (h *hasher) boolean(b bool) {
	if b {
		h.u64(1)
	} else {
		h.u64(0)
	}
}

func (h *hasher) time(t time.Time) {
	if t.IsZero() {
		h.u64(0)
		return
	}
	h.i64(t.UnixMicro())
}

func (h *hasher) optInt(p *int64) {
	if p == nil {
		h.u64(0)
		return
	}
	h.u64(1)
	h.i64(*p)
}

// artifactSeed seeds the second half of a fast hash.
const artifactSeed = 0x9e3779b97f4a7c15

// sumLen is the length of a row hash.
const sumLen = 16

// sum returns the first 16 bytes of the SHA-256 of the fields written
// since reset: ample for change detection.
func (h *hasher) sum() []byte { return h.appendSum(make([]byte, 0, sumLen)) }

// appendSum appends the hash sum returns to b: rendered rows take it
// without a slice of their own.
func (h *hasher) appendSum(b []byte) []byte {
	if h.fast != nil {
		b = binary.LittleEndian.AppendUint64(b, xxhash.Sum64(h.buf))
		h.fast.ResetWithSeed(artifactSeed)
		_, _ = h.fast.Write(h.buf)
		return binary.LittleEndian.AppendUint64(b, h.fast.Sum64())
	}
	s := sha256.Sum256(h.buf)
	if cap(h.buf) > 1<<20 {
		h.buf = make([]byte, 0, 4<<10) // one huge row does not pin its buffer
	}
	return append(b, s[:sumLen]...)
}

// sum16 returns the hash sum returns as an array, for sums that are only
// added up.
func (h *hasher) sum16() [sumLen]byte {
	var out [sumLen]byte
	h.appendSum(out[:0])
	return out
}

// bytes hashes b as str hashes the same text.
func (h *hasher) bytes(b []byte) {
	h.u64(uint64(len(b)))
	h.buf = append(h.buf, b...)
}
