package catalog

import (
	"strconv"
	"unicode/utf8"
)

// Streaming decoding: instead of capturing an entry and navigating the
// captured bytes, a stream handler consumes the entry straight from the
// scanner, validating it as capture would (the same checks in the same
// order, so errors and their offsets are the same) and recording the
// values it needs as spans. The scanner keeps the entry whole in its
// buffer while it is consumed, so the spans stay valid until the handler
// returns.

// span locates a value within the entry being streamed: bytes [a, b)
// from the scanner's mark. The zero span is "absent": no value starts at
// the entry's first byte.
type span struct{ a, b int }

// streamFunc consumes one entry of a top-level map (key is the map key)
// or array (key is ""); c is its first byte. The entry is a value at
// depth 2. The scanner's mark is at the entry's first byte.
type streamFunc func(key string, c byte) error

// streamEntries consumes one top-level value as entries does, handing
// each entry to h to consume from the scanner.
func (w *walker) streamEntries(section string, h streamFunc) error {
	s := w.s
	c, err := s.peek()
	if err != nil {
		return err
	}
	if c != '{' && c != '[' {
		return w.depthErr(section, s.value(1))
	}
	if w.maxDepth < 2 {
		return w.depthErr(section, errDepth)
	}
	closer := byte('}')
	if c == '[' {
		closer = ']'
	}
	s.pos++
	if c, err = s.peek(); err != nil {
		return err
	}
	for c != closer {
		key := ""
		if closer == '}' {
			if key, err = s.memberKey(c); err != nil {
				return err
			}
		}
		if c, err = s.peekIn(); err != nil {
			return err
		}
		s.mark = s.pos
		s.high = 0
		err = h(key, c)
		if err == nil && s.high&highs8 != 0 && !utf8.Valid(s.buf[s.mark:s.pos]) {
			w.meta.InvalidUTF8++
		}
		s.mark = -1
		if err != nil {
			return w.depthErr(key, err)
		}
		if c, err = s.after(closer); err != nil {
			return err
		}
	}
	s.pos++
	return nil
}

// at returns the bytes of sp in the entry being streamed; nil for the
// zero span.
func (s *scanner) at(sp span) []byte {
	if sp.b == 0 {
		return nil
	}
	return s.buf[s.mark+sp.a : s.mark+sp.b]
}

// object consumes the object whose '{' is next as container(depth, '{')
// does, calling fn with the span of each member's key (quotes excluded);
// fn must consume the member's value, a value at depth.
func (s *scanner) object(depth int, fn func(key span) error) error {
	if depth > s.maxDepth {
		return errDepth
	}
	s.pos++
	c, err := s.peekIn()
	if err != nil {
		return err
	}
	for c != '}' {
		if c != '"' {
			return s.syntax("invalid character " + strconv.QuoteRune(rune(c)) + " looking for an object key")
		}
		s.pos++
		ka := s.pos - s.mark
		if err := s.stringBody(); err != nil {
			return err
		}
		key := span{ka, s.pos - s.mark - 1}
		if err := s.colon(); err != nil {
			return err
		}
		if err := fn(key); err != nil {
			return err
		}
		if c, err = s.after('}'); err != nil {
			return err
		}
	}
	s.pos++
	return nil
}

// array consumes the array whose '[' is next as container(depth, '[')
// does, calling fn with the first byte of each element; fn must consume
// the element, a value at depth.
func (s *scanner) array(depth int, fn func(c byte) error) error {
	if depth > s.maxDepth {
		return errDepth
	}
	s.pos++
	c, err := s.peekIn()
	if err != nil {
		return err
	}
	for c != ']' {
		if err := fn(c); err != nil {
			return err
		}
		if c, err = s.after(']'); err != nil {
			return err
		}
	}
	s.pos++
	return nil
}

// keep consumes a value at depth and stores its span in *dst.
func (s *scanner) keep(depth int, dst *span) error {
	c, err := s.peekIn()
	if err != nil {
		return err
	}
	a := s.pos - s.mark
	if err := s.valueAt(depth, c); err != nil {
		return err
	}
	*dst = span{a, s.pos - s.mark}
	return nil
}

// keepString consumes a value at depth and stores its span in *dst when
// it is a string, as decodeField does for a string field.
func (s *scanner) keepString(depth int, dst *span) error {
	c, err := s.peekIn()
	if err != nil {
		return err
	}
	if c != '"' {
		return s.valueAt(depth, c)
	}
	a := s.pos - s.mark
	s.pos++
	if err := s.stringBody(); err != nil {
		return err
	}
	*dst = span{a, s.pos - s.mark}
	return nil
}

// structValue consumes a value at depth that decodes into a pointer to a
// struct: null calls reset, an object calls fn per member (values at
// depth+1), anything else is skipped. It returns the value's first byte.
func (s *scanner) structValue(depth int, reset func(), fn func(key span) error) (byte, error) {
	c, err := s.peekIn()
	if err != nil {
		return 0, err
	}
	switch c {
	case '{':
		return c, s.object(depth+1, fn)
	case 'n':
		reset()
	}
	return c, s.valueAt(depth, c)
}
