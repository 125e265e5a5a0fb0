-- Oversight, Decision 4725 and Circular 09: the versioned criteria catalogue (seeded by the
-- application from crates/db/data/d4725_catalogue.json, edited by a system admin, every edit a
-- new version), the province's deadlines, each school's yearly self-assessment with values,
-- evidence and the reviewer's comments per criterion, and the manual evidence of the Circular 09
-- checklist. Points are stored in tenths (BIGINT) so sums are exact on both backends.

CREATE TABLE sa_catalogues (
    id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    -- JSON [domain::d4725::Band], lowest first.
    bands TEXT NOT NULL,
    -- The highest level of a group while one of its mandatory conditions is missing.
    mandatory_cap BIGINT NOT NULL DEFAULT 1,
    -- What the edit changed (empty for the seed).
    change_note TEXT NOT NULL DEFAULT '',
    created_by TEXT REFERENCES users(id),
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX sa_catalogues_version ON sa_catalogues(version);

CREATE TABLE sa_criteria (
    id TEXT PRIMARY KEY,
    catalogue_id TEXT NOT NULL REFERENCES sa_catalogues(id),
    position BIGINT NOT NULL,
    code TEXT NOT NULL,
    group_no BIGINT NOT NULL,
    title TEXT NOT NULL,
    hint TEXT NOT NULL DEFAULT '',
    max_points BIGINT NOT NULL DEFAULT 0,
    mandatory BIGINT NOT NULL DEFAULT 0,
    -- A key of domain::d4725::MEASURES, or NULL for an entered criterion.
    measure TEXT,
    -- JSON domain::d4725::Scoring.
    scoring TEXT NOT NULL,
    -- V verified, P partial, R recalled.
    confidence TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX sa_criteria_code ON sa_criteria(catalogue_id, code);

-- Deadlines set by a province for the schools below it ('MM-DD' of the year the school year
-- ends); without a row, 31 May and 20 June.
CREATE TABLE sa_deadlines (
    unit_id TEXT PRIMARY KEY REFERENCES org_units(id),
    submit_by TEXT NOT NULL,
    publish_by TEXT NOT NULL,
    updated_by TEXT REFERENCES users(id),
    updated_at BIGINT NOT NULL
);

CREATE TABLE self_assessments (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    -- The school year starting in this year (2026 = 2026-2027, submitted by 31/05/2027).
    start_year BIGINT NOT NULL,
    -- The catalogue version the assessment was made with; it keeps it.
    catalogue_id TEXT NOT NULL REFERENCES sa_catalogues(id),
    -- 'draft', 'submitted', 'returned', 'approved', 'published'.
    status TEXT NOT NULL DEFAULT 'draft',
    -- How many times the managing unit returned it.
    round BIGINT NOT NULL DEFAULT 0,
    -- Frozen at submission: totals in tenths, levels 1-3.
    total1 BIGINT,
    total2 BIGINT,
    level1 BIGINT,
    level2 BIGINT,
    level BIGINT,
    submitted_at BIGINT,
    submitted_by TEXT REFERENCES users(id),
    reviewed_at BIGINT,
    reviewed_by TEXT REFERENCES users(id),
    review_note TEXT NOT NULL DEFAULT '',
    published_at BIGINT,
    published_by TEXT REFERENCES users(id),
    created_by TEXT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX self_assessments_year ON self_assessments(school_id, start_year);
CREATE INDEX self_assessments_start ON self_assessments(start_year, status);

CREATE TABLE sa_items (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    assessment_id TEXT NOT NULL REFERENCES self_assessments(id),
    code TEXT NOT NULL,
    -- What the school typed (0/1, a percentage, a count, or points in tenths).
    entered BIGINT,
    -- The platform figure, frozen at submission (live while the school edits).
    measured BIGINT,
    note TEXT NOT NULL DEFAULT '',
    evidence_url TEXT,
    file_key TEXT,
    file_name TEXT,
    content_type TEXT,
    file_size BIGINT,
    updated_by TEXT REFERENCES users(id),
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX sa_items_code ON sa_items(school_id, assessment_id, code);

-- The managing unit's comment on one criterion when it returns an assessment.
CREATE TABLE sa_comments (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    assessment_id TEXT NOT NULL REFERENCES self_assessments(id),
    code TEXT NOT NULL,
    round BIGINT NOT NULL,
    body TEXT NOT NULL,
    author_id TEXT REFERENCES users(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX sa_comments_assessment ON sa_comments(school_id, assessment_id, round);

-- Manual evidence of a Circular 09 checklist item the platform cannot compute.
CREATE TABLE tt09_evidence (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    start_year BIGINT NOT NULL,
    item TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    evidence_url TEXT,
    file_key TEXT,
    file_name TEXT,
    content_type TEXT,
    file_size BIGINT,
    updated_by TEXT REFERENCES users(id),
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX tt09_evidence_item ON tt09_evidence(school_id, start_year, item);
