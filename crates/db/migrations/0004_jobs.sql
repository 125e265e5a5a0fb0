-- The background job queue (delivery of notifications now; video transcoding and reports
-- later), per-user notification preferences, and the delivery record of each notification.

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued',
    run_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    locked_until BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs(status, run_at);

CREATE TABLE notification_prefs (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    email BIGINT NOT NULL DEFAULT 1,
    zalo BIGINT NOT NULL DEFAULT 1,
    quiet_start BIGINT NOT NULL DEFAULT 21,
    quiet_end BIGINT NOT NULL DEFAULT 6,
    updated_at BIGINT NOT NULL
);

CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    notification_id TEXT NOT NULL REFERENCES notifications(id),
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    at BIGINT NOT NULL
);
CREATE INDEX deliveries_notification ON deliveries(notification_id);
