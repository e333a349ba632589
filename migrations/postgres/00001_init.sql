-- +goose Up
CREATE TABLE users (
    id            uuid        PRIMARY KEY,
    email         text        NOT NULL,
    password_hash text        NOT NULL,
    role          text        NOT NULL DEFAULT 'user',
    disabled      boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_role_check CHECK (role IN ('user', 'admin'))
);
CREATE INDEX users_created_at_id_idx ON users (created_at, id);

CREATE TABLE sessions (
    id              uuid        PRIMARY KEY,
    user_id         uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_used_at    timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    user_agent      text        NOT NULL DEFAULT '',
    ip              text        NOT NULL DEFAULT '',
    generation      bigint      NOT NULL DEFAULT 0,
    token_hash      bytea       NOT NULL,
    -- NULL until the first rotation: there is no previous token yet.
    prev_token_hash bytea,
    rotated_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz,
    revoke_reason   text        NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE TABLE revocations (
    id         bigserial   PRIMARY KEY,
    kind       text        NOT NULL,
    subject    text        NOT NULL,
    -- Only user revocations use cutoff; the others keep Go's zero time.
    cutoff     timestamptz NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT revocations_kind_check CHECK (kind IN ('session', 'jti', 'user'))
);
CREATE INDEX revocations_created_at_idx ON revocations (created_at);
CREATE INDEX revocations_expires_at_idx ON revocations (expires_at);

-- +goose Down
DROP TABLE revocations;
DROP TABLE sessions;
DROP TABLE users;
