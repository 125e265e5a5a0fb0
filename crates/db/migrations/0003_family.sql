-- Families: parents activate their accounts with a one-time code, consent to the processing of
-- their child's data (Decree 13/2023), message teachers, read class announcements; everyone has
-- an in-app inbox.

CREATE TABLE activation_codes (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    code_hash TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    created_by TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX activation_codes_user ON activation_codes(user_id, created_at);

CREATE TABLE consents (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    version TEXT NOT NULL,
    accepted_at BIGINT NOT NULL
);
CREATE INDEX consents_user ON consents(user_id);

CREATE TABLE threads (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    student_id TEXT NOT NULL REFERENCES students(id),
    parent_id TEXT NOT NULL REFERENCES users(id),
    staff_user_id TEXT NOT NULL REFERENCES users(id),
    blocked BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    last_message_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX threads_pair ON threads(school_id, student_id, parent_id, staff_user_id);
CREATE INDEX threads_staff ON threads(staff_user_id, last_message_at);
CREATE INDEX threads_parent ON threads(parent_id, last_message_at);

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    thread_id TEXT NOT NULL REFERENCES threads(id),
    sender_id TEXT NOT NULL REFERENCES users(id),
    body TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    reported BIGINT NOT NULL DEFAULT 0,
    hidden BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX messages_idempotency ON messages(school_id, sender_id, idempotency_key);
CREATE INDEX messages_thread ON messages(thread_id, created_at);
CREATE INDEX messages_reported ON messages(school_id, reported);

CREATE TABLE thread_reads (
    school_id TEXT NOT NULL REFERENCES schools(id),
    thread_id TEXT NOT NULL REFERENCES threads(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    read_at BIGINT NOT NULL,
    PRIMARY KEY (thread_id, user_id)
);

CREATE TABLE announcements (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    class_id TEXT NOT NULL REFERENCES classes(id),
    author_id TEXT NOT NULL REFERENCES users(id),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX announcements_class ON announcements(school_id, class_id, created_at);

-- One row per parent the announcement went to, so "who has read" survives later roster changes.
CREATE TABLE announcement_recipients (
    school_id TEXT NOT NULL REFERENCES schools(id),
    announcement_id TEXT NOT NULL REFERENCES announcements(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    read_at BIGINT,
    PRIMARY KEY (announcement_id, user_id)
);
CREATE INDEX announcement_recipients_user ON announcement_recipients(user_id);

CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    school_id TEXT REFERENCES schools(id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    link TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at BIGINT
);
CREATE INDEX notifications_user ON notifications(user_id, created_at);
CREATE INDEX notifications_unread ON notifications(user_id, read_at);
