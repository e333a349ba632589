package jsonenc

import (
	"encoding/json"
	"testing"
)

// strs are strings that take every branch of AppendString.
var strs = []string{
	"", "0b7e6f0e-4a51-4c1e-9d2b-2f5b7a1c9e10", "user@example.com", `quote " and \ slash`,
	"<script>&", "tab\there\nnewline\x00", "naïve ☃", "bad utf-8 \xff", "\u2028",
}

// TestAppendString: the hand-written encoding equals encoding/json's.
func TestAppendString(t *testing.T) {
	for _, s := range strs {
		want, _ := json.Marshal(s)
		if got := AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("AppendString(%q) = %s, want x%s", s, got, want)
		}
	}
}

// TestAppendStringEveryByte: each byte alone, and between plain characters, is written as
// encoding/json writes it.
func TestAppendStringEveryByte(t *testing.T) {
	for b := range 256 {
		for _, s := range []string{string([]byte{byte(b)}), "a" + string([]byte{byte(b)}) + "z"} {
			want, _ := json.Marshal(s)
			if got := AppendString(nil, s); string(got) != string(want) {
				t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
			}
		}
	}
}

// TestObject: an object written member by member equals encoding/json's encoding of a struct
// with the same fields and tags, empty or full, and appends to what the buffer held.
func TestObject(t *testing.T) {
	type inner struct {
		ID string `json:"id"`
	}
	type value struct {
		S     string   `json:"s"`
		O     string   `json:"o,omitempty"`
		L     []string `json:"l"`
		N     int64    `json:"n"`
		B     bool     `json:"b"`
		Inner inner    `json:"inner"`
	}
	write := func(v value) []byte {
		o := NewObject([]byte("x"))
		o.String("s", v.S)
		o.StringOmitEmpty("o", v.O)
		o.Strings("l", v.L)
		o.Int("n", v.N)
		o.Bool("b", v.B)
		o.Object("inner", func(o *Object) { o.String("id", v.Inner.ID) })
		return o.End()
	}
	for i, s := range strs {
		for _, v := range []value{
			{},
			{S: s, O: s, L: []string{}, N: -int64(i) << 40, B: true, Inner: inner{ID: s}},
			{S: s, L: strs[:i], N: int64(i)},
		} {
			want, _ := json.Marshal(v)
			if got := write(v); string(got) != "x"+string(want) {
				t.Errorf("object %+v = %s, want x%s", v, got, want)
			}
		}
	}
	if got := NewObject([]byte("x")); string(got.End()) != "x{}" {
		t.Errorf("an object without members = %s, want x{}", got.End())
	}
}
