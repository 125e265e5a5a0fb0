-- Learning: courses (class × subject × year), the lesson plan with the teaching forms of
-- Circular 09, the school library of materials with its review (Art. 10), homework and
-- submissions, questions and answers, course announcements, progress, and the gradebook.

-- The province's target for the share of periods taught online, in tenths of a percent.
ALTER TABLE org_units ADD COLUMN online_target_permille BIGINT NOT NULL DEFAULT 100;

CREATE TABLE courses (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    year_id TEXT NOT NULL REFERENCES school_years(id),
    class_id TEXT NOT NULL REFERENCES classes(id),
    subject_id TEXT NOT NULL REFERENCES subjects(id),
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX courses_slot ON courses(school_id, class_id, subject_id);

CREATE TABLE topics (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    course_id TEXT NOT NULL REFERENCES courses(id),
    title TEXT NOT NULL,
    position BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX topics_course ON topics(school_id, course_id, position);

CREATE TABLE lessons (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    course_id TEXT NOT NULL REFERENCES courses(id),
    topic_id TEXT REFERENCES topics(id),
    title TEXT NOT NULL,
    position BIGINT NOT NULL,
    form TEXT NOT NULL,
    lesson_date TEXT,
    periods BIGINT NOT NULL DEFAULT 1,
    body TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX lessons_course ON lessons(school_id, course_id, position);

-- The school library. The row holds the version being edited; material_versions holds every
-- version as written, and approved_version is the one students see.
CREATE TABLE materials (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    owner_id TEXT NOT NULL REFERENCES users(id),
    subject_name TEXT NOT NULL DEFAULT '',
    grade BIGINT,
    title TEXT NOT NULL,
    title_folded TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    url TEXT,
    file_key TEXT,
    file_name TEXT,
    content_type TEXT,
    size BIGINT,
    licence TEXT NOT NULL DEFAULT '',
    attribution TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    approved_version BIGINT,
    video_status TEXT,
    video_progress BIGINT NOT NULL DEFAULT 0,
    video_error TEXT,
    duration_s BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX materials_school ON materials(school_id, status);
CREATE INDEX materials_owner ON materials(owner_id);

CREATE TABLE material_versions (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    material_id TEXT NOT NULL REFERENCES materials(id),
    version BIGINT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    url TEXT,
    file_key TEXT,
    file_name TEXT,
    content_type TEXT,
    size BIGINT,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX material_versions_no ON material_versions(school_id, material_id, version);

CREATE TABLE material_reviews (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    material_id TEXT NOT NULL REFERENCES materials(id),
    version BIGINT NOT NULL,
    actor_id TEXT NOT NULL REFERENCES users(id),
    step TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    at BIGINT NOT NULL
);
CREATE INDEX material_reviews_material ON material_reviews(school_id, material_id, at);

CREATE TABLE lesson_materials (
    school_id TEXT NOT NULL REFERENCES schools(id),
    lesson_id TEXT NOT NULL REFERENCES lessons(id),
    material_id TEXT NOT NULL REFERENCES materials(id),
    position BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (school_id, lesson_id, material_id)
);
CREATE INDEX lesson_materials_material ON lesson_materials(school_id, material_id);

-- What each student opened and watched, per course (a material may serve several courses).
CREATE TABLE material_progress (
    school_id TEXT NOT NULL REFERENCES schools(id),
    course_id TEXT NOT NULL REFERENCES courses(id),
    material_id TEXT NOT NULL REFERENCES materials(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    opened_at BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    position_s BIGINT NOT NULL DEFAULT 0,
    watched_s BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (school_id, course_id, material_id, user_id)
);

-- Homework and self-study tasks.
CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    course_id TEXT NOT NULL REFERENCES courses(id),
    lesson_id TEXT REFERENCES lessons(id),
    title TEXT NOT NULL,
    instructions TEXT NOT NULL DEFAULT '',
    opens_at BIGINT NOT NULL,
    due_at BIGINT,
    late_policy TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX tasks_course ON tasks(school_id, course_id, due_at);

CREATE TABLE submissions (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    task_id TEXT NOT NULL REFERENCES tasks(id),
    student_id TEXT NOT NULL REFERENCES students(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    body TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    late BIGINT NOT NULL DEFAULT 0,
    times BIGINT NOT NULL DEFAULT 1,
    idempotency_key TEXT NOT NULL,
    score BIGINT,
    feedback TEXT NOT NULL DEFAULT '',
    graded_by TEXT REFERENCES users(id),
    graded_at BIGINT,
    submitted_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX submissions_student ON submissions(school_id, task_id, student_id);

-- Files attached to a task (by the teacher) or a submission (by the student), and lesson files.
CREATE TABLE learning_files (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    owner_kind TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX learning_files_owner ON learning_files(school_id, owner_kind, owner_id);

-- Questions and discussion per course, optionally about a lesson.
CREATE TABLE course_questions (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    course_id TEXT NOT NULL REFERENCES courses(id),
    lesson_id TEXT REFERENCES lessons(id),
    author_id TEXT NOT NULL REFERENCES users(id),
    body TEXT NOT NULL,
    private BIGINT NOT NULL DEFAULT 0,
    answered BIGINT NOT NULL DEFAULT 0,
    hidden BIGINT NOT NULL DEFAULT 0,
    idempotency_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX course_questions_key ON course_questions(school_id, author_id, idempotency_key);
CREATE INDEX course_questions_course ON course_questions(school_id, course_id, last_at);

CREATE TABLE question_replies (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    question_id TEXT NOT NULL REFERENCES course_questions(id),
    author_id TEXT NOT NULL REFERENCES users(id),
    body TEXT NOT NULL,
    hidden BIGINT NOT NULL DEFAULT 0,
    idempotency_key TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX question_replies_key ON question_replies(school_id, author_id, idempotency_key);
CREATE INDEX question_replies_question ON question_replies(question_id, created_at);

-- Announcements to students: of a course, of a class (course_id NULL) or of the whole school
-- (both NULL).
CREATE TABLE course_posts (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    course_id TEXT REFERENCES courses(id),
    class_id TEXT REFERENCES classes(id),
    author_id TEXT NOT NULL REFERENCES users(id),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX course_posts_course ON course_posts(school_id, course_id, created_at);

-- The gradebook: one cell per student, term, kind (tx, gk, ck) and slot.
CREATE TABLE grade_entries (
    school_id TEXT NOT NULL REFERENCES schools(id),
    course_id TEXT NOT NULL REFERENCES courses(id),
    student_id TEXT NOT NULL REFERENCES students(id),
    term BIGINT NOT NULL,
    kind TEXT NOT NULL,
    slot BIGINT NOT NULL,
    value TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT 'manual',
    updated_by TEXT REFERENCES users(id),
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (school_id, course_id, student_id, term, kind, slot)
);

CREATE TABLE grade_changes (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    course_id TEXT NOT NULL REFERENCES courses(id),
    student_id TEXT NOT NULL REFERENCES students(id),
    term BIGINT NOT NULL,
    kind TEXT NOT NULL,
    slot BIGINT NOT NULL,
    old_value TEXT,
    new_value TEXT,
    source TEXT NOT NULL,
    actor_id TEXT REFERENCES users(id),
    at BIGINT NOT NULL
);
CREATE INDEX grade_changes_course ON grade_changes(school_id, course_id, at);

CREATE TABLE term_locks (
    school_id TEXT NOT NULL REFERENCES schools(id),
    year_id TEXT NOT NULL REFERENCES school_years(id),
    term BIGINT NOT NULL,
    locked_by TEXT NOT NULL REFERENCES users(id),
    locked_at BIGINT NOT NULL,
    PRIMARY KEY (school_id, year_id, term)
);
