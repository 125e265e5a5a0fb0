-- lophoc schema, part 1: the management tree, schools, accounts, the school year and the roster.
-- Written once for SQLite and PostgreSQL: ids are UUIDv7 text made by the app, times are unix
-- milliseconds (BIGINT), dates are ISO text (yyyy-mm-dd), booleans are 0/1 BIGINT.
-- Every school-owned table carries school_id and every unique index includes it.

CREATE TABLE org_units (
    id TEXT PRIMARY KEY,
    parent_id TEXT REFERENCES org_units(id),
    kind TEXT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE schools (
    id TEXT PRIMARY KEY,
    unit_id TEXT NOT NULL REFERENCES org_units(id),
    unit_path TEXT NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    level TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX schools_unit_path ON schools(unit_path);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    email TEXT UNIQUE,
    phone TEXT UNIQUE,
    full_name TEXT NOT NULL,
    password_hash TEXT,
    must_change_password BIGINT NOT NULL DEFAULT 1,
    status TEXT NOT NULL DEFAULT 'active',
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE role_grants (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    role TEXT NOT NULL,
    unit_id TEXT REFERENCES org_units(id),
    school_id TEXT REFERENCES schools(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX role_grants_user ON role_grants(user_id);
CREATE UNIQUE INDEX role_grants_unique ON role_grants(user_id, role, unit_id, school_id);

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE school_years (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    name TEXT NOT NULL,
    start_date TEXT NOT NULL,
    term1_end TEXT NOT NULL,
    term2_start TEXT NOT NULL,
    end_date TEXT NOT NULL,
    is_current BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX school_years_name ON school_years(school_id, name);

CREATE TABLE calendar_entries (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    year_id TEXT NOT NULL REFERENCES school_years(id),
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    title TEXT NOT NULL,
    day_off BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX calendar_entries_year ON calendar_entries(school_id, year_id);

CREATE TABLE staff (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    full_name TEXT NOT NULL,
    position TEXT NOT NULL,
    subject_group TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'active',
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX staff_user ON staff(school_id, user_id);

CREATE TABLE subjects (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    grade BIGINT NOT NULL,
    periods_per_year BIGINT NOT NULL,
    elective BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX subjects_code ON subjects(school_id, grade, code);

CREATE TABLE classes (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    year_id TEXT NOT NULL REFERENCES school_years(id),
    name TEXT NOT NULL,
    grade BIGINT NOT NULL,
    homeroom_staff_id TEXT REFERENCES staff(id),
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX classes_name ON classes(school_id, year_id, name);

CREATE TABLE teaching_assignments (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    class_id TEXT NOT NULL REFERENCES classes(id),
    subject_id TEXT NOT NULL REFERENCES subjects(id),
    staff_id TEXT NOT NULL REFERENCES staff(id),
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX teaching_assignments_slot ON teaching_assignments(school_id, class_id, subject_id);
CREATE INDEX teaching_assignments_staff ON teaching_assignments(staff_id);

CREATE TABLE students (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    user_id TEXT REFERENCES users(id),
    code TEXT NOT NULL,
    personal_id TEXT,
    full_name TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    gender TEXT NOT NULL,
    ethnicity TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX students_code ON students(school_id, code);
CREATE INDEX students_user ON students(user_id);

CREATE TABLE enrollments (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    student_id TEXT NOT NULL REFERENCES students(id),
    year_id TEXT NOT NULL REFERENCES school_years(id),
    class_id TEXT NOT NULL REFERENCES classes(id),
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX enrollments_year ON enrollments(school_id, student_id, year_id);
CREATE INDEX enrollments_class ON enrollments(class_id);

CREATE TABLE guardianships (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    student_id TEXT NOT NULL REFERENCES students(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    relation TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX guardianships_pair ON guardianships(school_id, student_id, user_id);
CREATE INDEX guardianships_user ON guardianships(user_id);

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    school_id TEXT,
    actor_id TEXT,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT,
    detail TEXT NOT NULL DEFAULT '',
    at BIGINT NOT NULL
);
CREATE INDEX audit_log_school ON audit_log(school_id, at);
