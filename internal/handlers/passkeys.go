package handlers

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authserver/authserver/internal/auth"
	"github.com/authserver/authserver/internal/middleware"
	"github.com/authserver/authserver/internal/models"
)

// passkeyJSON is a passkey as the passkey routes show it; LastUsedAt is null until its first login.
type passkeyJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
}

func newPasskeyJSON(p models.Passkey) passkeyJSON {
	out := passkeyJSON{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt.UTC()}
	if p.LastUsedAt != nil {
		used := p.LastUsedAt.UTC()
		out.LastUsedAt = &used
	}
	return out
}

// ceremonyResponse is the answer of the two options routes: the challenge id the finish must
// quote, and the publicKey options for the browser.
type ceremonyResponse struct {
	ChallengeID string `json:"challengeId"`
	Options     any    `json:"options"`
}

// sendCeremony writes a ceremony's options; they hold a fresh challenge, so they are not cached.
func sendCeremony(c *gin.Context, challengeID string, options any) {
	noStore(c)
	c.JSON(http.StatusOK, ceremonyResponse{ChallengeID: challengeID, Options: options})
}

// ceremonyFinish is the body of the two finish routes. Credential is the PublicKeyCredential
// JSON (toJSON()) as the browser gave it; the passkeys service judges it.
type ceremonyFinish struct {
	ChallengeID string          `json:"challengeId"`
	Credential  json.RawMessage `json:"credential"`
	Name        string          `json:"name"`
}

// Valid reports missing fields.
func (r ceremonyFinish) Valid() map[string]string { return finishProblems(r.ChallengeID, r.Credential) }

// passkeyLoginFinish is the body of POST /api/auth/passkeys/login: a login names no passkey.
type passkeyLoginFinish struct {
	ChallengeID string          `json:"challengeId"`
	Credential  json.RawMessage `json:"credential"`
}

// Valid reports missing fields.
func (r passkeyLoginFinish) Valid() map[string]string {
	return finishProblems(r.ChallengeID, r.Credential)
}

// finishProblems reports a missing challenge id or credential (null counts as missing).
func finishProblems(challengeID string, credential json.RawMessage) map[string]string {
	p := map[string]string{}
	if strings.TrimSpace(challengeID) == "" {
		p["challengeId"] = "is required"
	}
	if len(credential) == 0 || string(credential) == "null" {
		p["credential"] = "is required"
	}
	return p
}

// handlePasskeyRegisterOptions serves POST /api/auth/passkeys/register/options; it takes no body.
func handlePasskeyRegisterOptions(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, options, err := svc.BeginPasskeyRegistration(c.Request.Context(), *middleware.PrincipalFrom(c))
		if err != nil {
			middleware.Fail(c, err)
			return
		}
		sendCeremony(c, id, options)
	}
}

// handlePasskeyRegister serves POST /api/auth/passkeys/register.
func handlePasskeyRegister(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decodeValid[ceremonyFinish](c)
		if !ok {
			return
		}
		p, err := svc.FinishPasskeyRegistration(c.Request.Context(), *middleware.PrincipalFrom(c),
			req.ChallengeID, req.Credential, req.Name, middleware.ClientOf(c))
		if err != nil {
			middleware.Fail(c, err)
			return
		}
		c.JSON(http.StatusCreated, gin.H{"passkey": newPasskeyJSON(*p)})
	}
}

// passkeyLoginStart is the optional body of POST /api/auth/passkeys/login/options.
type passkeyLoginStart struct {
	Email string `json:"email"`
}

// handlePasskeyLoginOptions serves POST /api/auth/passkeys/login/options: `{}` (or no body) for
// a username-less login, `{"email"}` to accept only that account's passkeys.
func handlePasskeyLoginOptions(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req passkeyLoginStart
		if err := decodeJSON(c, &req, true); err != nil {
			middleware.Fail(c, err)
			return
		}
		id, options, err := svc.BeginPasskeyLogin(c.Request.Context(), req.Email)
		if err != nil {
			middleware.Fail(c, err)
			return
		}
		sendCeremony(c, id, options)
	}
}

// handlePasskeyLogin serves POST /api/auth/passkeys/login: the login answer and refresh cookie.
func handlePasskeyLogin(svc *auth.Service, cookies cookieSettings) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decodeValid[passkeyLoginFinish](c)
		if !ok {
			return
		}
		out, err := svc.PasskeyLogin(c.Request.Context(), req.ChallengeID, req.Credential, middleware.ClientOf(c))
		if err != nil {
			middleware.Fail(c, err)
			return
		}
		sendLogin(c, cookies, out)
	}
}
