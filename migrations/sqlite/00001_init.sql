-- +goose Up
-- Times are UTC text ('2006-01-02 15:04:05.999999999+00:00', as the Go driver writes them);
-- they are declared datetime so that the driver reads them back as time values.
CREATE TABLE users (
    id            text     NOT NULL PRIMARY KEY,
    email         text     NOT NULL UNIQUE,
    password_hash text     NOT NULL,
    role          text     NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    disabled      integer  NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    datetime NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    updated_at    datetime NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'))
);
CREATE INDEX users_created_at_id_idx ON users (created_at, id);

CREATE TABLE sessions (
    id              text     NOT NULL PRIMARY KEY,
    user_id         text     NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at      datetime NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    last_used_at    datetime NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    expires_at      datetime NOT NULL,
    user_agent      text     NOT NULL DEFAULT '',
    ip              text     NOT NULL DEFAULT '',
    generation      integer  NOT NULL DEFAULT 0,
    token_hash      blob     NOT NULL,
    -- NULL until the first rotation: there is no previous token yet.
    prev_token_hash blob,
    rotated_at      datetime NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    revoked_at      datetime,
    revoke_reason   text     NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE TABLE revocations (
    id         integer  PRIMARY KEY AUTOINCREMENT,
    kind       text     NOT NULL CHECK (kind IN ('session', 'jti', 'user')),
    subject    text     NOT NULL,
    -- Only user revocations use cutoff; the others keep Go's zero time.
    cutoff     datetime NOT NULL DEFAULT '0001-01-01 00:00:00+00:00',
    expires_at datetime NOT NULL,
    created_at datetime NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'))
);
CREATE INDEX revocations_created_at_idx ON revocations (created_at);
CREATE INDEX revocations_expires_at_idx ON revocations (expires_at);

-- +goose Down
DROP TABLE revocations;
DROP TABLE sessions;
DROP TABLE users;
