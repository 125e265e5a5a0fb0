-- Oversight, part 1: surveys with deadlines that a Sở or a commune issues to the schools below
-- it, and each school's online-teaching plan and regulation per school year (the mandatory
-- conditions of Decision 4725), with versions and the principal's approval.

CREATE TABLE surveys (
    id TEXT PRIMARY KEY,
    -- The issuing unit (Sở or commune) and its path: who may see it is a prefix test.
    unit_id TEXT NOT NULL REFERENCES org_units(id),
    unit_path TEXT NOT NULL,
    -- A built-in template of domain::survey ('devices', 'infrastructure', 'training').
    template TEXT NOT NULL,
    title TEXT NOT NULL,
    instructions TEXT NOT NULL DEFAULT '',
    deadline_at BIGINT NOT NULL,
    -- 'accept' (late submissions are flagged) or 'refuse'.
    late_policy TEXT NOT NULL,
    -- Comma-separated school levels asked; empty: every school of the subtree.
    levels TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    reminded_at BIGINT
);
CREATE INDEX surveys_unit ON surveys(unit_path, created_at);

-- One row per school asked, made when the survey is issued: the school's status, its draft or
-- submitted answer (JSON domain::survey::Answers).
CREATE TABLE survey_responses (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    survey_id TEXT NOT NULL REFERENCES surveys(id),
    -- 'missing', 'draft' or 'submitted'.
    status TEXT NOT NULL DEFAULT 'missing',
    answers TEXT NOT NULL DEFAULT '{}',
    late BIGINT NOT NULL DEFAULT 0,
    saved_by TEXT REFERENCES users(id),
    saved_at BIGINT,
    submitted_by TEXT REFERENCES users(id),
    submitted_at BIGINT,
    reminded_at BIGINT
);
CREATE UNIQUE INDEX survey_responses_school ON survey_responses(school_id, survey_id);
CREATE INDEX survey_responses_survey ON survey_responses(survey_id, status);

-- A school's documents per school year, every upload a new version. The current version is
-- the highest; it is approved when approved_at is set. Kinds: 'online_plan' (kế hoạch dạy học
-- trực tuyến), 'regulation' (quy chế tổ chức dạy học trực tuyến).
CREATE TABLE school_documents (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    year_id TEXT NOT NULL REFERENCES school_years(id),
    kind TEXT NOT NULL,
    version BIGINT NOT NULL,
    storage_key TEXT NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    uploaded_by TEXT NOT NULL REFERENCES users(id),
    uploaded_at BIGINT NOT NULL,
    approved_by TEXT REFERENCES users(id),
    approved_at BIGINT
);
CREATE UNIQUE INDEX school_documents_version ON school_documents(school_id, year_id, kind, version);
