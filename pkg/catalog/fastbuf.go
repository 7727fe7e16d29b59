package catalog

import (
	"bytes"
	"hash/maphash"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Scratch space the decoders reuse from entry to entry and from file to
// file, so that decoding allocates little beyond what it keeps.

// keepScanBuf is the largest scanner buffer kept for the next file: one
// grown to hold a huge entry is dropped rather than held by the Builder.
const keepScanBuf = 256 << 10

// scanBufs holds a Builder's spare scanner buffer between files.
type scanBufs struct {
	spare []byte
}

// take returns the spare buffer, or nil when there is none.
func (b *scanBufs) take() []byte {
	buf := b.spare
	b.spare = nil
	return buf
}

// give keeps the buffer of w's scanner for the next file when it is not
// too large. Nothing decoded from the file may still point into it.
func (b *scanBufs) give(w *walker) {
	if buf := w.s.buf; cap(buf) <= keepScanBuf {
		b.spare = buf[:cap(buf)]
	}
	w.s.buf = nil
}

// appendUnquote appends the string the JSON string literal q (quotes
// included) decodes to, to dst: escapes resolved, invalid UTF-8 and
// unpaired surrogates as U+FFFD (unquote is built on it).
func appendUnquote(dst, q []byte) []byte {
	if len(q) < 2 {
		return dst
	}
	s := q[1 : len(q)-1]
	i := 0
	for i < len(s) {
		if s[i] != '\\' {
			j := bytes.IndexByte(s[i:], '\\')
			if j < 0 {
				j = len(s) - i
			}
			chunk := s[i : i+j]
			if utf8.Valid(chunk) {
				dst = append(dst, chunk...)
			} else {
				for k := 0; k < len(chunk); {
					r, size := utf8.DecodeRune(chunk[k:])
					dst = utf8.AppendRune(dst, r)
					k += size
				}
			}
			i += j
			continue
		}
		if i+1 >= len(s) {
			break
		}
		switch e := s[i+1]; e {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(s[i+2:])
			if r < 0 {
				return dst
			}
			i += 6
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					r2 = hex4(s[i+2:])
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r = d
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default:
			dst = append(dst, e)
		}
		i += 2
	}
	return dst
}

// textOf returns NewText of the string the string member q holds (nil:
// absent), without allocating the decoded string when the text is held
// compressed: the text is decoded into *scratch, or read where it lies
// when it needs no decoding, and compressed from there.
func textOf(q []byte, scratch *[]byte) Text {
	if len(q)-2 < compressAbove { // decodes to fewer bytes: held as it is
		return NewText(strOf(q))
	}
	view := q[1 : len(q)-1]
	if !bytesPlain(view) {
		*scratch = appendUnquote((*scratch)[:0], q)
		view = *scratch
	}
	if len(view) < compressAbove {
		return NewText(string(view))
	}
	// NewText keeps no reference to its argument when it compresses it.
	t := NewText(unsafe.String(unsafe.SliceData(view), len(view)))
	if !t.Compressed() {
		return Text{s: string(view)} // incompressible: held as it is
	}
	return t
}

// strCacheSize is the number of slots of a strCache (a power of two).
const strCacheSize = 4096

// strCache shares the strings of values that repeat within an artifact,
// such as column names and descriptions, without remembering every
// distinct value: each value has one slot, chosen by its hash, which
// holds the last string stored there. Its size is fixed, so it never
// holds more than strCacheSize strings.
type strCache struct {
	seed  maphash.Seed
	slots *[strCacheSize]string
}

// bytes returns string(b), the string a slot holds when it is the same.
func (c *strCache) bytes(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if c.slots == nil {
		c.seed, c.slots = maphash.MakeSeed(), new([strCacheSize]string)
	}
	slot := &c.slots[maphash.Bytes(c.seed, b)&(strCacheSize-1)]
	if *slot != string(b) {
		*slot = string(b)
	}
	return *slot
}

// literal is strOf through the cache: the string the string member q
// holds ("" when absent).
func (c *strCache) literal(q []byte) string {
	if len(q) < 2 {
		return ""
	}
	if body := q[1 : len(q)-1]; bytesPlain(body) {
		return c.bytes(body)
	}
	return unquote(q)
}

// flex is flexOf through the cache: the string the flex member val holds
// ("" when absent).
func (c *strCache) flex(val []byte) string {
	if len(val) == 0 {
		return ""
	}
	switch val[0] {
	case '"':
		return c.literal(val)
	case 'n', '{', '[':
		return ""
	}
	return c.bytes(val)
}

// chunkLen is the number of values in a chunk of chunks; keepChunks is
// the most empty chunks kept for the next use.
const (
	chunkLen   = 512
	keepChunks = 8
)

// chunks collects values in fixed-size chunks, to be copied out once at
// their exact count: unlike growing one slice, collecting leaves no
// garbage behind but the chunks, which are reused.
type chunks[T any] struct {
	full  [][]T // the chunks filled so far, the last one partly
	spare [][]T // empty chunks
}

// next returns a new zero value at the end of the values; it stays valid
// until drain.
func (c *chunks[T]) next() *T {
	if n := len(c.full); n == 0 || len(c.full[n-1]) == chunkLen {
		var chunk []T
		if k := len(c.spare); k > 0 {
			chunk, c.spare = c.spare[k-1], c.spare[:k-1]
		} else {
			chunk = make([]T, 0, chunkLen)
		}
		c.full = append(c.full, chunk)
	}
	last := &c.full[len(c.full)-1]
	var zero T
	*last = append(*last, zero)
	return &(*last)[len(*last)-1]
}

// drain appends the values collected to dst (nil and none: nil) and
// empties the chunks, keeping some for the next use.
func (c *chunks[T]) drain(dst []T) []T {
	n := 0
	for _, chunk := range c.full {
		n += len(chunk)
	}
	if n > 0 {
		if dst == nil {
			dst = make([]T, 0, n)
		}
		for _, chunk := range c.full {
			dst = append(dst, chunk...)
		}
	}
	for _, chunk := range c.full {
		clear(chunk) // keep nothing alive through the chunk
		if len(c.spare) < keepChunks {
			c.spare = append(c.spare, chunk[:0])
		}
	}
	clear(c.full)
	c.full = c.full[:0]
	return dst
}
