-- Teachers' comments on a student, which the student and their parents read.
CREATE TABLE student_comments (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    student_id TEXT NOT NULL REFERENCES students(id),
    author_id TEXT NOT NULL REFERENCES users(id),
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX student_comments_student ON student_comments(school_id, student_id, created_at);
