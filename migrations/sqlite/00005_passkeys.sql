-- +goose Up
-- WebAuthn credentials. credential_id is the authenticator's id for the credential, public_key
-- its COSE key; sign_count the last signature counter accepted (a login must move it forward,
-- unless the authenticator never counts and both are 0). transports is comma-separated.
CREATE TABLE passkeys (
    id                 text     NOT NULL PRIMARY KEY,
    user_id            text     NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id      blob     NOT NULL UNIQUE,
    public_key         blob     NOT NULL,
    sign_count         integer  NOT NULL DEFAULT 0,
    transports         text     NOT NULL DEFAULT '',
    aaguid             blob     NOT NULL,
    attestation_format text     NOT NULL DEFAULT '',
    backup_eligible    integer  NOT NULL DEFAULT 0 CHECK (backup_eligible IN (0, 1)),
    backup_state       integer  NOT NULL DEFAULT 0 CHECK (backup_state IN (0, 1)),
    name               text     NOT NULL,
    created_at         datetime NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    last_used_at       datetime
);
CREATE INDEX passkeys_user_id_created_at_idx ON passkeys (user_id, created_at);

-- The server's half of a WebAuthn ceremony, kept between its options and its finish.
-- id_hash is the SHA-256 of the challenge id the client holds; a finish deletes the row
-- (single use). user_id is the registering user ('' for a login), email the address a login
-- was begun for ('' for a username-less one), session the ceremony state (JSON).
CREATE TABLE webauthn_challenges (
    id_hash    blob     NOT NULL PRIMARY KEY,
    purpose    text     NOT NULL CHECK (purpose IN ('registration', 'login')),
    user_id    text     NOT NULL DEFAULT '',
    email      text     NOT NULL DEFAULT '',
    session    text     NOT NULL,
    created_at datetime NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    expires_at datetime NOT NULL
);
CREATE INDEX webauthn_challenges_expires_at_idx ON webauthn_challenges (expires_at);

-- +goose Down
DROP TABLE webauthn_challenges;
DROP TABLE passkeys;
