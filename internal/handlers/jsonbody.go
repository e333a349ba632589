package handlers

import "encoding/json"

// jsonContentType is the Content-Type of every JSON answer, as Gin's c.JSON sends it.
const jsonContentType = "application/json; charset=utf-8"

// jsonPlain tells the bytes encoding/json writes as they are inside a string: printable ASCII
// but for the quote, the backslash and the HTML characters < > & it escapes. A table lookup per
// byte instead of seven comparisons.
var jsonPlain = func() (plain [256]bool) {
	for b := byte(0x20); b <= 0x7e; b++ {
		plain[b] = b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
	}
	return plain
}()

// appendJSONString appends s as a JSON string, as encoding/json would write it: plain printable
// ASCII (ids, emails) is copied between quotes; anything else goes through encoding/json.
func appendJSONString(dst []byte, s string) []byte {
	for i := range len(s) {
		if !jsonPlain[s[i]] {
			quoted, _ := json.Marshal(s) // cannot fail for a string
			return append(dst, quoted...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
