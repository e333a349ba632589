-- +goose Up
-- Accounts made before this migration count as unverified.
ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false;

-- One-time links sent by email. Only the SHA-256 of a token is stored. email is the address the
-- link went to (for change_email: the new address). A token is spent once used_at is set; a newer
-- token of the same user and purpose deletes the older ones, and so does, for reset links, any
-- password change. Spent rows stay until replaced: the resend interval reads their created_at.
CREATE TABLE email_tokens (
    token_hash bytea       PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text        NOT NULL,
    email      text        NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    CONSTRAINT email_tokens_purpose_check CHECK (purpose IN ('verify_email', 'reset_password', 'change_email'))
);
CREATE INDEX email_tokens_user_id_purpose_idx ON email_tokens (user_id, purpose);
CREATE INDEX email_tokens_email_purpose_created_at_idx ON email_tokens (email, purpose, created_at);

-- +goose Down
DROP TABLE email_tokens;
ALTER TABLE users DROP COLUMN email_verified;
