package handlers

import (
	"encoding/json"
	"testing"
)

// TestAppendJSONString: the hand-written encoding of the hot routes equals encoding/json's.
func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{
		"", "0b7e6f0e-4a51-4c1e-9d2b-2f5b7a1c9e10", "user@example.com", `quote " and \ slash`,
		"<script>&", "tab\there\nnewline\x00", "naïve ☃", "bad utf-8 \xff", "\u2028",
	} {
		want, _ := json.Marshal(s)
		if got := appendJSONString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("appendJSONString(%q) = %s, want x%s", s, got, want)
		}
	}
}

// TestAppendJSONStringEveryByte: each byte alone, and between plain characters, is written as
// encoding/json writes it.
func TestAppendJSONStringEveryByte(t *testing.T) {
	for b := range 256 {
		for _, s := range []string{string([]byte{byte(b)}), "a" + string([]byte{byte(b)}) + "z"} {
			want, _ := json.Marshal(s)
			if got := appendJSONString(nil, s); string(got) != string(want) {
				t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
			}
		}
	}
}
