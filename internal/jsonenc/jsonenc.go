// Package jsonenc appends JSON without reflection for the hot paths (the protected routes' bodies,
// the token answers, the claims of issued tokens), byte for byte as encoding/json writes the same
// values.
package jsonenc

import (
	"encoding/json"
	"strconv"
)

// plain tells the bytes encoding/json writes as they are inside a string: printable ASCII but
// for the quote, the backslash and the HTML characters < > & it escapes. A table lookup per byte
// instead of seven comparisons.
var plain = func() (p [256]bool) {
	for b := byte(0x20); b <= 0x7e; b++ {
		p[b] = b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
	}
	return p
}()

// AppendString appends s as a JSON string, as encoding/json would write it: plain printable
// ASCII (ids, emails, tokens) is copied between quotes; anything else goes through encoding/json.
func AppendString(dst []byte, s string) []byte {
	for i := range len(s) {
		if !plain[s[i]] {
			quoted, _ := json.Marshal(s) // cannot fail for a string
			return append(dst, quoted...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// Object appends the members of one JSON object. Each member is written after a comma; End turns
// the first of those commas into the opening brace (or writes {} when there was none).
type Object struct {
	b     []byte
	start int
}

// NewObject starts an object at the end of dst.
func NewObject(dst []byte) Object { return Object{b: dst, start: len(dst)} }

// key appends ,"name":
func (o *Object) key(name string) {
	o.b = append(o.b, ',', '"')
	o.b = append(o.b, name...)
	o.b = append(o.b, '"', ':')
}

// String appends the member name: s.
func (o *Object) String(name, s string) {
	o.key(name)
	o.b = AppendString(o.b, s)
}

// StringOmitEmpty appends name: s unless s is empty (a field tagged omitempty).
func (o *Object) StringOmitEmpty(name, s string) {
	if s != "" {
		o.String(name, s)
	}
}

// Strings appends name: [s...] (null for a nil slice, as encoding/json writes it).
func (o *Object) Strings(name string, s []string) {
	o.key(name)
	if s == nil {
		o.b = append(o.b, "null"...)
		return
	}
	o.b = append(o.b, '[')
	for i, v := range s {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = AppendString(o.b, v)
	}
	o.b = append(o.b, ']')
}

// Int appends name: n.
func (o *Object) Int(name string, n int64) {
	o.key(name)
	o.b = strconv.AppendInt(o.b, n, 10)
}

// Bool appends name: v.
func (o *Object) Bool(name string, v bool) {
	o.key(name)
	o.b = strconv.AppendBool(o.b, v)
}

// Object appends name: {...}, a nested object whose members fill writes.
func (o *Object) Object(name string, fill func(*Object)) {
	o.key(name)
	inner := NewObject(o.b)
	fill(&inner)
	o.b = inner.End()
}

// End closes the object and returns the buffer with it.
func (o *Object) End() []byte {
	if len(o.b) == o.start {
		return append(o.b, '{', '}')
	}
	o.b[o.start] = '{'
	return append(o.b, '}')
}
