package tokens

import (
	"encoding/json"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// rawDates catches exp, nbf and iat as they are written in a token's payload. golang-jwt's
// NumericDate also reads a JSON string holding a number ("exp":"1700000000"); RFC 7519 defines a
// NumericDate as a JSON number only, so the claim types below read these three members
// themselves and refuse anything else.
type rawDates struct {
	ExpiresAt json.RawMessage `json:"exp"`
	NotBefore json.RawMessage `json:"nbf"`
	IssuedAt  json.RawMessage `json:"iat"`
}

// apply sets r's dates from d: an absent member stays nil; a member that is not a JSON number
// (a string, null, true, an object) is an error.
func (d rawDates) apply(r *jwt.RegisteredClaims) error {
	for _, m := range []struct {
		name string
		raw  json.RawMessage
		dst  **jwt.NumericDate
	}{
		{"exp", d.ExpiresAt, &r.ExpiresAt},
		{"nbf", d.NotBefore, &r.NotBefore},
		{"iat", d.IssuedAt, &r.IssuedAt},
	} {
		if m.raw == nil {
			continue
		}
		if c := m.raw[0]; c != '-' && (c < '0' || c > '9') {
			return fmt.Errorf("%s claim is not a JSON number", m.name)
		}
		date := new(jwt.NumericDate)
		if err := date.UnmarshalJSON(m.raw); err != nil {
			return fmt.Errorf("%s claim: %w", m.name, err)
		}
		*m.dst = date
	}
	return nil
}

// UnmarshalJSON decodes an access token's payload; exp, nbf and iat must be JSON numbers.
func (c *AccessClaims) UnmarshalJSON(b []byte) error {
	type plain AccessClaims // the same fields without this method
	var v struct {
		*plain
		rawDates // shallower than RegisteredClaims' members, so it receives exp, nbf and iat
	}
	v.plain = (*plain)(c)
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	return v.apply(&c.RegisteredClaims)
}

// UnmarshalJSON decodes a refresh token's payload; exp, nbf and iat must be JSON numbers.
func (c *RefreshClaims) UnmarshalJSON(b []byte) error {
	type plain RefreshClaims
	var v struct {
		*plain
		rawDates
	}
	v.plain = (*plain)(c)
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	return v.apply(&c.RegisteredClaims)
}
