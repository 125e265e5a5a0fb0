-- Each school may send Zalo messages from its own Official Account.
CREATE TABLE school_zalo (
    school_id TEXT PRIMARY KEY REFERENCES schools(id),
    access_token TEXT NOT NULL,
    template_id TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
