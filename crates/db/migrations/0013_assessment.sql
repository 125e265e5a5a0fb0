-- Assessment, part 1: question banks (personal, subject group, school) with versions and
-- images. A question is stored as the exam engine's JSON (`exam::model::Question`), with the
-- columns lists and searches need beside it.

CREATE TABLE question_banks (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    owner_id TEXT NOT NULL REFERENCES users(id),
    -- 'personal' (its owner), 'group' (a subject group: subject_group names it), 'school'.
    scope TEXT NOT NULL,
    subject_group TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX question_banks_name ON question_banks(school_id, owner_id, name_folded);

CREATE TABLE bank_questions (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    bank_id TEXT NOT NULL REFERENCES question_banks(id),
    -- single_choice, multiple_response, true_false, short_answer, essay
    kind TEXT NOT NULL,
    -- The question as exam::model::Question JSON (images referenced by asset id).
    body TEXT NOT NULL,
    -- Accent-folded plain text of the stem and options: search and near-duplicate detection.
    text_folded TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    grade BIGINT,
    topic TEXT NOT NULL DEFAULT '',
    -- nhan_biet, thong_hieu, van_dung, van_dung_cao, or '' when not set.
    level TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '',
    -- 'active', 'in_review' (a group bank's new question), 'retired'.
    status TEXT NOT NULL DEFAULT 'active',
    version BIGINT NOT NULL DEFAULT 1,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX bank_questions_bank ON bank_questions(school_id, bank_id, status);
CREATE INDEX bank_questions_topic ON bank_questions(school_id, bank_id, topic, level);

CREATE TABLE question_versions (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    question_id TEXT NOT NULL REFERENCES bank_questions(id),
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX question_versions_no ON question_versions(school_id, question_id, version);

-- Images of questions, in the file store; the question JSON names them by asset_id.
CREATE TABLE question_assets (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    bank_id TEXT NOT NULL REFERENCES question_banks(id),
    asset_id TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX question_assets_id ON question_assets(school_id, bank_id, asset_id);
