-- +goose Up
-- One TOTP factor per user. enabled_at is NULL while the factor is pending (enrolled, not yet
-- confirmed with a code). secret is the sealed secret (see internal/mfa: AES-256-GCM under a key
-- derived from JWT_REFRESH_SECRET), never the secret itself. last_step is the last accepted
-- 30-second step: a code of that step or an earlier one is refused (replay), on every instance.
CREATE TABLE mfa_totp (
    user_id    uuid        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret     text        NOT NULL,
    enabled_at timestamptz,
    last_step  bigint      NOT NULL DEFAULT -1,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Unused recovery codes, as SHA-256 hashes of the user id and the code; a used code is deleted.
CREATE TABLE mfa_recovery_codes (
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, code_hash)
);

-- The server side of an mfaToken (its jti): wrong codes are counted here and a success spends it,
-- so both hold across instances.
CREATE TABLE mfa_challenges (
    id         uuid        PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    failures   integer     NOT NULL DEFAULT 0,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mfa_challenges_user_id_idx ON mfa_challenges (user_id);

-- How the session's user authenticated (RFC 8176 amr values, comma-separated); sessions opened
-- before this migration were password logins.
ALTER TABLE sessions ADD COLUMN amr text NOT NULL DEFAULT 'pwd';

-- +goose Down
ALTER TABLE sessions DROP COLUMN amr;
DROP TABLE mfa_challenges;
DROP TABLE mfa_recovery_codes;
DROP TABLE mfa_totp;
