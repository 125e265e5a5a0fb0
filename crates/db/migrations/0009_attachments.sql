-- Photos attached to messages (stored files; the row says where and what).
CREATE TABLE message_attachments (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    message_id TEXT NOT NULL REFERENCES messages(id),
    storage_key TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX message_attachments_message ON message_attachments(message_id);
