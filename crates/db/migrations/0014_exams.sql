-- Assessment, part 2: online exams of a course, pre-generated attempts, answers saved one by
-- one with an idempotency key and a per-item sequence number, and the integrity log.
-- Scores are stored in 1/10 000 of a point (BIGINT) so both backends add them exactly.

CREATE TABLE exams (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    course_id TEXT NOT NULL REFERENCES courses(id),
    bank_id TEXT NOT NULL REFERENCES question_banks(id),
    title TEXT NOT NULL,
    -- 'fixed' (chosen questions) or 'matrix' (drawn per student from topic × level × count).
    mode TEXT NOT NULL,
    -- JSON: the chosen bank question ids, or the matrix rows.
    spec TEXT NOT NULL,
    -- JSON exam::model::Exam: the questions as they were when the exam was made (one section);
    -- attempts point into it, key fixes (regrading) change it.
    paper TEXT NOT NULL,
    opens_at BIGINT NOT NULL,
    closes_at BIGINT NOT NULL,
    duration_min BIGINT NOT NULL,
    attempts_allowed BIGINT NOT NULL DEFAULT 1,
    access_code TEXT NOT NULL DEFAULT '',
    -- Comma or newline separated CIDR ranges; empty means anywhere.
    ip_ranges TEXT NOT NULL DEFAULT '',
    shuffle_questions BIGINT NOT NULL DEFAULT 1,
    shuffle_options BIGINT NOT NULL DEFAULT 1,
    one_per_page BIGINT NOT NULL DEFAULT 0,
    -- 'immediately' or 'after_close'.
    score_release TEXT NOT NULL DEFAULT 'immediately',
    -- 'never' or 'after_close'.
    answer_release TEXT NOT NULL DEFAULT 'never',
    -- 'regular' (thường xuyên) or 'periodic' (định kỳ, Circular 09 Art. 6.3).
    kind TEXT NOT NULL DEFAULT 'regular',
    force_majeure TEXT NOT NULL DEFAULT '',
    force_majeure_by TEXT REFERENCES users(id),
    force_majeure_at BIGINT,
    -- 'draft' or 'published'.
    status TEXT NOT NULL DEFAULT 'draft',
    seed BIGINT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    published_at BIGINT
);
CREATE INDEX exams_course ON exams(school_id, course_id);

CREATE TABLE exam_attempts (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    exam_id TEXT NOT NULL REFERENCES exams(id),
    student_id TEXT NOT NULL REFERENCES students(id),
    user_id TEXT REFERENCES users(id),
    attempt_no BIGINT NOT NULL,
    -- JSON: the student's paper, items in displayed order (exam::shuffle::VariantItem, with
    -- `original` an index into exams.paper).
    variant TEXT NOT NULL,
    -- 'ready' (pre-generated), 'started', 'submitted'. A started attempt past deadline_at
    -- counts as submitted whenever it is read; the sweep writes it down.
    status TEXT NOT NULL DEFAULT 'ready',
    duration_ms BIGINT NOT NULL,
    closes_at BIGINT NOT NULL,
    extra_ms BIGINT NOT NULL DEFAULT 0,
    started_at BIGINT,
    deadline_at BIGINT,
    submitted_at BIGINT,
    session_hash TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT '',
    -- Marks: total earned (auto + manual), paper maximum, per displayed item (JSON), essay
    -- marks per criterion (JSON), essays still to mark.
    score_e4 BIGINT,
    max_e4 BIGINT,
    per_item TEXT NOT NULL DEFAULT '[]',
    manual TEXT NOT NULL DEFAULT '{}',
    manual_pending BIGINT NOT NULL DEFAULT 0,
    graded_at BIGINT
);
CREATE UNIQUE INDEX exam_attempts_no ON exam_attempts(school_id, exam_id, student_id, attempt_no);
CREATE INDEX exam_attempts_user ON exam_attempts(school_id, exam_id, user_id);
CREATE INDEX exam_attempts_due ON exam_attempts(status, deadline_at);

-- The latest answer per displayed item; a save only replaces it with a higher seq.
CREATE TABLE exam_answers (
    attempt_id TEXT NOT NULL REFERENCES exam_attempts(id),
    item BIGINT NOT NULL,
    school_id TEXT NOT NULL REFERENCES schools(id),
    -- JSON exam::scoring::Response, in displayed option order.
    response TEXT NOT NULL,
    seq BIGINT NOT NULL,
    idem_key TEXT NOT NULL,
    saved_at BIGINT NOT NULL,
    PRIMARY KEY (attempt_id, item)
);

CREATE TABLE exam_events (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    exam_id TEXT NOT NULL REFERENCES exams(id),
    attempt_id TEXT NOT NULL REFERENCES exam_attempts(id),
    -- 'hidden', 'fullscreen_exit', 'paste', 'blur', 'ip_change', 'second_session'.
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT '',
    at BIGINT NOT NULL
);
CREATE INDEX exam_events_attempt ON exam_events(school_id, exam_id, attempt_id);
