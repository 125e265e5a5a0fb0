-- The coverage figures of every school, as last computed (db::oversight::refresh_coverage_snapshot).
--
-- Counting a province (1,000 schools, 300,000 students, as many parents) joins every student
-- and parent to the activity of their account: about a second of queries, too slow for a
-- dashboard opened again and again. The figures are computed off the request path every few
-- minutes and stored here; a dashboard of more than a few dozen schools reads these rows and
-- says when they were computed (web::pages::oversight, FRESH_FOR / REFRESH_EVERY). Smaller
-- subtrees and a school's own page are still counted live.
CREATE TABLE coverage_snapshot (
    school_id TEXT PRIMARY KEY REFERENCES schools(id),
    deployed BIGINT NOT NULL,
    staff BIGINT NOT NULL,
    staff_active_7 BIGINT NOT NULL,
    staff_active_30 BIGINT NOT NULL,
    students BIGINT NOT NULL,
    students_active_7 BIGINT NOT NULL,
    students_active_30 BIGINT NOT NULL,
    parents BIGINT NOT NULL,
    parents_connected BIGINT NOT NULL,
    announcements_30 BIGINT NOT NULL,
    messages_30 BIGINT NOT NULL,
    materials BIGINT NOT NULL,
    materials_approved BIGINT NOT NULL,
    tasks BIGINT NOT NULL,
    periods_planned BIGINT NOT NULL,
    periods_online BIGINT NOT NULL,
    computed_at BIGINT NOT NULL
);

-- The data exchange reads a whole subtree's current-year enrollments and classes at once.
CREATE INDEX enrollments_school_year ON enrollments(school_id, year_id, class_id, student_id);
CREATE INDEX courses_school_year ON courses(school_id, year_id);
