-- School-day attendance (điểm danh hằng ngày): the homeroom teacher takes it once per class and
-- day; every student of the class gets a mark (present by default), so a student's record stays
-- whole when they change class. Days are ISO text (yyyy-mm-dd), times unix milliseconds.

CREATE TABLE attendance_days (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    class_id TEXT NOT NULL REFERENCES classes(id),
    day TEXT NOT NULL,
    taken_by TEXT NOT NULL REFERENCES users(id),
    taken_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL REFERENCES users(id),
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX attendance_days_class ON attendance_days(school_id, class_id, day);
CREATE INDEX attendance_days_school ON attendance_days(school_id, day);

-- One mark per student and day: 'present', 'late', 'excused' (vắng có phép) or 'unexcused'.
CREATE TABLE attendance_marks (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    day_id TEXT NOT NULL REFERENCES attendance_days(id),
    student_id TEXT NOT NULL REFERENCES students(id),
    day TEXT NOT NULL,
    status TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    updated_by TEXT NOT NULL REFERENCES users(id),
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX attendance_marks_student_day ON attendance_marks(school_id, day_id, student_id);
CREATE INDEX attendance_marks_student ON attendance_marks(school_id, student_id, day);
