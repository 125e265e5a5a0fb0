-- Oversight at province scale (1,000 schools, 300,000 students) and surveys closed early.
--
-- The coverage dashboard counts, per school of a subtree, studying students and active staff
-- joined to their accounts' last activity, parents, announcements, messages, materials, tasks
-- and planned periods, in one grouped query per table (db::oversight::coverage_within). These
-- covering indexes let every count read an index only, never the table rows.
CREATE INDEX students_school_user ON students(school_id, status, user_id);
CREATE INDEX staff_school_user ON staff(school_id, status, user_id);
CREATE INDEX users_activity ON users(id, last_active_at);
CREATE INDEX guardianships_school_user ON guardianships(school_id, user_id);
CREATE INDEX announcements_school_time ON announcements(school_id, created_at);
CREATE INDEX messages_school_time ON messages(school_id, created_at);
CREATE INDEX materials_school_approved ON materials(school_id, approved_version);
CREATE INDEX lessons_school_periods ON lessons(school_id, course_id, form, periods);

-- A survey the issuer closed before (or after) its deadline takes no more answers until it is
-- reopened: closed_at is set while it is closed.
ALTER TABLE surveys ADD COLUMN closed_at BIGINT;
ALTER TABLE surveys ADD COLUMN closed_by TEXT REFERENCES users(id);
