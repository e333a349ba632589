package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/authserver/authserver/internal/auth"
	"github.com/authserver/authserver/internal/middleware"
)

// mfaStatusJSON is the body of GET /api/auth/mfa.
type mfaStatusJSON struct {
	TOTP              bool `json:"totp"`
	RecoveryCodesLeft int  `json:"recoveryCodesLeft"`
	Passkeys          int  `json:"passkeys"`
}

// handleMFAStatus serves GET /api/auth/mfa.
func handleMFAStatus(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		st, err := svc.MFAStatus(c.Request.Context(), *middleware.PrincipalFrom(c))
		if err != nil {
			middleware.Fail(c, err)
			return
		}
		c.JSON(http.StatusOK, mfaStatusJSON{TOTP: st.TOTP, RecoveryCodesLeft: st.RecoveryCodesLeft, Passkeys: st.Passkeys})
	}
}

// enrolRequest is the body of POST /api/auth/mfa/totp.
type enrolRequest struct {
	Password string `json:"password"`
}

// Valid requires the password.
func (r enrolRequest) Valid() map[string]string {
	if r.Password == "" {
		return map[string]string{"password": "is required"}
	}
	return nil
}

// enrolmentJSON is the body of POST /api/auth/mfa/totp: the secret, shown this once.
type enrolmentJSON struct {
	Secret     string `json:"secret"`
	OTPAuthURL string `json:"otpauthUrl"`
	QRCode     string `json:"qrCode"`
}

// handleEnrolTOTP serves POST /api/auth/mfa/totp.
func handleEnrolTOTP(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decodeValid[enrolRequest](c)
		if !ok {
			return
		}
		e, err := svc.EnrolTOTP(c.Request.Context(), *middleware.PrincipalFrom(c), req.Password, middleware.ClientOf(c))
		if err != nil {
			middleware.Fail(c, err)
			return
		}
		noStore(c)
		c.JSON(http.StatusOK, enrolmentJSON{Secret: e.Secret, OTPAuthURL: e.OTPAuthURL, QRCode: e.QRCode})
	}
}

// codeRequest is the body of the routes that take a code from the signed-in user. A missing code is
// a validation error; an empty or wrong one INVALID_MFA_CODE.
type codeRequest struct {
	Code *string `json:"code"`
}

// Valid requires the code field.
func (r codeRequest) Valid() map[string]string {
	if r.Code == nil {
		return map[string]string{"code": "is required"}
	}
	return nil
}

// recoveryCodesJSON is a new set of recovery codes, shown this once.
type recoveryCodesJSON struct {
	RecoveryCodes []string `json:"recoveryCodes"`
}

// handleConfirmTOTP serves POST /api/auth/mfa/totp/confirm.
func handleConfirmTOTP(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decodeValid[codeRequest](c)
		if !ok {
			return
		}
		codes, err := svc.ConfirmTOTP(c.Request.Context(), *middleware.PrincipalFrom(c), *req.Code, middleware.ClientOf(c))
		if err != nil {
			middleware.Fail(c, err)
			return
		}
		noStore(c)
		c.JSON(http.StatusOK, recoveryCodesJSON{RecoveryCodes: codes})
	}
}

// handleDisableTOTP serves DELETE /api/auth/mfa/totp.
func handleDisableTOTP(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decodeValid[codeRequest](c)
		if !ok {
			return
		}
		if err := svc.DisableTOTP(c.Request.Context(), *middleware.PrincipalFrom(c), *req.Code, middleware.ClientOf(c)); err != nil {
			middleware.Fail(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	}
}

// handleRegenerateRecoveryCodes serves POST /api/auth/mfa/recovery-codes.
func handleRegenerateRecoveryCodes(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decodeValid[codeRequest](c)
		if !ok {
			return
		}
		codes, err := svc.RegenerateRecoveryCodes(c.Request.Context(), *middleware.PrincipalFrom(c), *req.Code, middleware.ClientOf(c))
		if err != nil {
			middleware.Fail(c, err)
			return
		}
		noStore(c)
		c.JSON(http.StatusOK, recoveryCodesJSON{RecoveryCodes: codes})
	}
}

// challengeJSON is the login answer of an account with a second factor.
type challengeJSON struct {
	MFARequired bool     `json:"mfaRequired"`
	MFAToken    string   `json:"mfaToken"`
	Methods     []string `json:"methods"`
}

// sendChallenge writes the login answer that asks for a second step: no token, no cookie.
func sendChallenge(c *gin.Context, ch *auth.Challenge) {
	noStore(c)
	c.JSON(http.StatusOK, challengeJSON{MFARequired: true, MFAToken: ch.MFAToken, Methods: ch.Methods})
}

// verifyRequest is the body of POST /api/auth/mfa/verify: the MFA token and either a TOTP code or a
// recovery code. Missing fields are validation errors; empty or wrong values are INVALID_MFA_TOKEN
// and INVALID_MFA_CODE.
type verifyRequest struct {
	MFAToken     *string `json:"mfaToken"`
	Code         *string `json:"code"`
	RecoveryCode *string `json:"recoveryCode"`
}

// Valid requires the token and exactly one of the two codes.
func (r verifyRequest) Valid() map[string]string {
	p := map[string]string{}
	if r.MFAToken == nil {
		p["mfaToken"] = "is required"
	}
	switch {
	case r.Code == nil && r.RecoveryCode == nil:
		p["code"] = "give code or recoveryCode"
	case r.Code != nil && r.RecoveryCode != nil:
		p["code"] = "give code or recoveryCode, not both"
	}
	return p
}

// handleVerifyMFA serves POST /api/auth/mfa/verify: the second step of a login, answered as a login.
func handleVerifyMFA(svc *auth.Service, cookies cookieSettings) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decodeValid[verifyRequest](c)
		if !ok {
			return
		}
		code, recovery := "", ""
		if req.Code != nil {
			code = *req.Code
		} else {
			recovery = *req.RecoveryCode
		}
		out, err := svc.VerifyMFA(c.Request.Context(), *req.MFAToken, code, recovery, middleware.ClientOf(c))
		if err != nil {
			middleware.Fail(c, err)
			return
		}
		sendLogin(c, cookies, out)
	}
}

// handleResetMFA serves DELETE /api/admin/users/:id/mfa.
func handleResetMFA(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := svc.ResetMFA(c.Request.Context(), *middleware.PrincipalFrom(c), c.Param("id"), middleware.ClientOf(c)); err != nil {
			middleware.Fail(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	}
}
