package handlers_test

import (
	"net/http"
	"testing"
)

func TestSmokeLoginProfile(t *testing.T) {
	e := newEnv(t, nil)
	id := e.register("smoke@example.com")
	s := e.login("smoke@example.com")
	rec := e.do(req{method: "GET", path: "/api/profile", bearer: s.access})
	expect(t, "GET /api/profile", rec, http.StatusOK, "")
	if got := jsonBody(t, rec)["userId"]; got != id {
		t.Fatalf("GET /api/profile userId = %v, want %s", got, id)
	}
}
