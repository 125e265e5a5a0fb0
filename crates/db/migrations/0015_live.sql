-- Live classes: scheduled sessions of a course, every visit to the room (attendance), the
-- teacher's corrections, finished recordings, closed polls, and the registry of media nodes.
-- Times are unix milliseconds (BIGINT), ids UUIDv7 text.

CREATE TABLE live_sessions (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    course_id TEXT NOT NULL REFERENCES courses(id),
    -- The lesson of the plan taught in it, if any.
    lesson_id TEXT REFERENCES lessons(id),
    -- Sessions made together by one weekly schedule share a series id.
    series_id TEXT,
    title TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    -- 'scheduled' (the room opens 15 minutes before the start) or 'ended' (by the teacher).
    status TEXT NOT NULL DEFAULT 'scheduled',
    ended_at BIGINT,
    ended_by TEXT REFERENCES users(id),
    -- The media node hosting the room once someone entered it (a room never spans nodes).
    node_id TEXT,
    -- The whiteboard picture the teacher's browser saved at the end (a PNG in storage).
    whiteboard_key TEXT,
    whiteboard_at BIGINT,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX live_sessions_course ON live_sessions(school_id, course_id, starts_at);
CREATE INDEX live_sessions_start ON live_sessions(starts_at);

-- One row per stay in the room: opened by a join event, closed by the matching leave.
CREATE TABLE live_visits (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    session_id TEXT NOT NULL REFERENCES live_sessions(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    joined_at BIGINT NOT NULL,
    left_at BIGINT
);
CREATE INDEX live_visits_session ON live_visits(school_id, session_id, user_id, joined_at);

-- The teacher's correction of a student's attendance (present, late, absent, excused).
CREATE TABLE live_attendance (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    session_id TEXT NOT NULL REFERENCES live_sessions(id),
    student_id TEXT NOT NULL REFERENCES students(id),
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    corrected_by TEXT NOT NULL REFERENCES users(id),
    corrected_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX live_attendance_student ON live_attendance(school_id, session_id, student_id);

-- A finished recording: the muxed MP4 in storage and the lesson video made from it.
CREATE TABLE live_recordings (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    session_id TEXT NOT NULL REFERENCES live_sessions(id),
    recorded_by TEXT REFERENCES users(id),
    started_at BIGINT NOT NULL,
    ended_at BIGINT NOT NULL,
    -- 'ready' (MP4 stored, material made) or 'failed'.
    status TEXT NOT NULL,
    error TEXT,
    file_key TEXT,
    size BIGINT,
    material_id TEXT REFERENCES materials(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX live_recordings_session ON live_recordings(school_id, session_id);

-- A poll the teacher closed in the room: question and results (JSON [[option, votes], …]).
CREATE TABLE live_polls (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    session_id TEXT NOT NULL REFERENCES live_sessions(id),
    question TEXT NOT NULL,
    results TEXT NOT NULL,
    closed_at BIGINT NOT NULL
);
CREATE INDEX live_polls_session ON live_polls(school_id, session_id);

-- Media nodes (`lophoc serve --role media` or an all-in-one server) and their load; not owned
-- by a school.
CREATE TABLE live_nodes (
    id TEXT PRIMARY KEY,
    ws_base TEXT NOT NULL,
    load BIGINT NOT NULL DEFAULT 0,
    heartbeat_at BIGINT NOT NULL
);
