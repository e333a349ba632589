package handlers

import (
	"encoding/json"
	"testing"

	"github.com/authserver/authserver/internal/models"
)

// TestTokenResponseJSON: the token answer written without reflection equals encoding/json's
// encoding of the same value, with and without its optional members.
func TestTokenResponseJSON(t *testing.T) {
	for _, r := range []tokenResponse{
		{},
		{AccessToken: "a.b.c", TokenType: "Bearer", ExpiresIn: 900},
		{AccessToken: "a.b.c", TokenType: "Bearer", ExpiresIn: -1, RefreshToken: "r.s.t"},
		{AccessToken: "a.b.c", TokenType: "Bearer", ExpiresIn: 900, User: &userJSON{
			ID: "0b7e6f0e-4a51-4c1e-9d2b-2f5b7a1c9e10", Email: "naïve<&>@example.com", Role: models.RoleAdmin, EmailVerified: true}},
		{User: &userJSON{}},
	} {
		want, _ := json.Marshal(r)
		if got := r.appendJSON([]byte("x")); string(got) != "x"+string(want) {
			t.Errorf("tokenResponse %+v = %s, want x%s", r, got, want)
		}
	}
}
