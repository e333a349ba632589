-- +goose Up
-- user_id is not a foreign key: events outlive the users they are about.
-- user_id and session_id are NULL when the event has none.
CREATE TABLE audit_events (
    id         text     NOT NULL PRIMARY KEY,
    type       text     NOT NULL,
    user_id    text,
    session_id text,
    ip         text     NOT NULL DEFAULT '',
    user_agent text     NOT NULL DEFAULT '',
    created_at datetime NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    detail     text     NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_created_at_id_idx ON audit_events (created_at, id);
CREATE INDEX audit_events_user_id_created_at_idx ON audit_events (user_id, created_at);
CREATE INDEX audit_events_type_created_at_idx ON audit_events (type, created_at);

-- +goose Down
DROP TABLE audit_events;
