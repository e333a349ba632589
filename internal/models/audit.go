package models

import "slices"

// AuditType names what an audit event records.
type AuditType string

// The audit event types. Add a new one here AND to auditTypes: the admin filter accepts exactly
// the listed ones.
const (
	AuditLoginSucceeded           AuditType = "login_succeeded"
	AuditLoginFailed              AuditType = "login_failed"
	AuditRefresh                  AuditType = "refresh"
	AuditTokenReuseDetected       AuditType = "token_reuse_detected"
	AuditLogout                   AuditType = "logout"
	AuditLogoutAll                AuditType = "logout_all"
	AuditSessionRevoked           AuditType = "session_revoked"
	AuditPasswordChanged          AuditType = "password_changed"
	AuditUserRegistered           AuditType = "user_registered"
	AuditUserUpdated              AuditType = "user_updated"
	AuditUserDeleted              AuditType = "user_deleted"
	AuditRateLimited              AuditType = "rate_limited"
	AuditEmailVerificationSent    AuditType = "email_verification_sent"
	AuditEmailVerified            AuditType = "email_verified"
	AuditPasswordResetRequested   AuditType = "password_reset_requested"
	AuditPasswordReset            AuditType = "password_reset"
	AuditEmailChangeRequested     AuditType = "email_change_requested"
	AuditEmailChanged             AuditType = "email_changed"
	AuditMFAEnabled               AuditType = "mfa_enabled"
	AuditMFADisabled              AuditType = "mfa_disabled"
	AuditMFAFailed                AuditType = "mfa_failed"
	AuditRecoveryCodesRegenerated AuditType = "recovery_codes_regenerated"
	AuditRecoveryCodeUsed         AuditType = "recovery_code_used"
	AuditMFAReset                 AuditType = "mfa_reset"
	AuditPasskeyAdded             AuditType = "passkey_added"
	AuditPasskeyRemoved           AuditType = "passkey_removed"
)

// auditTypes is the one list of audit event types.
var auditTypes = []AuditType{
	AuditLoginSucceeded, AuditLoginFailed, AuditRefresh, AuditTokenReuseDetected, AuditLogout, AuditLogoutAll,
	AuditSessionRevoked, AuditPasswordChanged, AuditUserRegistered, AuditUserUpdated, AuditUserDeleted, AuditRateLimited,
	AuditEmailVerificationSent, AuditEmailVerified, AuditPasswordResetRequested, AuditPasswordReset,
	AuditEmailChangeRequested, AuditEmailChanged, AuditMFAEnabled, AuditMFADisabled, AuditMFAFailed,
	AuditRecoveryCodesRegenerated, AuditRecoveryCodeUsed, AuditMFAReset, AuditPasskeyAdded, AuditPasskeyRemoved,
}

// AuditTypes returns every audit event type, in the order the docs list them.
func AuditTypes() []AuditType { return slices.Clone(auditTypes) }

// Valid reports whether t is one of AuditTypes.
func (t AuditType) Valid() bool { return slices.Contains(auditTypes, t) }

// AuditDetail is the detail object of an audit event, marshalled to JSON by the audit writer.
// Empty fields are left out; it never holds a password or a token.
type AuditDetail struct {
	*AuditActor          // admin actions and the command line: who acted
	RequestID     string `json:"requestId,omitempty"`         // every event of an HTTP request: its X-Request-ID
	Reason        string `json:"reason,omitempty"`            // login_failed: why; password_reset_requested by an admin: why nothing was sent
	Email         string `json:"email,omitempty"`             // login_failed, rate_limited: the email tried; email_change_requested, email_changed: the new address
	PreviousEmail string `json:"previous_email,omitempty"`    // email_changed: the address the account had
	Scope         string `json:"scope,omitempty"`             // rate_limited: "account" for the login lockout
	Route         string `json:"route,omitempty"`             // rate_limited: the route refused per client IP
	Generation    int64  `json:"generation,omitempty"`        // refresh: the session's new generation
	By            string `json:"by,omitempty"`                // session_revoked: "owner" when the user ended it
	Sessions      *int   `json:"sessions,omitempty"`          // logout_all, session_revoked by an admin: sessions ended
	SessionsEnded *int   `json:"sessions_ended,omitempty"`    // password_changed: other sessions ended; password_reset: sessions ended
	Role          Role   `json:"role,omitempty"`              // user_registered, user_updated: the role given
	Disabled      *bool  `json:"disabled,omitempty"`          // user_updated: the disabled flag set
	Method        string `json:"method,omitempty"`            // login_succeeded, login_failed, mfa_*: the factor used (totp, recovery_code, passkey)
	CodesLeft     *int   `json:"recoveryCodesLeft,omitempty"` // recovery_code_used: unused codes left
	PasskeyID     string `json:"passkeyId,omitempty"`         // passkey_added, passkey_removed, passkey logins: the passkey
	Name          string `json:"name,omitempty"`              // passkey_added: the name given
}

// AuditActor says who performed an admin action: ActorID is the admin's user id, nil (JSON
// null) from the command line; Via is "api" or "cli".
type AuditActor struct {
	ActorID *string `json:"actorId"`
	Via     string  `json:"via"`
}
