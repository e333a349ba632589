package handlers

import (
	"github.com/gin-gonic/gin"

	"github.com/authserver/authserver/internal/middleware"
	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/ratelimit"
)

// addRoutes is the one place that says which endpoints exist. The example SPA's pages, when
// served, answer only where no endpoint does.
func addRoutes(r *gin.Engine, d Deps, pages spaFiles) {
	cookies := cookieSettings{secure: d.CookieSecure, fingerprint: d.Fingerprint}
	bearer := middleware.RequireAccessToken(d.Tokens, d.DenyList, d.Fingerprint)
	// withBearer makes the bearer check and a route's handler one handler, which is given the
	// claims: the two hottest protected routes keep nothing on the Gin context.
	withBearer := func(h middleware.ClaimsHandler) gin.HandlerFunc {
		return middleware.WithAccessToken(d.Tokens, d.DenyList, d.Fingerprint, h)
	}

	r.GET("/healthz", handleHealthz())
	r.GET("/readyz", handleReadyz(d.Ready))
	r.GET("/metrics", handleMetrics(d.Metrics))
	r.GET("/.well-known/jwks.json", handleJWKS(d.Tokens))
	r.GET("/openapi.json", handleOpenAPI(d.OpenAPI))

	// For reverse proxies and resource servers: no rate limit, no Origin judged (proxyPaths).
	r.GET("/forward-auth", middleware.NoStore(), withBearer(handleForwardAuth(d.Auth)))
	if len(d.IntrospectionTokens) > 0 {
		r.POST("/oauth/introspect", middleware.NoStore(), middleware.RequireClientToken(d.IntrospectionTokens),
			handleIntrospect(d.Tokens, d.DenyList))
	}

	a := r.Group("/api/auth", middleware.RateLimit(d.Limits, ratelimit.Auth, d.Auth))
	a.POST("/register", handleRegister(d.Auth))
	a.POST("/login", handleLogin(d.Auth, cookies))
	a.POST("/refresh", handleRefresh(d.Auth, cookies))
	a.POST("/logout", middleware.OptionalAccessToken(d.Tokens, d.DenyList, d.Fingerprint), handleLogout(d.Auth, cookies))
	a.POST("/logout-all", bearer, handleLogoutAll(d.Auth, cookies))
	a.GET("/sessions", bearer, handleOwnList("sessions", d.Auth.Sessions, newSessionJSON))
	a.DELETE("/sessions/:id", bearer, handleOwnDelete(d.Auth.EndSession))
	a.POST("/password", bearer, handleChangePassword(d.Auth))
	a.GET("/mfa", bearer, handleMFAStatus(d.Auth))
	a.POST("/mfa/totp", bearer, handleEnrolTOTP(d.Auth))
	a.POST("/mfa/totp/confirm", bearer, handleConfirmTOTP(d.Auth))
	a.DELETE("/mfa/totp", bearer, handleDisableTOTP(d.Auth))
	a.POST("/mfa/recovery-codes", bearer, handleRegenerateRecoveryCodes(d.Auth))
	a.POST("/mfa/verify", handleVerifyMFA(d.Auth, cookies))
	a.POST("/passkeys/register/options", bearer, handlePasskeyRegisterOptions(d.Auth))
	a.POST("/passkeys/register", bearer, handlePasskeyRegister(d.Auth))
	a.GET("/passkeys", bearer, handleOwnList("passkeys", d.Auth.Passkeys, newPasskeyJSON))
	a.DELETE("/passkeys/:id", bearer, handleOwnDelete(d.Auth.DeletePasskey))
	a.POST("/passkeys/login/options", handlePasskeyLoginOptions(d.Auth))
	a.POST("/passkeys/login", handlePasskeyLogin(d.Auth, cookies))
	a.POST("/verify-email/resend", handleMailRequest(d.Auth.RequestVerification, msgResendAccepted))
	a.POST("/verify-email", handleSpendToken(d.Auth.VerifyEmail))
	a.POST("/password/forgot", handleMailRequest(d.Auth.ForgotPassword, msgForgotAccepted))
	a.POST("/password/reset", handleResetPassword(d.Auth))
	a.POST("/email", bearer, handleChangeEmail(d.Auth))
	a.POST("/email/confirm", handleSpendToken(d.Auth.ConfirmEmailChange))

	// Every /api route outside /api/auth is rate limited, then needs a bearer token.
	api := r.Group("/api", middleware.RateLimit(d.Limits, ratelimit.General, d.Auth))
	api.GET("/profile", withBearer(handleProfile()))
	authed := api.Group("", bearer)
	authed.GET("/dashboard", handleDashboard())
	authed.GET("/me", handleMe(d.Auth))

	admin := authed.Group("/admin", middleware.RequireRole(d.Auth, models.RoleAdmin), middleware.RequireMFA(d.RequireMFAForAdmin))
	admin.GET("", handleAdmin())
	admin.GET("/users", handleListUsers(d.Auth))
	admin.PATCH("/users/:id", handleUpdateUser(d.Auth))
	admin.DELETE("/users/:id", handleDeleteUser(d.Auth))
	admin.DELETE("/users/:id/sessions", handleEndUserSessions(d.Auth))
	admin.DELETE("/users/:id/mfa", handleResetMFA(d.Auth))
	admin.POST("/users/:id/password-reset", handleAdminPasswordReset(d.Auth))
	admin.GET("/audit", handleAudit(d.Auth))

	r.NoRoute(handleNotFound(pages))
	r.NoMethod(handleMethodNotAllowed())
}

// handleNotFound answers unknown paths with 404 NOT_FOUND, or with a page of the example SPA
// when it is served (see spaFiles.page).
func handleNotFound(pages spaFiles) gin.HandlerFunc {
	return func(c *gin.Context) {
		if page, ok := pages.page(c.Request); ok {
			page.serve(c)
			return
		}
		middleware.Fail(c, middleware.ErrNoRoute)
	}
}

// handleMethodNotAllowed answers a known path with another method: 405 METHOD_NOT_ALLOWED (Gin sets Allow).
func handleMethodNotAllowed() gin.HandlerFunc {
	return func(c *gin.Context) { middleware.Fail(c, middleware.ErrMethodNotAllowed) }
}
