package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/authserver/authserver/internal/tokens"
)

// handleJWKS serves GET /.well-known/jwks.json.
func handleJWKS(t *tokens.Issuer) gin.HandlerFunc {
	jwks := t.JWKS()
	return func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=300")
		c.JSON(http.StatusOK, jwks)
	}
}
