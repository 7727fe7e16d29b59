package catalog

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"unsafe"
)

// compressAbove is the length from which a Text is held compressed. Short
// code is common and cheap; long code (generated SQL of tens of KB per
// model) is what makes a large project's snapshot big, and it compresses
// four to ten times.
const compressAbove = 1024

// digestLen is the length of the content digest a compressed Text starts
// with.
const digestLen = 16

// Text is an immutable text value such as a node's raw or compiled code.
// Long texts are held deflate-compressed, so a snapshot of a project with
// thousands of large models stays small while it waits to be written; a
// compressed Text carries a digest of its content, so it can be compared
// and hashed without inflating it. The zero Text is the empty string.
type Text struct {
	// s is the text itself when n is 0; otherwise the digest of the text
	// followed by its deflate stream.
	s string
	n int
}

// NewText returns s as a Text.
func NewText(s string) Text {
	if len(s) < compressAbove {
		return Text{s: s}
	}
	// A read-only view of s: hashing and compressing never write to it.
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	var buf bytes.Buffer
	buf.Grow(len(s)/3 + digestLen + 64)
	sum := sha256.Sum256(b)
	buf.Write(sum[:digestLen])
	w := flateWriters.Get().(*flate.Writer)
	w.Reset(&buf)
	_, err := w.Write(b)
	if err == nil {
		err = w.Close()
	}
	flateWriters.Put(w)
	if err != nil || buf.Len() >= len(s) {
		return Text{s: s} // incompressible: keep it as it is
	}
	return Text{s: buf.String(), n: len(s)}
}

var flateWriters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(io.Discard, flate.BestSpeed) // BestSpeed is a valid level: no error
	return w
}}

// Len returns the length of the text in bytes.
func (t Text) Len() int {
	if t.n > 0 {
		return t.n
	}
	return len(t.s)
}

// IsEmpty reports whether the text is empty.
func (t Text) IsEmpty() bool { return t.s == "" }

// Compressed reports whether the text is held compressed.
func (t Text) Compressed() bool { return t.n > 0 }

// Digest returns the first bytes of the SHA-256 of a compressed text, and
// false for a text held as it is.
func (t Text) Digest() ([]byte, bool) {
	if t.n == 0 {
		return nil, false
	}
	return []byte(t.s[:digestLen]), true
}

// Equal reports whether t and u hold the same text.
func (t Text) Equal(u Text) bool { return t.n == u.n && t.s == u.s }

// String returns the text, inflating it when it is held compressed.
func (t Text) String() string {
	if t.n == 0 {
		return t.s
	}
	var b strings.Builder
	b.Grow(t.n)
	if _, err := t.WriteTo(&b); err != nil {
		// Only this package writes the stream, so it cannot be corrupt.
		panic("catalog: corrupt compressed text: " + err.Error())
	}
	return b.String()
}

// WriteTo writes the text to w, inflating it on the way when it is held
// compressed.
func (t Text) WriteTo(w io.Writer) (int64, error) {
	if t.n == 0 {
		n, err := io.WriteString(w, t.s)
		return int64(n), err
	}
	src := strings.NewReader(t.s[digestLen:])
	r, _ := flateReaders.Get().(io.ReadCloser)
	if r == nil {
		r = flate.NewReader(src)
	} else if err := r.(flate.Resetter).Reset(src, nil); err != nil {
		return 0, err
	}
	defer flateReaders.Put(r)
	return io.Copy(w, r)
}

var flateReaders sync.Pool // of io.ReadCloser from flate.NewReader

// MarshalJSON encodes the text as a JSON string.
func (t Text) MarshalJSON() ([]byte, error) { return json.Marshal(t.String()) }

// UnmarshalJSON decodes a JSON string into the text.
func (t *Text) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	*t = NewText(s)
	return nil
}
