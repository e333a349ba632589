package handlers

import (
	"context"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/authserver/authserver/internal/auth"
	"github.com/authserver/authserver/internal/middleware"
	"github.com/authserver/authserver/internal/models"
)

// The answers of the routes that send mail. Forgot and resend say the same whatever the address.
const (
	msgResendAccepted = "If this address belongs to an account waiting for verification, a new link is on its way."
	msgForgotAccepted = "If an account uses this address, a link to reset its password is on its way."
	msgChangeAccepted = "A confirmation link is on its way to the new address; the change takes effect when it is opened."
	msgAdminReset     = "A password-reset link is on its way to the user, unless the account is disabled or was sent one moments ago."
	msgPasswordReset  = "Password reset: every session has ended. Sign in with the new password."
)

// emailRequest is the body of forgot-password and verification resend.
type emailRequest struct {
	Email string `json:"email"`
}

// Valid reports a missing email; its form is not judged here, so that a malformed address gets the
// same answer as an unknown one.
func (r emailRequest) Valid() map[string]string {
	if strings.TrimSpace(r.Email) == "" {
		return map[string]string{"email": "is required"}
	}
	return nil
}

// tokenRequest is the body of the routes that take an emailed token.
type tokenRequest struct {
	Token *string `json:"token"`
}

// Valid reports a missing token; an empty or wrong one is the service's INVALID_EMAIL_TOKEN.
func (r tokenRequest) Valid() map[string]string {
	if r.Token == nil {
		return map[string]string{"token": "is required"}
	}
	return nil
}

// resetRequest is the body of POST /api/auth/password/reset.
type resetRequest struct {
	Token       *string `json:"token"`
	NewPassword string  `json:"newPassword"`
}

// Valid reports missing fields; the password policy is the service's to judge.
func (r resetRequest) Valid() map[string]string {
	p := tokenRequest{Token: r.Token}.Valid()
	if r.NewPassword == "" {
		if p == nil {
			p = map[string]string{}
		}
		p["newPassword"] = "is required"
	}
	return p
}

// changeEmailRequest is the body of POST /api/auth/email.
type changeEmailRequest struct {
	Password string `json:"password"`
	NewEmail string `json:"newEmail"`
}

// Valid reports missing fields.
func (r changeEmailRequest) Valid() map[string]string {
	p := map[string]string{}
	if r.Password == "" {
		p["password"] = "is required"
	}
	if strings.TrimSpace(r.NewEmail) == "" {
		p["newEmail"] = "is required"
	}
	return p
}

// handleMailRequest serves the routes that take {"email"} and answer 202 with msg whatever the
// address, the mail being decided after the answer: POST /api/auth/verify-email/resend
// (svc.RequestVerification) and POST /api/auth/password/forgot (svc.ForgotPassword).
func handleMailRequest(request func(ctx context.Context, email string, c auth.Client) error, msg string) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decodeValid[emailRequest](c)
		if !ok {
			return
		}
		if err := request(c.Request.Context(), req.Email, middleware.ClientOf(c)); err != nil {
			middleware.Fail(c, err)
			return
		}
		c.JSON(http.StatusAccepted, gin.H{"message": msg})
	}
}

// handleSpendToken serves the routes that spend an emailed token and answer with the user:
// POST /api/auth/verify-email (svc.VerifyEmail) and POST /api/auth/email/confirm
// (svc.ConfirmEmailChange).
func handleSpendToken(spend func(ctx context.Context, token string, c auth.Client) (*models.User, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decodeValid[tokenRequest](c)
		if !ok {
			return
		}
		u, err := spend(c.Request.Context(), *req.Token, middleware.ClientOf(c))
		if err != nil {
			middleware.Fail(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"user": newUserJSON(u)})
	}
}

// handleResetPassword serves POST /api/auth/password/reset.
func handleResetPassword(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decodeValid[resetRequest](c)
		if !ok {
			return
		}
		if err := svc.ResetPassword(c.Request.Context(), *req.Token, req.NewPassword, middleware.ClientOf(c)); err != nil {
			middleware.Fail(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"message": msgPasswordReset})
	}
}

// handleChangeEmail serves POST /api/auth/email.
func handleChangeEmail(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decodeValid[changeEmailRequest](c)
		if !ok {
			return
		}
		err := svc.RequestEmailChange(c.Request.Context(), *middleware.PrincipalFrom(c), req.Password, req.NewEmail, middleware.ClientOf(c))
		if err != nil {
			middleware.Fail(c, err)
			return
		}
		c.JSON(http.StatusAccepted, gin.H{"message": msgChangeAccepted})
	}
}

// handleAdminPasswordReset serves POST /api/admin/users/:id/password-reset.
func handleAdminPasswordReset(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		err := svc.SendPasswordReset(c.Request.Context(), *middleware.PrincipalFrom(c), c.Param("id"), middleware.ClientOf(c))
		if err != nil {
			middleware.Fail(c, err)
			return
		}
		c.JSON(http.StatusAccepted, gin.H{"message": msgAdminReset})
	}
}
