package config

import "fmt"

// introspectionTokens returns the comma-separated secrets of INTROSPECTION_TOKENS (or its _FILE
// form), each checked as a JWT secret is: at least 32 characters, not a placeholder, not weak.
func (l *loader) introspectionTokens() []Secret {
	const name = "INTROSPECTION_TOKENS"
	items := splitList(l.value(name))
	out := make([]Secret, 0, len(items))
	for i, item := range items {
		s := Secret(item)
		before := len(l.problems)
		l.checkSecret(fmt.Sprintf("%s (token %d of %d)", name, i+1, len(items)), s)
		if len(l.problems) == before {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
