-- +goose Up
-- WebAuthn credentials. credential_id is the authenticator's id for the credential, public_key
-- its COSE key; sign_count the last signature counter accepted (a login must move it forward,
-- unless the authenticator never counts and both are 0). transports is comma-separated.
CREATE TABLE passkeys (
    id                 uuid        PRIMARY KEY,
    user_id            uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id      bytea       NOT NULL,
    public_key         bytea       NOT NULL,
    sign_count         bigint      NOT NULL DEFAULT 0,
    transports         text        NOT NULL DEFAULT '',
    aaguid             bytea       NOT NULL,
    attestation_format text        NOT NULL DEFAULT '',
    backup_eligible    boolean     NOT NULL DEFAULT false,
    backup_state       boolean     NOT NULL DEFAULT false,
    name               text        NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    last_used_at       timestamptz,
    CONSTRAINT passkeys_credential_id_key UNIQUE (credential_id)
);
CREATE INDEX passkeys_user_id_created_at_idx ON passkeys (user_id, created_at);

-- The server's half of a WebAuthn ceremony, kept between its options and its finish so that any
-- instance can finish it. id_hash is the SHA-256 of the challenge id the client holds; a finish
-- deletes the row (single use). user_id is the registering user ('' for a login), email the
-- address a login was begun for ('' for a username-less one), session the ceremony state (JSON).
CREATE TABLE webauthn_challenges (
    id_hash    bytea       PRIMARY KEY,
    purpose    text        NOT NULL,
    user_id    text        NOT NULL DEFAULT '',
    email      text        NOT NULL DEFAULT '',
    session    text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    CONSTRAINT webauthn_challenges_purpose_check CHECK (purpose IN ('registration', 'login'))
);
CREATE INDEX webauthn_challenges_expires_at_idx ON webauthn_challenges (expires_at);

-- +goose Down
DROP TABLE webauthn_challenges;
DROP TABLE passkeys;
