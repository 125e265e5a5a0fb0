//! Learning: courses made from teaching assignments, the lesson plan, the school library with
//! its review, homework with submissions and grading, questions and answers, course posts and
//! each student's progress. Every query is filtered by `school_id`.

use crate::audit::{AuditEntry, write as audit};
use crate::family::notify_all;
use crate::{
    Db, DbError, DbResult, get_bool, get_i64, get_id, get_opt_id, get_opt_str, get_str, iso,
    now_ms, parse_id,
};
use domain::learning::{LatePolicy, LessonForm, MaterialKind, MaterialStatus, ReviewStep};
use domain::{Id, new_id};
use sqlx::Row;
use sqlx::any::AnyRow;
use time::Date;

fn opt_i64(row: &AnyRow, col: &str) -> DbResult<Option<i64>> {
    Ok(row.try_get::<Option<i64>, _>(col)?)
}

fn code<T>(row: &AnyRow, col: &str, from: fn(&str) -> Option<T>) -> DbResult<T> {
    let s = get_str(row, col)?;
    from(&s).ok_or_else(|| DbError::Corrupt(format!("{col}: {s}")))
}

fn opt_date(row: &AnyRow, col: &str) -> DbResult<Option<Date>> {
    get_opt_str(row, col)?
        .map(|s| {
            Date::parse(&s, &time::format_description::well_known::Iso8601::DATE)
                .map_err(|_| DbError::Corrupt(format!("{col}: {s}")))
        })
        .transpose()
}

// ----- courses -----

/// A course: one class learning one subject in one school year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Course {
    /// Id.
    pub id: Id,
    /// School.
    pub school_id: Id,
    /// School year.
    pub year_id: Id,
    /// Class.
    pub class_id: Id,
    /// Subject.
    pub subject_id: Id,
    /// Class name ("6A1").
    pub class_name: String,
    /// Grade of the class.
    pub grade: i64,
    /// Subject name.
    pub subject_name: String,
    /// Subject code (TOAN, …).
    pub subject_code: String,
    /// Periods a year of the subject.
    pub periods_per_year: i64,
    /// The teacher's account (from the teaching assignment), if the slot is assigned.
    pub teacher_user_id: Option<Id>,
    /// The teacher's name.
    pub teacher_name: String,
    /// The homeroom teacher's account.
    pub homeroom_user_id: Option<Id>,
}

const COURSE_SELECT: &str = "SELECT co.id, co.school_id, co.year_id, co.class_id, co.subject_id, \
     cl.name AS class_name, cl.grade, su.name AS subject_name, su.code AS subject_code, \
     su.periods_per_year, st.user_id AS teacher_user_id, COALESCE(st.full_name, '') AS teacher_name, \
     hr.user_id AS homeroom_user_id \
     FROM courses co JOIN classes cl ON cl.id = co.class_id JOIN subjects su ON su.id = co.subject_id \
     LEFT JOIN teaching_assignments ta ON ta.school_id = co.school_id AND ta.class_id = co.class_id AND ta.subject_id = co.subject_id \
     LEFT JOIN staff st ON st.id = ta.staff_id \
     LEFT JOIN staff hr ON hr.id = cl.homeroom_staff_id";

fn course_row(row: &AnyRow) -> DbResult<Course> {
    Ok(Course {
        id: get_id(row, "id")?,
        school_id: get_id(row, "school_id")?,
        year_id: get_id(row, "year_id")?,
        class_id: get_id(row, "class_id")?,
        subject_id: get_id(row, "subject_id")?,
        class_name: get_str(row, "class_name")?,
        grade: get_i64(row, "grade")?,
        subject_name: get_str(row, "subject_name")?,
        subject_code: get_str(row, "subject_code")?,
        periods_per_year: get_i64(row, "periods_per_year")?,
        teacher_user_id: get_opt_id(row, "teacher_user_id")?,
        teacher_name: get_str(row, "teacher_name")?,
        homeroom_user_id: get_opt_id(row, "homeroom_user_id")?,
    })
}

/// A student of a course's class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseStudent {
    /// Student record.
    pub student_id: Id,
    /// Their account.
    pub user_id: Option<Id>,
    /// Code.
    pub code: String,
    /// Name.
    pub full_name: String,
}

// ----- lessons -----

/// A topic (chủ đề/chương) of a course.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    /// Id.
    pub id: Id,
    /// Title.
    pub title: String,
    /// Order.
    pub position: i64,
}

/// A lesson of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lesson {
    /// Id.
    pub id: Id,
    /// School.
    pub school_id: Id,
    /// Course.
    pub course_id: Id,
    /// Topic.
    pub topic_id: Option<Id>,
    /// Title.
    pub title: String,
    /// Order within the course.
    pub position: i64,
    /// Teaching form.
    pub form: LessonForm,
    /// Date taught.
    pub date: Option<Date>,
    /// Periods it takes.
    pub periods: i64,
    /// Notes for students (Markdown source).
    pub body: String,
}

/// A lesson to create or update.
#[derive(Debug, Clone)]
pub struct LessonInput {
    /// Topic.
    pub topic_id: Option<Id>,
    /// Title.
    pub title: String,
    /// Teaching form.
    pub form: LessonForm,
    /// Date.
    pub date: Option<Date>,
    /// Periods (1–10).
    pub periods: i64,
    /// Notes (Markdown).
    pub body: String,
}

fn lesson_row(row: &AnyRow) -> DbResult<Lesson> {
    Ok(Lesson {
        id: get_id(row, "id")?,
        school_id: get_id(row, "school_id")?,
        course_id: get_id(row, "course_id")?,
        topic_id: get_opt_id(row, "topic_id")?,
        title: get_str(row, "title")?,
        position: get_i64(row, "position")?,
        form: code(row, "form", LessonForm::from_code)?,
        date: opt_date(row, "lesson_date")?,
        periods: get_i64(row, "periods")?,
        body: get_str(row, "body")?,
    })
}

/// Periods of a course by teaching form.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeriodCounts {
    /// Periods planned in lessons.
    pub planned: i64,
    /// Of which taught online replacing face-to-face teaching.
    pub online: i64,
    /// Of which online supporting.
    pub support: i64,
}

/// The online share of one course, for the school's report.
#[derive(Debug, Clone)]
pub struct CourseShare {
    /// Course.
    pub course_id: Id,
    /// Class.
    pub class_name: String,
    /// Subject.
    pub subject_name: String,
    /// Periods a year of the subject (the denominator when the plan is incomplete).
    pub periods_per_year: i64,
    /// Periods in the plan.
    pub counts: PeriodCounts,
}

// ----- materials -----

/// A learning material of the school library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Material {
    /// Id.
    pub id: Id,
    /// School.
    pub school_id: Id,
    /// Author.
    pub owner_id: Id,
    /// Author's name.
    pub owner_name: String,
    /// Subject (free text, for the library's filters).
    pub subject_name: String,
    /// Grade.
    pub grade: Option<i64>,
    /// Title.
    pub title: String,
    /// Kind.
    pub kind: MaterialKind,
    /// Text (Markdown source).
    pub body: String,
    /// Link.
    pub url: Option<String>,
    /// Stored file.
    pub file_key: Option<String>,
    /// Original file name.
    pub file_name: Option<String>,
    /// Content type of the file.
    pub content_type: Option<String>,
    /// Size in bytes.
    pub size: Option<i64>,
    /// Licence.
    pub licence: String,
    /// Attribution (source, authors).
    pub attribution: String,
    /// Review status of the current version.
    pub status: MaterialStatus,
    /// Current version number.
    pub version: i64,
    /// The version students see.
    pub approved_version: Option<i64>,
    /// Video processing: queued, processing, ready, failed, original.
    pub video_status: Option<String>,
    /// Transcoding progress, percent.
    pub video_progress: i64,
    /// Why transcoding failed or was skipped.
    pub video_error: Option<String>,
    /// Video length.
    pub duration_s: Option<i64>,
    /// Last change.
    pub updated_at: i64,
}

const MATERIAL_SELECT: &str = "SELECT m.id, m.school_id, m.owner_id, u.full_name AS owner_name, \
     m.subject_name, m.grade, m.title, m.kind, m.body, m.url, m.file_key, m.file_name, m.content_type, \
     m.size, m.licence, m.attribution, m.status, m.version, m.approved_version, m.video_status, \
     m.video_progress, m.video_error, m.duration_s, m.updated_at \
     FROM materials m JOIN users u ON u.id = m.owner_id";

fn material_row(row: &AnyRow) -> DbResult<Material> {
    Ok(Material {
        id: get_id(row, "id")?,
        school_id: get_id(row, "school_id")?,
        owner_id: get_id(row, "owner_id")?,
        owner_name: get_str(row, "owner_name")?,
        subject_name: get_str(row, "subject_name")?,
        grade: opt_i64(row, "grade")?,
        title: get_str(row, "title")?,
        kind: code(row, "kind", MaterialKind::from_code)?,
        body: get_str(row, "body")?,
        url: get_opt_str(row, "url")?,
        file_key: get_opt_str(row, "file_key")?,
        file_name: get_opt_str(row, "file_name")?,
        content_type: get_opt_str(row, "content_type")?,
        size: opt_i64(row, "size")?,
        licence: get_str(row, "licence")?,
        attribution: get_str(row, "attribution")?,
        status: code(row, "status", MaterialStatus::from_code)?,
        version: get_i64(row, "version")?,
        approved_version: opt_i64(row, "approved_version")?,
        video_status: get_opt_str(row, "video_status")?,
        video_progress: get_i64(row, "video_progress")?,
        video_error: get_opt_str(row, "video_error")?,
        duration_s: opt_i64(row, "duration_s")?,
        updated_at: get_i64(row, "updated_at")?,
    })
}

/// The content of a material to create or to save as its new version.
#[derive(Debug, Clone, Default)]
pub struct MaterialInput {
    /// Subject.
    pub subject_name: String,
    /// Grade.
    pub grade: Option<i64>,
    /// Title.
    pub title: String,
    /// Text (Markdown).
    pub body: String,
    /// Link.
    pub url: Option<String>,
    /// A newly stored file: (key, name, content type, size).
    pub file: Option<(String, String, String, i64)>,
    /// Licence.
    pub licence: String,
    /// Attribution.
    pub attribution: String,
}

/// One version of a material as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaterialVersion {
    /// Number.
    pub version: i64,
    /// Title.
    pub title: String,
    /// Text.
    pub body: String,
    /// Link.
    pub url: Option<String>,
    /// File.
    pub file_key: Option<String>,
    /// File name.
    pub file_name: Option<String>,
    /// Content type.
    pub content_type: Option<String>,
    /// Size.
    pub size: Option<i64>,
    /// When.
    pub created_at: i64,
}

/// A step of a material's review, as the history shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewEntry {
    /// Version reviewed.
    pub version: i64,
    /// Who.
    pub actor_name: String,
    /// What.
    pub step: ReviewStep,
    /// Comment.
    pub comment: String,
    /// When.
    pub at: i64,
}

/// Filters of the library.
#[derive(Debug, Clone, Default)]
pub struct LibraryFilter {
    /// Only this author's.
    pub owner: Option<Id>,
    /// Only this status.
    pub status: Option<MaterialStatus>,
    /// Accent-insensitive words of the title.
    pub query: Option<String>,
}

/// Digitised and approved materials of a teacher, for the oversight reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaterialCounts {
    /// Author.
    pub owner_id: Id,
    /// Author's name.
    pub owner_name: String,
    /// Materials in the library.
    pub total: i64,
    /// Of which approved.
    pub approved: i64,
    /// Of which videos.
    pub videos: i64,
}

/// A material placed in a lesson, in the version the reader may see.
#[derive(Debug, Clone)]
pub struct LessonMaterial {
    /// The material (current version's metadata).
    pub material: Material,
    /// The content to show: the approved version for students, the current one for staff.
    pub shown: Option<MaterialVersion>,
    /// The reader's progress, if a student.
    pub opened: bool,
    /// Seconds watched.
    pub watched_s: i64,
    /// Where to resume.
    pub position_s: i64,
}

// ----- tasks -----

/// A homework or self-study task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Id.
    pub id: Id,
    /// School.
    pub school_id: Id,
    /// Course.
    pub course_id: Id,
    /// Lesson.
    pub lesson_id: Option<Id>,
    /// Title.
    pub title: String,
    /// Instructions (Markdown).
    pub instructions: String,
    /// Opens (unix ms).
    pub opens_at: i64,
    /// Due (unix ms).
    pub due_at: Option<i64>,
    /// Late policy.
    pub late_policy: LatePolicy,
    /// Created.
    pub created_at: i64,
}

/// A task to create.
#[derive(Debug, Clone)]
pub struct TaskInput {
    /// Lesson.
    pub lesson_id: Option<Id>,
    /// Title.
    pub title: String,
    /// Instructions.
    pub instructions: String,
    /// Opens.
    pub opens_at: i64,
    /// Due.
    pub due_at: Option<i64>,
    /// Late policy.
    pub late_policy: LatePolicy,
}

fn task_row(row: &AnyRow) -> DbResult<Task> {
    Ok(Task {
        id: get_id(row, "id")?,
        school_id: get_id(row, "school_id")?,
        course_id: get_id(row, "course_id")?,
        lesson_id: get_opt_id(row, "lesson_id")?,
        title: get_str(row, "title")?,
        instructions: get_str(row, "instructions")?,
        opens_at: get_i64(row, "opens_at")?,
        due_at: opt_i64(row, "due_at")?,
        late_policy: code(row, "late_policy", LatePolicy::from_code)?,
        created_at: get_i64(row, "created_at")?,
    })
}

/// A task with the reader's or the class's figures, for lists.
#[derive(Debug, Clone)]
pub struct TaskSummary {
    /// The task.
    pub task: Task,
    /// Submissions so far.
    pub submitted: i64,
    /// Of which graded.
    pub graded: i64,
    /// Of which late.
    pub late: i64,
    /// The reader's own submission status, for a student.
    pub mine: Option<SubmissionState>,
}

/// Where a student's submission stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionState {
    /// Handed in late.
    pub late: bool,
    /// Score in tenths, once graded.
    pub score: Option<i64>,
}

/// A submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// Id.
    pub id: Id,
    /// Task.
    pub task_id: Id,
    /// Student.
    pub student_id: Id,
    /// Student's name.
    pub student_name: String,
    /// Text.
    pub body: String,
    /// Late.
    pub late: bool,
    /// Times handed in.
    pub times: i64,
    /// Score in tenths.
    pub score: Option<i64>,
    /// Feedback.
    pub feedback: String,
    /// Last hand-in.
    pub submitted_at: i64,
    /// When graded.
    pub graded_at: Option<i64>,
}

fn submission_row(row: &AnyRow) -> DbResult<Submission> {
    Ok(Submission {
        id: get_id(row, "id")?,
        task_id: get_id(row, "task_id")?,
        student_id: get_id(row, "student_id")?,
        student_name: get_str(row, "student_name")?,
        body: get_str(row, "body")?,
        late: get_bool(row, "late")?,
        times: get_i64(row, "times")?,
        score: opt_i64(row, "score")?,
        feedback: get_str(row, "feedback")?,
        submitted_at: get_i64(row, "submitted_at")?,
        graded_at: opt_i64(row, "graded_at")?,
    })
}

const SUBMISSION_SELECT: &str = "SELECT s.id, s.task_id, s.student_id, st.full_name AS student_name, \
     s.body, s.late, s.times, s.score, s.feedback, s.submitted_at, s.graded_at \
     FROM submissions s JOIN students st ON st.id = s.student_id";

/// A stored file attached to a task, a submission or a lesson.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearningFile {
    /// Id.
    pub id: Id,
    /// Storage key.
    pub storage_key: String,
    /// Name as uploaded (sanitized).
    pub file_name: String,
    /// Content type (from the bytes).
    pub content_type: String,
    /// Size.
    pub size: i64,
}

/// A file to attach.
#[derive(Debug, Clone)]
pub struct NewFile {
    /// Storage key.
    pub storage_key: String,
    /// Name.
    pub file_name: String,
    /// Content type.
    pub content_type: String,
    /// Size.
    pub size: i64,
}

// ----- questions -----

/// A question or discussion thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Id.
    pub id: Id,
    /// School.
    pub school_id: Id,
    /// Course.
    pub course_id: Id,
    /// Lesson.
    pub lesson_id: Option<Id>,
    /// Author.
    pub author_id: Id,
    /// Author's name.
    pub author_name: String,
    /// Text.
    pub body: String,
    /// Hidden from classmates.
    pub private: bool,
    /// Marked answered.
    pub answered: bool,
    /// Hidden by moderation.
    pub hidden: bool,
    /// Replies.
    pub replies: i64,
    /// Asked.
    pub created_at: i64,
}

/// A reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Id.
    pub id: Id,
    /// Author.
    pub author_id: Id,
    /// Author's name.
    pub author_name: String,
    /// Text.
    pub body: String,
    /// Hidden by moderation.
    pub hidden: bool,
    /// When.
    pub created_at: i64,
}

/// An unanswered question on a teacher's dashboard.
#[derive(Debug, Clone)]
pub struct PendingQuestion {
    /// The question.
    pub question: Question,
    /// Its course's class and subject.
    pub course_label: String,
}

const QUESTION_SELECT: &str = "SELECT q.id, q.school_id, q.course_id, q.lesson_id, q.author_id, \
     u.full_name AS author_name, q.body, q.private, q.answered, q.hidden, q.created_at, \
     (SELECT COUNT(*) FROM question_replies r WHERE r.question_id = q.id AND r.hidden = 0) AS replies \
     FROM course_questions q JOIN users u ON u.id = q.author_id";

fn question_row(row: &AnyRow) -> DbResult<Question> {
    Ok(Question {
        id: get_id(row, "id")?,
        school_id: get_id(row, "school_id")?,
        course_id: get_id(row, "course_id")?,
        lesson_id: get_opt_id(row, "lesson_id")?,
        author_id: get_id(row, "author_id")?,
        author_name: get_str(row, "author_name")?,
        body: get_str(row, "body")?,
        private: get_bool(row, "private")?,
        answered: get_bool(row, "answered")?,
        hidden: get_bool(row, "hidden")?,
        replies: get_i64(row, "replies")?,
        created_at: get_i64(row, "created_at")?,
    })
}

/// A course post (announcement).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    /// Id.
    pub id: Id,
    /// Author's name.
    pub author_name: String,
    /// Title.
    pub title: String,
    /// Text.
    pub body: String,
    /// When.
    pub created_at: i64,
}

// ----- progress -----

/// One student's progress in a course.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudentProgress {
    /// Student.
    pub student_id: Id,
    /// Code.
    pub code: String,
    /// Name.
    pub full_name: String,
    /// Materials opened (of the course's approved ones).
    pub opened: i64,
    /// Average share watched of the course's videos, percent.
    pub video_percent: i64,
    /// Tasks handed in.
    pub submitted: i64,
    /// Of which graded.
    pub graded: i64,
    /// Of which late.
    pub late: i64,
    /// Tasks past due without a submission.
    pub missing: i64,
    /// Average homework score in tenths.
    pub average: Option<i64>,
    /// Online tests taken and marked (best attempt of each).
    pub tests: i64,
    /// Their average on the 10-point scale, in tenths.
    pub test_average: Option<i64>,
}

/// The course's totals the progress figures are out of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CourseTotals {
    /// Approved materials in lessons.
    pub materials: i64,
    /// Of which videos.
    pub videos: i64,
    /// Tasks.
    pub tasks: i64,
}

/// A task of a student's courses with where their work stands (for the student's and the
/// parents' home pages).
#[derive(Debug, Clone)]
pub struct StudentTask {
    /// Course.
    pub course_id: Id,
    /// Subject.
    pub subject_name: String,
    /// The task.
    pub task: Task,
    /// The student's submission, if any.
    pub state: Option<SubmissionState>,
}

impl Db {
    /// The latest tasks of a student's courses this year, due soonest first among open ones.
    pub async fn student_tasks(&self, student_id: Id, limit: i64) -> DbResult<Vec<StudentTask>> {
        let rows = sqlx::query(
            "SELECT t.*, su.name AS subject_name, s.late AS s_late, s.score AS s_score, s.id AS s_id \
             FROM enrollments e JOIN school_years y ON y.id = e.year_id AND y.is_current = 1 \
             JOIN courses co ON co.school_id = e.school_id AND co.class_id = e.class_id AND co.year_id = e.year_id \
             JOIN tasks t ON t.school_id = co.school_id AND t.course_id = co.id \
             JOIN subjects su ON su.id = co.subject_id \
             LEFT JOIN submissions s ON s.school_id = t.school_id AND s.task_id = t.id AND s.student_id = e.student_id \
             WHERE e.school_id = (SELECT school_id FROM students WHERE id = $1) AND e.student_id = $1 \
             ORDER BY t.created_at DESC LIMIT $2",
        )
        .bind(student_id.to_string())
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let mut out = rows
            .iter()
            .map(|r| {
                let state = match get_opt_str(r, "s_id")? {
                    Some(_) => Some(SubmissionState {
                        late: opt_i64(r, "s_late")?.unwrap_or(0) != 0,
                        score: opt_i64(r, "s_score")?,
                    }),
                    None => None,
                };
                Ok(StudentTask {
                    course_id: get_id(r, "course_id")?,
                    subject_name: get_str(r, "subject_name")?,
                    task: task_row(r)?,
                    state,
                })
            })
            .collect::<DbResult<Vec<_>>>()?;
        // Work still to do first (soonest due first), then what is handed in.
        out.sort_by_key(|t| (t.state.is_some(), t.task.due_at.unwrap_or(i64::MAX)));
        Ok(out)
    }

    /// Puts one notification in many users' inboxes (and queues their delivery) at once.
    pub async fn notify_many(
        &self,
        users: &[Id],
        school_id: Id,
        kind: &str,
        title: &str,
        link: &str,
    ) -> DbResult<()> {
        let mut tx = self.pool().begin().await?;
        notify_all(&mut tx, users, Some(school_id), kind, title, "", link).await?;
        tx.commit().await?;
        Ok(())
    }

    // ----- courses -----

    /// Makes the courses of a school year that its teaching assignments call for and that do
    /// not exist yet (idempotent; courses outlive a change of teacher).
    pub async fn ensure_courses(&self, school_id: Id, year_id: Id) -> DbResult<()> {
        let rows = sqlx::query(
            "SELECT ta.class_id, ta.subject_id FROM teaching_assignments ta \
             JOIN classes cl ON cl.id = ta.class_id \
             WHERE ta.school_id = $1 AND cl.year_id = $2 AND NOT EXISTS ( \
               SELECT 1 FROM courses co WHERE co.school_id = ta.school_id \
               AND co.class_id = ta.class_id AND co.subject_id = ta.subject_id)",
        )
        .bind(school_id.to_string())
        .bind(year_id.to_string())
        .fetch_all(self.pool())
        .await?;
        if rows.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        // Two requests may race to create the same courses: the unique index keeps one.
        for r in &rows {
            sqlx::query(
                "INSERT INTO courses (id, school_id, year_id, class_id, subject_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (school_id, class_id, subject_id) DO NOTHING",
            )
            .bind(new_id().to_string())
            .bind(school_id.to_string())
            .bind(year_id.to_string())
            .bind(get_str(r, "class_id")?)
            .bind(get_str(r, "subject_id")?)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// One course.
    pub async fn course(&self, id: Id) -> DbResult<Course> {
        let row = sqlx::query(&format!("{COURSE_SELECT} WHERE co.id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(DbError::NotFound)?;
        course_row(&row)
    }

    /// The courses a teacher teaches, in their schools' current years.
    pub async fn courses_taught(&self, user_id: Id) -> DbResult<Vec<Course>> {
        let rows = sqlx::query(&format!(
            "{COURSE_SELECT} JOIN school_years y ON y.id = co.year_id AND y.is_current = 1 \
             WHERE st.user_id = $1 ORDER BY cl.grade, cl.name, su.name"
        ))
        .bind(user_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(course_row).collect()
    }

    /// The courses of a class.
    pub async fn class_courses(&self, school_id: Id, class_id: Id) -> DbResult<Vec<Course>> {
        let rows = sqlx::query(&format!(
            "{COURSE_SELECT} WHERE co.school_id = $1 AND co.class_id = $2 ORDER BY su.name"
        ))
        .bind(school_id.to_string())
        .bind(class_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(course_row).collect()
    }

    /// Every course of a school year.
    pub async fn school_courses(&self, school_id: Id, year_id: Id) -> DbResult<Vec<Course>> {
        let rows = sqlx::query(&format!(
            "{COURSE_SELECT} WHERE co.school_id = $1 AND co.year_id = $2 ORDER BY cl.grade, cl.name, su.name"
        ))
        .bind(school_id.to_string())
        .bind(year_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(course_row).collect()
    }

    /// The studying students of a course's class, by name.
    pub async fn course_students(&self, course: &Course) -> DbResult<Vec<CourseStudent>> {
        let rows = sqlx::query(
            "SELECT st.id, st.user_id, st.code, st.full_name, st.name_folded FROM enrollments e \
             JOIN students st ON st.id = e.student_id \
             WHERE e.school_id = $1 AND e.class_id = $2 AND e.year_id = $3 AND st.status = 'studying'",
        )
        .bind(course.school_id.to_string())
        .bind(course.class_id.to_string())
        .bind(course.year_id.to_string())
        .fetch_all(self.pool())
        .await?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok(CourseStudent {
                    student_id: get_id(r, "id")?,
                    user_id: get_opt_id(r, "user_id")?,
                    code: get_str(r, "code")?,
                    full_name: get_str(r, "full_name")?,
                })
            })
            .collect::<DbResult<Vec<_>>>()?;
        out.sort_by_cached_key(|s| domain::text::name_sort_key(&s.full_name));
        Ok(out)
    }

    /// The student record of `user_id` if they study in the course's class this year.
    pub async fn course_student(&self, course: &Course, user_id: Id) -> DbResult<Option<Id>> {
        let row = sqlx::query(
            "SELECT st.id FROM enrollments e JOIN students st ON st.id = e.student_id \
             WHERE e.school_id = $1 AND e.class_id = $2 AND e.year_id = $3 AND st.user_id = $4 \
             AND st.status = 'studying'",
        )
        .bind(course.school_id.to_string())
        .bind(course.class_id.to_string())
        .bind(course.year_id.to_string())
        .bind(user_id.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| get_id(&r, "id")).transpose()
    }

    /// Whether `user_id` is a guardian of a studying student of the course's class; returns the
    /// children concerned.
    pub async fn course_children(&self, course: &Course, user_id: Id) -> DbResult<Vec<Id>> {
        let rows = sqlx::query(
            "SELECT st.id FROM enrollments e JOIN students st ON st.id = e.student_id \
             JOIN guardianships g ON g.student_id = st.id AND g.school_id = e.school_id \
             WHERE e.school_id = $1 AND e.class_id = $2 AND e.year_id = $3 AND g.user_id = $4",
        )
        .bind(course.school_id.to_string())
        .bind(course.class_id.to_string())
        .bind(course.year_id.to_string())
        .bind(user_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| get_id(r, "id")).collect()
    }

    /// The courses a student follows this year.
    pub async fn student_courses(&self, student_id: Id) -> DbResult<Vec<Course>> {
        let rows = sqlx::query(&format!(
            "{COURSE_SELECT} JOIN enrollments e ON e.class_id = co.class_id AND e.year_id = co.year_id \
             JOIN school_years y ON y.id = co.year_id AND y.is_current = 1 \
             WHERE e.student_id = $1 ORDER BY su.name"
        ))
        .bind(student_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(course_row).collect()
    }

    // ----- topics and lessons -----

    /// Adds a topic at the end of a course.
    pub async fn create_topic(&self, course: &Course, title: &str) -> DbResult<Topic> {
        let id = new_id();
        let position = self.next_position("topics", course).await?;
        sqlx::query(
            "INSERT INTO topics (id, school_id, course_id, title, position, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.to_string())
        .bind(course.school_id.to_string())
        .bind(course.id.to_string())
        .bind(title)
        .bind(position)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(Topic {
            id,
            title: title.to_owned(),
            position,
        })
    }

    async fn next_position(&self, table: &str, course: &Course) -> DbResult<i64> {
        // The table name is one of ours, never user input.
        let row = sqlx::query(&format!(
            "SELECT CAST(COALESCE(MAX(position), 0) AS BIGINT) AS p FROM {table} WHERE school_id = $1 AND course_id = $2"
        ))
        .bind(course.school_id.to_string())
        .bind(course.id.to_string())
        .fetch_one(self.pool())
        .await?;
        Ok(get_i64(&row, "p")? + 1)
    }

    /// A course's topics in order.
    pub async fn topics(&self, course: &Course) -> DbResult<Vec<Topic>> {
        let rows = sqlx::query(
            "SELECT id, title, position FROM topics WHERE school_id = $1 AND course_id = $2 ORDER BY position",
        )
        .bind(course.school_id.to_string())
        .bind(course.id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Topic {
                    id: get_id(r, "id")?,
                    title: get_str(r, "title")?,
                    position: get_i64(r, "position")?,
                })
            })
            .collect()
    }

    /// Adds a lesson at the end of a course.
    pub async fn create_lesson(
        &self,
        course: &Course,
        input: &LessonInput,
        actor: Id,
    ) -> DbResult<Lesson> {
        if let Some(t) = input.topic_id {
            self.check_topic(course, t).await?;
        }
        let id = new_id();
        let position = self.next_position("lessons", course).await?;
        let now = now_ms();
        sqlx::query(
            "INSERT INTO lessons (id, school_id, course_id, topic_id, title, position, form, lesson_date, periods, body, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
        )
        .bind(id.to_string())
        .bind(course.school_id.to_string())
        .bind(course.id.to_string())
        .bind(input.topic_id.map(|t| t.to_string()))
        .bind(&input.title)
        .bind(position)
        .bind(input.form.code())
        .bind(input.date.map(iso))
        .bind(input.periods)
        .bind(&input.body)
        .bind(actor.to_string())
        .bind(now)
        .execute(self.pool())
        .await?;
        self.lesson(course.school_id, id).await
    }

    async fn check_topic(&self, course: &Course, topic: Id) -> DbResult<()> {
        sqlx::query("SELECT 1 AS x FROM topics WHERE id = $1 AND school_id = $2 AND course_id = $3")
            .bind(topic.to_string())
            .bind(course.school_id.to_string())
            .bind(course.id.to_string())
            .fetch_optional(self.pool())
            .await?
            .map(|_| ())
            .ok_or_else(|| DbError::Conflict("Chủ đề không thuộc khoá học này.".into()))
    }

    /// Changes a lesson.
    pub async fn update_lesson(
        &self,
        course: &Course,
        lesson_id: Id,
        input: &LessonInput,
    ) -> DbResult<()> {
        if let Some(t) = input.topic_id {
            self.check_topic(course, t).await?;
        }
        let done = sqlx::query(
            "UPDATE lessons SET topic_id = $4, title = $5, form = $6, lesson_date = $7, periods = $8, body = $9, updated_at = $10 \
             WHERE id = $1 AND school_id = $2 AND course_id = $3",
        )
        .bind(lesson_id.to_string())
        .bind(course.school_id.to_string())
        .bind(course.id.to_string())
        .bind(input.topic_id.map(|t| t.to_string()))
        .bind(&input.title)
        .bind(input.form.code())
        .bind(input.date.map(iso))
        .bind(input.periods)
        .bind(&input.body)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(DbError::NotFound);
        }
        Ok(())
    }

    /// One lesson of a school.
    pub async fn lesson(&self, school_id: Id, id: Id) -> DbResult<Lesson> {
        let row = sqlx::query("SELECT * FROM lessons WHERE id = $1 AND school_id = $2")
            .bind(id.to_string())
            .bind(school_id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(DbError::NotFound)?;
        lesson_row(&row)
    }

    /// A course's lessons in order.
    pub async fn lessons(&self, course: &Course) -> DbResult<Vec<Lesson>> {
        let rows = sqlx::query(
            "SELECT * FROM lessons WHERE school_id = $1 AND course_id = $2 ORDER BY position",
        )
        .bind(course.school_id.to_string())
        .bind(course.id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(lesson_row).collect()
    }

    /// Periods of every course of a school year by form, for the online-share report.
    pub async fn online_shares(&self, school_id: Id, year_id: Id) -> DbResult<Vec<CourseShare>> {
        let courses = self.school_courses(school_id, year_id).await?;
        let rows = sqlx::query(
            "SELECT l.course_id, l.form, CAST(SUM(l.periods) AS BIGINT) AS n FROM lessons l \
             JOIN courses co ON co.id = l.course_id \
             WHERE l.school_id = $1 AND co.year_id = $2 GROUP BY l.course_id, l.form",
        )
        .bind(school_id.to_string())
        .bind(year_id.to_string())
        .fetch_all(self.pool())
        .await?;
        let mut counts: std::collections::HashMap<Id, PeriodCounts> =
            std::collections::HashMap::new();
        for r in &rows {
            let c = counts.entry(get_id(r, "course_id")?).or_default();
            let n = get_i64(r, "n")?;
            c.planned += n;
            match code(r, "form", LessonForm::from_code)? {
                LessonForm::OnlineReplace => c.online += n,
                LessonForm::OnlineSupport => c.support += n,
                LessonForm::FaceToFace => {}
            }
        }
        Ok(courses
            .into_iter()
            .map(|c| CourseShare {
                counts: counts.get(&c.id).copied().unwrap_or_default(),
                course_id: c.id,
                class_name: c.class_name,
                subject_name: c.subject_name,
                periods_per_year: c.periods_per_year,
            })
            .collect())
    }

    /// The online-share target of the province above a school, in tenths of a percent.
    pub async fn online_target(&self, unit_path: &str) -> DbResult<i64> {
        // The province is the second node of the path (/ministry/province/…).
        let province = unit_path.trim_matches('/').split('/').nth(1).unwrap_or("");
        let row = sqlx::query("SELECT online_target_permille FROM org_units WHERE id = $1")
            .bind(province)
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            Some(r) => get_i64(&r, "online_target_permille")?,
            None => 100,
        })
    }

    /// Sets a unit's online-share target.
    pub async fn set_online_target(&self, unit_id: Id, permille: i64, actor: Id) -> DbResult<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE org_units SET online_target_permille = $2 WHERE id = $1")
            .bind(unit_id.to_string())
            .bind(permille)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: None,
                actor_id: Some(actor),
                action: "unit.online_target",
                entity: "org_unit",
                entity_id: Some(unit_id),
                detail: permille.to_string(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    // ----- materials -----

    /// Creates a material as a draft (version 1).
    pub async fn create_material(
        &self,
        school_id: Id,
        owner: Id,
        kind: MaterialKind,
        input: &MaterialInput,
    ) -> DbResult<Id> {
        let id = new_id();
        let now = now_ms();
        let (key, name, ctype, size) = split_file(&input.file);
        let video_status = (kind == MaterialKind::Video).then_some("queued");
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO materials (id, school_id, owner_id, subject_name, grade, title, title_folded, kind, body, url, \
             file_key, file_name, content_type, size, licence, attribution, status, version, video_status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 'draft', 1, $17, $18, $18)",
        )
        .bind(id.to_string())
        .bind(school_id.to_string())
        .bind(owner.to_string())
        .bind(&input.subject_name)
        .bind(input.grade)
        .bind(&input.title)
        .bind(domain::text::fold(&input.title))
        .bind(kind.code())
        .bind(&input.body)
        .bind(input.url.clone())
        .bind(key.clone())
        .bind(name.clone())
        .bind(ctype.clone())
        .bind(size)
        .bind(&input.licence)
        .bind(&input.attribution)
        .bind(video_status)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        insert_version(&mut tx, school_id, id, 1, input, owner).await?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(school_id),
                actor_id: Some(owner),
                action: "material.create",
                entity: "material",
                entity_id: Some(id),
                detail: input.title.clone(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Saves new content for a material. An approved material gets a new version in draft
    /// (students keep the approved one meanwhile); otherwise the current version is rewritten
    /// and a returned material goes back to draft.
    pub async fn update_material(
        &self,
        m: &Material,
        input: &MaterialInput,
        actor: Id,
    ) -> DbResult<()> {
        if matches!(
            m.status,
            MaterialStatus::InReview | MaterialStatus::Endorsed
        ) {
            return Err(DbError::Conflict(
                "Học liệu đang được thẩm định: chờ kết quả hoặc đề nghị trả lại trước khi sửa."
                    .into(),
            ));
        }
        let new_version = if m.status == MaterialStatus::Approved {
            m.version + 1
        } else {
            m.version
        };
        // Keep the stored file when no new one came.
        let file = input.file.clone().or_else(|| {
            m.file_key.clone().map(|k| {
                (
                    k,
                    m.file_name.clone().unwrap_or_default(),
                    m.content_type.clone().unwrap_or_default(),
                    m.size.unwrap_or(0),
                )
            })
        });
        let input = MaterialInput {
            file,
            ..input.clone()
        };
        let (key, name, ctype, size) = split_file(&input.file);
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE materials SET subject_name = $3, grade = $4, title = $5, title_folded = $6, body = $7, url = $8, \
             file_key = $9, file_name = $10, content_type = $11, size = $12, licence = $13, attribution = $14, \
             status = 'draft', version = $15, updated_at = $16 WHERE id = $1 AND school_id = $2",
        )
        .bind(m.id.to_string())
        .bind(m.school_id.to_string())
        .bind(&input.subject_name)
        .bind(input.grade)
        .bind(&input.title)
        .bind(domain::text::fold(&input.title))
        .bind(&input.body)
        .bind(input.url.clone())
        .bind(key)
        .bind(name)
        .bind(ctype)
        .bind(size)
        .bind(&input.licence)
        .bind(&input.attribution)
        .bind(new_version)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        if new_version == m.version {
            sqlx::query(
                "DELETE FROM material_versions WHERE school_id = $1 AND material_id = $2 AND version = $3",
            )
            .bind(m.school_id.to_string())
            .bind(m.id.to_string())
            .bind(new_version)
            .execute(&mut *tx)
            .await?;
        }
        insert_version(&mut tx, m.school_id, m.id, new_version, &input, actor).await?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(m.school_id),
                actor_id: Some(actor),
                action: "material.update",
                entity: "material",
                entity_id: Some(m.id),
                detail: format!("v{} → v{new_version}", m.version),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One material of a school.
    pub async fn material(&self, school_id: Id, id: Id) -> DbResult<Material> {
        let row = sqlx::query(&format!(
            "{MATERIAL_SELECT} WHERE m.id = $1 AND m.school_id = $2"
        ))
        .bind(id.to_string())
        .bind(school_id.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(DbError::NotFound)?;
        material_row(&row)
    }

    /// One version of a material.
    pub async fn material_version(
        &self,
        school_id: Id,
        id: Id,
        version: i64,
    ) -> DbResult<MaterialVersion> {
        let row = sqlx::query(
            "SELECT * FROM material_versions WHERE school_id = $1 AND material_id = $2 AND version = $3",
        )
        .bind(school_id.to_string())
        .bind(id.to_string())
        .bind(version)
        .fetch_optional(self.pool())
        .await?
        .ok_or(DbError::NotFound)?;
        version_row(&row)
    }

    /// Every version of a material, newest first.
    pub async fn material_versions(&self, school_id: Id, id: Id) -> DbResult<Vec<MaterialVersion>> {
        let rows = sqlx::query(
            "SELECT * FROM material_versions WHERE school_id = $1 AND material_id = $2 ORDER BY version DESC",
        )
        .bind(school_id.to_string())
        .bind(id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(version_row).collect()
    }

    /// The school library, newest first.
    pub async fn library(&self, school_id: Id, f: &LibraryFilter) -> DbResult<Vec<Material>> {
        let mut sql = format!("{MATERIAL_SELECT} WHERE m.school_id = $1");
        let mut binds = vec![school_id.to_string()];
        if let Some(o) = f.owner {
            binds.push(o.to_string());
            sql.push_str(&format!(" AND m.owner_id = ${}", binds.len()));
        }
        if let Some(s) = f.status {
            binds.push(s.code().to_owned());
            sql.push_str(&format!(" AND m.status = ${}", binds.len()));
        }
        if let Some(q) = f.query.as_deref().map(domain::text::fold)
            && !q.is_empty()
        {
            for word in q.split_whitespace() {
                binds.push(format!("%{}%", word.replace(['%', '_'], "")));
                sql.push_str(&format!(" AND m.title_folded LIKE ${}", binds.len()));
            }
        }
        sql.push_str(" ORDER BY m.updated_at DESC LIMIT 500");
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b.clone());
        }
        let rows = q.fetch_all(self.pool()).await?;
        rows.iter().map(material_row).collect()
    }

    /// Materials waiting for a reviewer at a school: in review (group heads) and endorsed
    /// (the principal).
    pub async fn review_queue(&self, school_id: Id) -> DbResult<Vec<Material>> {
        let rows = sqlx::query(&format!(
            "{MATERIAL_SELECT} WHERE m.school_id = $1 AND m.status IN ('in_review', 'endorsed') ORDER BY m.updated_at"
        ))
        .bind(school_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(material_row).collect()
    }

    /// Records a review step (already checked by the caller against the rules) and its new
    /// status; approval makes the current version the one students see. Notifies the author.
    pub async fn review_material(
        &self,
        m: &Material,
        step: ReviewStep,
        to: MaterialStatus,
        comment: &str,
        actor: Id,
    ) -> DbResult<()> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE materials SET status = $4, approved_version = CASE WHEN $4 = 'approved' THEN version ELSE approved_version END, \
             updated_at = $5 WHERE id = $1 AND school_id = $2 AND status = $3",
        )
        .bind(m.id.to_string())
        .bind(m.school_id.to_string())
        .bind(m.status.code())
        .bind(to.code())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            // Someone else acted first; nothing is written.
            return Err(DbError::Conflict(
                "Học liệu vừa được người khác xử lý; tải lại trang để xem trạng thái mới.".into(),
            ));
        }
        sqlx::query(
            "INSERT INTO material_reviews (id, school_id, material_id, version, actor_id, step, comment, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(new_id().to_string())
        .bind(m.school_id.to_string())
        .bind(m.id.to_string())
        .bind(m.version)
        .bind(actor.to_string())
        .bind(step.code())
        .bind(comment)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(m.school_id),
                actor_id: Some(actor),
                action: "material.review",
                entity: "material",
                entity_id: Some(m.id),
                detail: format!("{} → {} (v{})", m.status.code(), to.code(), m.version),
            },
        )
        .await?;
        if actor != m.owner_id {
            notify_all(
                &mut tx,
                &[m.owner_id],
                Some(m.school_id),
                "material",
                &format!("Học liệu \"{}\": {}", m.title, to.label()),
                comment,
                &format!("/schools/{}/library/{}", m.school_id, m.id),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The review history of a material, oldest first.
    pub async fn material_reviews(&self, school_id: Id, id: Id) -> DbResult<Vec<ReviewEntry>> {
        let rows = sqlx::query(
            "SELECT r.version, u.full_name, r.step, r.comment, r.at FROM material_reviews r \
             JOIN users u ON u.id = r.actor_id WHERE r.school_id = $1 AND r.material_id = $2 ORDER BY r.at",
        )
        .bind(school_id.to_string())
        .bind(id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ReviewEntry {
                    version: get_i64(r, "version")?,
                    actor_name: get_str(r, "full_name")?,
                    step: code(r, "step", ReviewStep::from_code)?,
                    comment: get_str(r, "comment")?,
                    at: get_i64(r, "at")?,
                })
            })
            .collect()
    }

    /// Counts of materials per author at a school (oversight: digitised and approved).
    pub async fn material_counts(&self, school_id: Id) -> DbResult<Vec<MaterialCounts>> {
        let rows = sqlx::query(
            "SELECT m.owner_id, u.full_name, COUNT(*) AS total, \
             CAST(SUM(CASE WHEN m.approved_version IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS approved, \
             CAST(SUM(CASE WHEN m.kind = 'video' THEN 1 ELSE 0 END) AS BIGINT) AS videos \
             FROM materials m JOIN users u ON u.id = m.owner_id WHERE m.school_id = $1 \
             GROUP BY m.owner_id, u.full_name ORDER BY u.full_name",
        )
        .bind(school_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(MaterialCounts {
                    owner_id: get_id(r, "owner_id")?,
                    owner_name: get_str(r, "full_name")?,
                    total: get_i64(r, "total")?,
                    approved: get_i64(r, "approved")?,
                    videos: get_i64(r, "videos")?,
                })
            })
            .collect()
    }

    /// Updates the processing state of a video material.
    pub async fn set_video_state(
        &self,
        school_id: Id,
        id: Id,
        status: &str,
        progress: i64,
        error: Option<&str>,
        duration_s: Option<i64>,
    ) -> DbResult<()> {
        sqlx::query(
            "UPDATE materials SET video_status = $3, video_progress = $4, video_error = $5, \
             duration_s = COALESCE($6, duration_s) WHERE id = $1 AND school_id = $2",
        )
        .bind(id.to_string())
        .bind(school_id.to_string())
        .bind(status)
        .bind(progress)
        .bind(error)
        .bind(duration_s)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Places a material in a lesson (idempotent). Students see it once it is approved.
    pub async fn attach_material(&self, lesson: &Lesson, material_id: Id) -> DbResult<()> {
        self.material(lesson.school_id, material_id).await?;
        let row = sqlx::query(
            "SELECT CAST(COALESCE(MAX(position), 0) AS BIGINT) AS p FROM lesson_materials WHERE school_id = $1 AND lesson_id = $2",
        )
        .bind(lesson.school_id.to_string())
        .bind(lesson.id.to_string())
        .fetch_one(self.pool())
        .await?;
        let pos = get_i64(&row, "p")? + 1;
        sqlx::query(
            "INSERT INTO lesson_materials (school_id, lesson_id, material_id, position, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (school_id, lesson_id, material_id) DO NOTHING",
        )
        .bind(lesson.school_id.to_string())
        .bind(lesson.id.to_string())
        .bind(material_id.to_string())
        .bind(pos)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Takes a material out of a lesson (the material stays in the library).
    pub async fn detach_material(&self, lesson: &Lesson, material_id: Id) -> DbResult<()> {
        sqlx::query(
            "DELETE FROM lesson_materials WHERE school_id = $1 AND lesson_id = $2 AND material_id = $3",
        )
        .bind(lesson.school_id.to_string())
        .bind(lesson.id.to_string())
        .bind(material_id.to_string())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The materials of a lesson. With `student`, only approved ones, in their approved version,
    /// with that user's progress; otherwise every one in its current version.
    pub async fn lesson_materials(
        &self,
        lesson: &Lesson,
        student: Option<Id>,
    ) -> DbResult<Vec<LessonMaterial>> {
        let rows = sqlx::query(&format!(
            "{MATERIAL_SELECT} JOIN lesson_materials lm ON lm.material_id = m.id AND lm.school_id = m.school_id \
             WHERE lm.school_id = $1 AND lm.lesson_id = $2 ORDER BY lm.position"
        ))
        .bind(lesson.school_id.to_string())
        .bind(lesson.id.to_string())
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let m = material_row(r)?;
            let shown_version = match student {
                Some(_) => match m.approved_version {
                    Some(v) => v,
                    None => continue,
                },
                None => m.version,
            };
            let shown = self
                .material_version(m.school_id, m.id, shown_version)
                .await
                .ok();
            let (opened, watched_s, position_s) = match student {
                Some(u) => {
                    let p = self.material_progress(lesson.course_id, m.id, u).await?;
                    p.map_or((false, 0, 0), |(w, pos)| (true, w, pos))
                }
                None => (false, 0, 0),
            };
            out.push(LessonMaterial {
                material: m,
                shown,
                opened,
                watched_s,
                position_s,
            });
        }
        Ok(out)
    }

    /// The courses (and a lesson of each) whose lessons use a material.
    pub async fn material_courses(
        &self,
        school_id: Id,
        material_id: Id,
    ) -> DbResult<Vec<(Id, Id)>> {
        let rows = sqlx::query(
            "SELECT l.course_id, MIN(l.id) AS lesson_id FROM lesson_materials lm JOIN lessons l ON l.id = lm.lesson_id \
             WHERE lm.school_id = $1 AND lm.material_id = $2 GROUP BY l.course_id",
        )
        .bind(school_id.to_string())
        .bind(material_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((get_id(r, "course_id")?, get_id(r, "lesson_id")?)))
            .collect()
    }

    /// The lessons of a course that use a material (so a reader's access can be checked).
    pub async fn material_in_course(&self, course: &Course, material_id: Id) -> DbResult<bool> {
        let row = sqlx::query(
            "SELECT 1 AS x FROM lesson_materials lm JOIN lessons l ON l.id = lm.lesson_id \
             WHERE lm.school_id = $1 AND lm.material_id = $2 AND l.course_id = $3",
        )
        .bind(course.school_id.to_string())
        .bind(material_id.to_string())
        .bind(course.id.to_string())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }

    /// Where a student stopped in a video (0 if they never played it).
    pub async fn lesson_progress_position(
        &self,
        course: &Course,
        material_id: Id,
        user_id: Id,
    ) -> DbResult<i64> {
        Ok(self
            .material_progress(course.id, material_id, user_id)
            .await?
            .map_or(0, |(_, p)| p))
    }

    async fn material_progress(
        &self,
        course_id: Id,
        material_id: Id,
        user_id: Id,
    ) -> DbResult<Option<(i64, i64)>> {
        let row = sqlx::query(
            "SELECT watched_s, position_s FROM material_progress WHERE course_id = $1 AND material_id = $2 AND user_id = $3",
        )
        .bind(course_id.to_string())
        .bind(material_id.to_string())
        .bind(user_id.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| Ok((get_i64(&r, "watched_s")?, get_i64(&r, "position_s")?)))
            .transpose()
    }

    /// Records that a student opened a material, and for videos where they are and how many
    /// more seconds they watched (the caller caps the step so a tampered beacon cannot claim
    /// hours at once).
    pub async fn record_progress(
        &self,
        course: &Course,
        material_id: Id,
        user_id: Id,
        position_s: Option<i64>,
        watched_step_s: i64,
        duration_s: Option<i64>,
    ) -> DbResult<()> {
        let now = now_ms();
        let cap = duration_s.unwrap_or(i64::MAX / 2);
        sqlx::query(
            "INSERT INTO material_progress (school_id, course_id, material_id, user_id, opened_at, last_at, position_s, watched_s) \
             VALUES ($1, $2, $3, $4, $5, $5, $6, $7) \
             ON CONFLICT (school_id, course_id, material_id, user_id) DO UPDATE SET last_at = $5, \
             position_s = CASE WHEN $8 = 1 THEN $6 ELSE material_progress.position_s END, \
             watched_s = CASE WHEN material_progress.watched_s + $7 > $9 THEN $9 ELSE material_progress.watched_s + $7 END",
        )
        .bind(course.school_id.to_string())
        .bind(course.id.to_string())
        .bind(material_id.to_string())
        .bind(user_id.to_string())
        .bind(now)
        .bind(position_s.unwrap_or(0))
        .bind(watched_step_s.clamp(0, cap))
        .bind(i64::from(position_s.is_some()))
        .bind(cap)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    // ----- tasks and submissions -----

    /// Creates a task and tells the class's students.
    pub async fn create_task(&self, course: &Course, input: &TaskInput, actor: Id) -> DbResult<Id> {
        if let Some(l) = input.lesson_id {
            let lesson = self.lesson(course.school_id, l).await?;
            if lesson.course_id != course.id {
                return Err(DbError::Conflict(
                    "Bài học không thuộc khoá học này.".into(),
                ));
            }
        }
        let id = new_id();
        let now = now_ms();
        let students = self.course_students(course).await?;
        let users: Vec<Id> = students.iter().filter_map(|s| s.user_id).collect();
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO tasks (id, school_id, course_id, lesson_id, title, instructions, opens_at, due_at, late_policy, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        )
        .bind(id.to_string())
        .bind(course.school_id.to_string())
        .bind(course.id.to_string())
        .bind(input.lesson_id.map(|l| l.to_string()))
        .bind(&input.title)
        .bind(&input.instructions)
        .bind(input.opens_at)
        .bind(input.due_at)
        .bind(input.late_policy.code())
        .bind(actor.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        notify_all(
            &mut tx,
            &users,
            Some(course.school_id),
            "task",
            &format!("Bài tập mới – {}: {}", course.subject_name, input.title),
            "",
            &format!("/courses/{}/tasks/{id}", course.id),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// One task of a course.
    pub async fn task(&self, course: &Course, id: Id) -> DbResult<Task> {
        let row =
            sqlx::query("SELECT * FROM tasks WHERE id = $1 AND school_id = $2 AND course_id = $3")
                .bind(id.to_string())
                .bind(course.school_id.to_string())
                .bind(course.id.to_string())
                .fetch_optional(self.pool())
                .await?
                .ok_or(DbError::NotFound)?;
        task_row(&row)
    }

    /// A course's tasks, latest due first, with counts; `student` adds their own state.
    pub async fn tasks(&self, course: &Course, student: Option<Id>) -> DbResult<Vec<TaskSummary>> {
        // One query: the class's counts and, for a student, their own submission beside each.
        let rows = sqlx::query(
            "SELECT t.*, \
             (SELECT COUNT(*) FROM submissions s WHERE s.school_id = t.school_id AND s.task_id = t.id) AS n_submitted, \
             (SELECT COUNT(*) FROM submissions s WHERE s.school_id = t.school_id AND s.task_id = t.id AND s.score IS NOT NULL) AS n_graded, \
             (SELECT COUNT(*) FROM submissions s WHERE s.school_id = t.school_id AND s.task_id = t.id AND s.late = 1) AS n_late, \
             m.id AS m_id, m.late AS m_late, m.score AS m_score \
             FROM tasks t LEFT JOIN submissions m ON m.school_id = t.school_id AND m.task_id = t.id AND m.student_id = $3 \
             WHERE t.school_id = $1 AND t.course_id = $2 ORDER BY t.created_at DESC",
        )
        .bind(course.school_id.to_string())
        .bind(course.id.to_string())
        .bind(student.map(|s| s.to_string()).unwrap_or_default())
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let task = task_row(r)?;
            let mine = match get_opt_str(r, "m_id")? {
                Some(_) => Some(SubmissionState {
                    late: opt_i64(r, "m_late")?.unwrap_or(0) != 0,
                    score: opt_i64(r, "m_score")?,
                }),
                None => None,
            };
            out.push(TaskSummary {
                task,
                submitted: get_i64(r, "n_submitted")?,
                graded: get_i64(r, "n_graded")?,
                late: get_i64(r, "n_late")?,
                mine,
            });
        }
        Ok(out)
    }

    /// Questions of a course still waiting for an answer (hidden ones aside).
    pub async fn open_question_count(&self, course: &Course) -> DbResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM course_questions WHERE school_id = $1 AND course_id = $2 AND answered = 0 AND hidden = 0",
        )
        .bind(course.school_id.to_string())
        .bind(course.id.to_string())
        .fetch_one(self.pool())
        .await?)
    }

    /// A student's submission to a task.
    pub async fn submission(
        &self,
        school_id: Id,
        task_id: Id,
        student_id: Id,
    ) -> DbResult<Option<Submission>> {
        let row = sqlx::query(&format!(
            "{SUBMISSION_SELECT} WHERE s.school_id = $1 AND s.task_id = $2 AND s.student_id = $3"
        ))
        .bind(school_id.to_string())
        .bind(task_id.to_string())
        .bind(student_id.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| submission_row(&r)).transpose()
    }

    /// Every submission to a task.
    pub async fn submissions(&self, school_id: Id, task_id: Id) -> DbResult<Vec<Submission>> {
        let rows = sqlx::query(&format!(
            "{SUBMISSION_SELECT} WHERE s.school_id = $1 AND s.task_id = $2 ORDER BY s.submitted_at"
        ))
        .bind(school_id.to_string())
        .bind(task_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(submission_row).collect()
    }

    /// Hands in (or again) a student's work with its files, in one transaction. A retry with
    /// the same idempotency key returns the stored submission unchanged; graded work is closed.
    #[expect(
        clippy::too_many_arguments,
        reason = "one transaction, each part is needed"
    )]
    pub async fn submit(
        &self,
        task: &Task,
        student_id: Id,
        user_id: Id,
        body: &str,
        files: &[NewFile],
        late: bool,
        key: &str,
    ) -> DbResult<(Submission, bool)> {
        let now = now_ms();
        let existing = self.submission(task.school_id, task.id, student_id).await?;
        let mut tx = self.pool().begin().await?;
        let id = match &existing {
            Some(s) => {
                let stored_key: String =
                    sqlx::query_scalar("SELECT idempotency_key FROM submissions WHERE id = $1")
                        .bind(s.id.to_string())
                        .fetch_one(&mut *tx)
                        .await?;
                if stored_key == key {
                    return Ok((s.clone(), false));
                }
                if s.score.is_some() {
                    return Err(DbError::Conflict(
                        "Bài đã được chấm, không nộp lại được.".into(),
                    ));
                }
                let done = sqlx::query(
                    "UPDATE submissions SET body = $2, late = $3, times = times + 1, idempotency_key = $4, submitted_at = $5 \
                     WHERE id = $1 AND score IS NULL",
                )
                .bind(s.id.to_string())
                .bind(body)
                .bind(i64::from(late))
                .bind(key)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(DbError::Conflict(
                        "Bài đã được chấm, không nộp lại được.".into(),
                    ));
                }
                sqlx::query(
                    "DELETE FROM learning_files WHERE school_id = $1 AND owner_kind = 'submission' AND owner_id = $2",
                )
                .bind(task.school_id.to_string())
                .bind(s.id.to_string())
                .execute(&mut *tx)
                .await?;
                s.id
            }
            None => {
                let id = new_id();
                sqlx::query(
                    "INSERT INTO submissions (id, school_id, task_id, student_id, user_id, body, status, late, times, idempotency_key, submitted_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, 'submitted', $7, 1, $8, $9, $9)",
                )
                .bind(id.to_string())
                .bind(task.school_id.to_string())
                .bind(task.id.to_string())
                .bind(student_id.to_string())
                .bind(user_id.to_string())
                .bind(body)
                .bind(i64::from(late))
                .bind(key)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| crate::conflict_on_unique(e, "Bài vừa được nộp từ một thiết bị khác; tải lại trang."))?;
                id
            }
        };
        for f in files {
            insert_file(&mut tx, task.school_id, "submission", id, f).await?;
        }
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(task.school_id),
                actor_id: Some(user_id),
                action: "submission.submit",
                entity: "submission",
                entity_id: Some(id),
                detail: format!("{} tệp{}", files.len(), if late { ", muộn" } else { "" }),
            },
        )
        .await?;
        tx.commit().await?;
        let stored = self
            .submission(task.school_id, task.id, student_id)
            .await?
            .ok_or(DbError::NotFound)?;
        Ok((stored, true))
    }

    /// Grades a submission (or changes its grade), audited, and tells the student.
    pub async fn grade(
        &self,
        course: &Course,
        task: &Task,
        submission: &Submission,
        score: i64,
        feedback: &str,
        actor: Id,
    ) -> DbResult<()> {
        let now = now_ms();
        let user: Option<String> =
            sqlx::query_scalar::<_, Option<String>>("SELECT user_id FROM students WHERE id = $1")
                .bind(submission.student_id.to_string())
                .fetch_optional(self.pool())
                .await?
                .flatten();
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE submissions SET score = $3, feedback = $4, status = 'graded', graded_by = $5, graded_at = $6 \
             WHERE id = $1 AND school_id = $2",
        )
        .bind(submission.id.to_string())
        .bind(task.school_id.to_string())
        .bind(score)
        .bind(feedback)
        .bind(actor.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(task.school_id),
                actor_id: Some(actor),
                action: "submission.grade",
                entity: "submission",
                entity_id: Some(submission.id),
                detail: format!(
                    "{} → {}",
                    submission
                        .score
                        .map_or("—".to_owned(), domain::learning::format_tenths),
                    domain::learning::format_tenths(score)
                ),
            },
        )
        .await?;
        if let Some(u) = user {
            notify_all(
                &mut tx,
                &[parse_id(&u)?],
                Some(task.school_id),
                "grade",
                &format!(
                    "Đã chấm bài \"{}\" – {}: {} điểm",
                    task.title,
                    course.subject_name,
                    domain::learning::format_tenths(score)
                ),
                feedback,
                &format!("/courses/{}/tasks/{}", course.id, task.id),
            )
            .await?;
        }
        let parents = guardian_users(&mut tx, task.school_id, submission.student_id).await?;
        notify_all(
            &mut tx,
            &parents,
            Some(task.school_id),
            "grade",
            &format!(
                "{} có điểm bài tập {}: {} – \"{}\"",
                submission.student_name,
                course.subject_name,
                domain::learning::format_tenths(score),
                task.title
            ),
            feedback,
            &format!(
                "/schools/{}/students/{}",
                task.school_id, submission.student_id
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Attaches files to a task.
    pub async fn add_task_files(&self, task: &Task, files: &[NewFile]) -> DbResult<()> {
        let mut tx = self.pool().begin().await?;
        for f in files {
            insert_file(&mut tx, task.school_id, "task", task.id, f).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The files attached to a task, a submission or a material.
    pub async fn learning_files(
        &self,
        school_id: Id,
        owner_kind: &str,
        owner_id: Id,
    ) -> DbResult<Vec<LearningFile>> {
        let rows = sqlx::query(
            "SELECT id, storage_key, file_name, content_type, size FROM learning_files \
             WHERE school_id = $1 AND owner_kind = $2 AND owner_id = $3 ORDER BY created_at, id",
        )
        .bind(school_id.to_string())
        .bind(owner_kind)
        .bind(owner_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(file_row).collect()
    }

    /// One attached file with what it belongs to: (owner kind, owner id, file).
    pub async fn learning_file(
        &self,
        school_id: Id,
        id: Id,
    ) -> DbResult<(String, Id, LearningFile)> {
        let r = sqlx::query(
            "SELECT id, owner_kind, owner_id, storage_key, file_name, content_type, size FROM learning_files \
             WHERE school_id = $1 AND id = $2",
        )
        .bind(school_id.to_string())
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(DbError::NotFound)?;
        Ok((
            get_str(&r, "owner_kind")?,
            get_id(&r, "owner_id")?,
            file_row(&r)?,
        ))
    }

    /// The submission with this id, for checking a file's reader.
    pub async fn submission_by_id(&self, school_id: Id, id: Id) -> DbResult<Submission> {
        let row = sqlx::query(&format!(
            "{SUBMISSION_SELECT} WHERE s.school_id = $1 AND s.id = $2"
        ))
        .bind(school_id.to_string())
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(DbError::NotFound)?;
        submission_row(&row)
    }

    /// The task with this id at a school (any course).
    pub async fn task_by_id(&self, school_id: Id, id: Id) -> DbResult<Task> {
        let row = sqlx::query("SELECT * FROM tasks WHERE id = $1 AND school_id = $2")
            .bind(id.to_string())
            .bind(school_id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(DbError::NotFound)?;
        task_row(&row)
    }

    // ----- questions -----

    /// Asks a question (a retry with the same key is stored once) and tells the teacher.
    #[expect(
        clippy::too_many_arguments,
        reason = "one transaction, each part is needed"
    )]
    pub async fn ask(
        &self,
        course: &Course,
        lesson_id: Option<Id>,
        author: Id,
        author_name: &str,
        body: &str,
        private: bool,
        key: &str,
    ) -> DbResult<Id> {
        let id = new_id();
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO course_questions (id, school_id, course_id, lesson_id, author_id, body, private, idempotency_key, created_at, last_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT (school_id, author_id, idempotency_key) DO NOTHING",
        )
        .bind(id.to_string())
        .bind(course.school_id.to_string())
        .bind(course.id.to_string())
        .bind(lesson_id.map(|l| l.to_string()))
        .bind(author.to_string())
        .bind(body)
        .bind(i64::from(private))
        .bind(key)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            let existing: String = sqlx::query_scalar(
                "SELECT id FROM course_questions WHERE school_id = $1 AND author_id = $2 AND idempotency_key = $3",
            )
            .bind(course.school_id.to_string())
            .bind(author.to_string())
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
            return parse_id(&existing);
        }
        if let Some(t) = course.teacher_user_id
            && t != author
        {
            notify_all(
                &mut tx,
                &[t],
                Some(course.school_id),
                "question",
                &format!(
                    "Câu hỏi mới – {} {}: {}",
                    course.subject_name, course.class_name, author_name
                ),
                &shorten(body, 140),
                &format!("/courses/{}/questions/{id}", course.id),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// One question of a course.
    pub async fn question(&self, course: &Course, id: Id) -> DbResult<Question> {
        let row = sqlx::query(&format!(
            "{QUESTION_SELECT} WHERE q.id = $1 AND q.school_id = $2 AND q.course_id = $3"
        ))
        .bind(id.to_string())
        .bind(course.school_id.to_string())
        .bind(course.id.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(DbError::NotFound)?;
        question_row(&row)
    }

    /// The questions of a course a reader may see, latest activity first: staff see all,
    /// a student sees the public ones and their own.
    pub async fn questions(
        &self,
        course: &Course,
        reader: Option<Id>,
        lesson: Option<Id>,
    ) -> DbResult<Vec<Question>> {
        let mut sql = format!("{QUESTION_SELECT} WHERE q.school_id = $1 AND q.course_id = $2");
        let mut binds = vec![course.school_id.to_string(), course.id.to_string()];
        if let Some(r) = reader {
            binds.push(r.to_string());
            sql.push_str(&format!(
                " AND q.hidden = 0 AND (q.private = 0 OR q.author_id = ${})",
                binds.len()
            ));
        }
        if let Some(l) = lesson {
            binds.push(l.to_string());
            sql.push_str(&format!(" AND q.lesson_id = ${}", binds.len()));
        }
        sql.push_str(" ORDER BY q.last_at DESC LIMIT 200");
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b.clone());
        }
        let rows = q.fetch_all(self.pool()).await?;
        rows.iter().map(question_row).collect()
    }

    /// The replies to a question, oldest first (hidden ones only for staff).
    pub async fn replies(&self, q: &Question, include_hidden: bool) -> DbResult<Vec<Reply>> {
        let rows = sqlx::query(
            "SELECT r.id, r.author_id, u.full_name, r.body, r.hidden, r.created_at FROM question_replies r \
             JOIN users u ON u.id = r.author_id WHERE r.school_id = $1 AND r.question_id = $2 \
             AND (r.hidden = 0 OR $3 = 1) ORDER BY r.created_at, r.id",
        )
        .bind(q.school_id.to_string())
        .bind(q.id.to_string())
        .bind(i64::from(include_hidden))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Reply {
                    id: get_id(r, "id")?,
                    author_id: get_id(r, "author_id")?,
                    author_name: get_str(r, "full_name")?,
                    body: get_str(r, "body")?,
                    hidden: get_bool(r, "hidden")?,
                    created_at: get_i64(r, "created_at")?,
                })
            })
            .collect()
    }

    /// Replies to a question (once per key). A reply by the course's teacher marks it
    /// answered and tells the asker.
    pub async fn reply(
        &self,
        course: &Course,
        q: &Question,
        author: Id,
        body: &str,
        key: &str,
    ) -> DbResult<()> {
        let now = now_ms();
        let by_teacher = course.teacher_user_id == Some(author);
        let mut tx = self.pool().begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO question_replies (id, school_id, question_id, author_id, body, idempotency_key, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (school_id, author_id, idempotency_key) DO NOTHING",
        )
        .bind(new_id().to_string())
        .bind(q.school_id.to_string())
        .bind(q.id.to_string())
        .bind(author.to_string())
        .bind(body)
        .bind(key)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Ok(());
        }
        sqlx::query(
            "UPDATE course_questions SET last_at = $2, answered = CASE WHEN $3 = 1 THEN 1 ELSE answered END WHERE id = $1",
        )
        .bind(q.id.to_string())
        .bind(now)
        .bind(i64::from(by_teacher))
        .execute(&mut *tx)
        .await?;
        if q.author_id != author {
            notify_all(
                &mut tx,
                &[q.author_id],
                Some(q.school_id),
                "answer",
                &format!("Có trả lời cho câu hỏi của bạn – {}", course.subject_name),
                &shorten(body, 140),
                &format!("/courses/{}/questions/{}", course.id, q.id),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Marks a question answered or not.
    pub async fn set_answered(&self, q: &Question, answered: bool) -> DbResult<()> {
        sqlx::query("UPDATE course_questions SET answered = $3 WHERE id = $1 AND school_id = $2")
            .bind(q.id.to_string())
            .bind(q.school_id.to_string())
            .bind(i64::from(answered))
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Hides or shows a question or a reply (moderation), audited.
    pub async fn moderate_question(
        &self,
        q: &Question,
        reply: Option<Id>,
        hidden: bool,
        actor: Id,
    ) -> DbResult<()> {
        let mut tx = self.pool().begin().await?;
        let (sql, id) = match reply {
            Some(r) => (
                "UPDATE question_replies SET hidden = $3 WHERE id = $1 AND school_id = $2",
                r,
            ),
            None => (
                "UPDATE course_questions SET hidden = $3 WHERE id = $1 AND school_id = $2",
                q.id,
            ),
        };
        let done = sqlx::query(sql)
            .bind(id.to_string())
            .bind(q.school_id.to_string())
            .bind(i64::from(hidden))
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(DbError::NotFound);
        }
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(q.school_id),
                actor_id: Some(actor),
                action: if hidden {
                    "question.hide"
                } else {
                    "question.show"
                },
                entity: if reply.is_some() {
                    "question_reply"
                } else {
                    "question"
                },
                entity_id: Some(id),
                detail: String::new(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The unanswered questions of a teacher's courses, oldest first.
    pub async fn unanswered_for(&self, teacher: Id) -> DbResult<Vec<PendingQuestion>> {
        let courses = self.courses_taught(teacher).await?;
        let mut out = Vec::new();
        for c in &courses {
            let rows = sqlx::query(&format!(
                "{QUESTION_SELECT} WHERE q.school_id = $1 AND q.course_id = $2 AND q.answered = 0 AND q.hidden = 0 \
                 ORDER BY q.created_at LIMIT 50"
            ))
            .bind(c.school_id.to_string())
            .bind(c.id.to_string())
            .fetch_all(self.pool())
            .await?;
            for r in &rows {
                out.push(PendingQuestion {
                    question: question_row(r)?,
                    course_label: format!("{} – {}", c.subject_name, c.class_name),
                });
            }
        }
        out.sort_by_key(|p| p.question.created_at);
        Ok(out)
    }

    // ----- posts -----

    /// Posts an announcement to a course and tells its students.
    pub async fn post(&self, course: &Course, author: Id, title: &str, body: &str) -> DbResult<()> {
        let students = self.course_students(course).await?;
        let users: Vec<Id> = students.iter().filter_map(|s| s.user_id).collect();
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO course_posts (id, school_id, course_id, author_id, title, body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(new_id().to_string())
        .bind(course.school_id.to_string())
        .bind(course.id.to_string())
        .bind(author.to_string())
        .bind(title)
        .bind(body)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        notify_all(
            &mut tx,
            &users,
            Some(course.school_id),
            "post",
            &format!("Thông báo – {}: {title}", course.subject_name),
            &shorten(body, 140),
            &format!("/courses/{}", course.id),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Posts an announcement to the students of a class, or of the whole school when `class`
    /// is none, and tells them (and, for the whole school, its staff).
    pub async fn post_school(
        &self,
        school_id: Id,
        year_id: Id,
        class: Option<Id>,
        author: Id,
        title: &str,
        body: &str,
    ) -> DbResult<()> {
        let mut sql = String::from(
            "SELECT st.user_id FROM enrollments e JOIN students st ON st.id = e.student_id \
             WHERE e.school_id = $1 AND e.year_id = $2 AND st.status = 'studying' AND st.user_id IS NOT NULL",
        );
        if class.is_some() {
            sql.push_str(" AND e.class_id = $3");
        }
        let mut q = sqlx::query(&sql)
            .bind(school_id.to_string())
            .bind(year_id.to_string());
        if let Some(c) = class {
            q = q.bind(c.to_string());
        }
        let mut users = q
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| get_id(r, "user_id"))
            .collect::<DbResult<Vec<_>>>()?;
        if class.is_none() {
            let staff =
                sqlx::query("SELECT user_id FROM staff WHERE school_id = $1 AND status = 'active'")
                    .bind(school_id.to_string())
                    .fetch_all(self.pool())
                    .await?;
            for r in &staff {
                users.push(get_id(r, "user_id")?);
            }
        }
        users.retain(|u| *u != author);
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO course_posts (id, school_id, course_id, class_id, author_id, title, body, created_at) \
             VALUES ($1, $2, NULL, $3, $4, $5, $6, $7)",
        )
        .bind(new_id().to_string())
        .bind(school_id.to_string())
        .bind(class.map(|c| c.to_string()))
        .bind(author.to_string())
        .bind(title)
        .bind(body)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        notify_all(
            &mut tx,
            &users,
            Some(school_id),
            "post",
            &format!("Thông báo của nhà trường: {title}"),
            &shorten(body, 140),
            "/courses",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The school's and a class's announcements, newest first (`class` none: the school's only).
    pub async fn school_posts(&self, school_id: Id, class: Option<Id>) -> DbResult<Vec<Post>> {
        let rows = sqlx::query(
            "SELECT p.id, u.full_name, p.title, p.body, p.created_at FROM course_posts p JOIN users u ON u.id = p.author_id \
             WHERE p.school_id = $1 AND p.course_id IS NULL AND (p.class_id IS NULL OR p.class_id = $2) \
             ORDER BY p.created_at DESC LIMIT 10",
        )
        .bind(school_id.to_string())
        .bind(class.map(|c| c.to_string()).unwrap_or_default())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(post_row).collect()
    }

    /// A course's posts, newest first.
    pub async fn posts(&self, course: &Course) -> DbResult<Vec<Post>> {
        let rows = sqlx::query(
            "SELECT p.id, u.full_name, p.title, p.body, p.created_at FROM course_posts p JOIN users u ON u.id = p.author_id \
             WHERE p.school_id = $1 AND p.course_id = $2 ORDER BY p.created_at DESC LIMIT 20",
        )
        .bind(course.school_id.to_string())
        .bind(course.id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(post_row).collect()
    }

    // ----- progress -----

    /// What the progress figures of a course are out of.
    pub async fn course_totals(&self, course: &Course) -> DbResult<CourseTotals> {
        let row = sqlx::query(
            "SELECT COUNT(DISTINCT m.id) AS materials, \
             COUNT(DISTINCT CASE WHEN m.kind = 'video' THEN m.id END) AS videos \
             FROM lesson_materials lm JOIN lessons l ON l.id = lm.lesson_id \
             JOIN materials m ON m.id = lm.material_id \
             WHERE lm.school_id = $1 AND l.course_id = $2 AND m.approved_version IS NOT NULL",
        )
        .bind(course.school_id.to_string())
        .bind(course.id.to_string())
        .fetch_one(self.pool())
        .await?;
        let tasks: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM tasks WHERE school_id = $1 AND course_id = $2",
        )
        .bind(course.school_id.to_string())
        .bind(course.id.to_string())
        .fetch_one(self.pool())
        .await?;
        Ok(CourseTotals {
            materials: get_i64(&row, "materials")?,
            videos: get_i64(&row, "videos")?,
            tasks,
        })
    }

    /// Every student's progress in a course.
    pub async fn course_progress(&self, course: &Course) -> DbResult<Vec<StudentProgress>> {
        let students = self.course_students(course).await?;
        let now = now_ms();
        let opened = sqlx::query(
            "SELECT p.user_id, COUNT(*) AS opened, \
             CAST(SUM(CASE WHEN m.kind = 'video' AND m.duration_s > 0 THEN \
                 CASE WHEN p.watched_s * 100 / m.duration_s > 100 THEN 100 ELSE p.watched_s * 100 / m.duration_s END \
             ELSE 0 END) AS BIGINT) AS video_pct_sum \
             FROM material_progress p JOIN materials m ON m.id = p.material_id \
             WHERE p.school_id = $1 AND p.course_id = $2 GROUP BY p.user_id",
        )
        .bind(course.school_id.to_string())
        .bind(course.id.to_string())
        .fetch_all(self.pool())
        .await?;
        let mut by_user = std::collections::HashMap::new();
        for r in &opened {
            by_user.insert(
                get_str(r, "user_id")?,
                (
                    get_i64(r, "opened")?,
                    opt_i64(r, "video_pct_sum")?.unwrap_or(0),
                ),
            );
        }
        let subs = sqlx::query(
            "SELECT s.student_id, COUNT(*) AS submitted, \
             CAST(SUM(CASE WHEN s.score IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS graded, \
             CAST(SUM(s.late) AS BIGINT) AS late, CAST(SUM(COALESCE(s.score, 0)) AS BIGINT) AS score_sum \
             FROM submissions s JOIN tasks t ON t.id = s.task_id \
             WHERE s.school_id = $1 AND t.course_id = $2 GROUP BY s.student_id",
        )
        .bind(course.school_id.to_string())
        .bind(course.id.to_string())
        .fetch_all(self.pool())
        .await?;
        let mut by_student = std::collections::HashMap::new();
        for r in &subs {
            by_student.insert(
                get_str(r, "student_id")?,
                (
                    get_i64(r, "submitted")?,
                    opt_i64(r, "graded")?.unwrap_or(0),
                    opt_i64(r, "late")?.unwrap_or(0),
                    opt_i64(r, "score_sum")?.unwrap_or(0),
                ),
            );
        }
        let due: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM tasks WHERE school_id = $1 AND course_id = $2 AND due_at IS NOT NULL AND due_at < $3",
        )
        .bind(course.school_id.to_string())
        .bind(course.id.to_string())
        .bind(now)
        .fetch_one(self.pool())
        .await?;
        let due_done = sqlx::query(
            "SELECT s.student_id, COUNT(*) AS n FROM submissions s JOIN tasks t ON t.id = s.task_id \
             WHERE s.school_id = $1 AND t.course_id = $2 AND t.due_at IS NOT NULL AND t.due_at < $3 GROUP BY s.student_id",
        )
        .bind(course.school_id.to_string())
        .bind(course.id.to_string())
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        let mut done_by = std::collections::HashMap::new();
        for r in &due_done {
            done_by.insert(get_str(r, "student_id")?, get_i64(r, "n")?);
        }
        // Tests: the best marked attempt of each exam of the course, on the 10-point scale.
        let tests = sqlx::query(
            "SELECT b.student_id, COUNT(*) AS n, CAST(SUM(b.best) AS BIGINT) AS total FROM ( \
               SELECT a.student_id, a.exam_id, MAX(a.score_e4 * 100 / a.max_e4) AS best \
               FROM exam_attempts a JOIN exams x ON x.id = a.exam_id \
               WHERE a.school_id = $1 AND x.course_id = $2 AND a.graded_at IS NOT NULL AND a.max_e4 > 0 \
               GROUP BY a.student_id, a.exam_id) b GROUP BY b.student_id",
        )
        .bind(course.school_id.to_string())
        .bind(course.id.to_string())
        .fetch_all(self.pool())
        .await?;
        let mut tests_by = std::collections::HashMap::new();
        for r in &tests {
            tests_by.insert(
                get_str(r, "student_id")?,
                (get_i64(r, "n")?, opt_i64(r, "total")?.unwrap_or(0)),
            );
        }
        let totals = self.course_totals(course).await?;
        Ok(students
            .into_iter()
            .map(|s| {
                let (opened, pct_sum) = s
                    .user_id
                    .and_then(|u| by_user.get(&u.to_string()).copied())
                    .unwrap_or((0, 0));
                let (submitted, graded, late, score_sum) = by_student
                    .get(&s.student_id.to_string())
                    .copied()
                    .unwrap_or((0, 0, 0, 0));
                let done_due = done_by.get(&s.student_id.to_string()).copied().unwrap_or(0);
                let (n_tests, test_total) = tests_by
                    .get(&s.student_id.to_string())
                    .copied()
                    .unwrap_or((0, 0));
                StudentProgress {
                    student_id: s.student_id,
                    code: s.code,
                    full_name: s.full_name,
                    opened,
                    video_percent: if totals.videos > 0 {
                        pct_sum / totals.videos
                    } else {
                        0
                    },
                    submitted,
                    graded,
                    late,
                    missing: (due - done_due).max(0),
                    average: (graded > 0).then(|| (score_sum * 2 + graded) / (graded * 2)),
                    tests: n_tests,
                    test_average: (n_tests > 0).then(|| (test_total * 2 + n_tests) / (n_tests * 2)),
                }
            })
            .collect())
    }
}

/// The accounts of a student's parents and guardians (who follow their grades).
pub(crate) async fn guardian_users(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    school_id: Id,
    student_id: Id,
) -> DbResult<Vec<Id>> {
    let rows =
        sqlx::query("SELECT user_id FROM guardianships WHERE school_id = $1 AND student_id = $2")
            .bind(school_id.to_string())
            .bind(student_id.to_string())
            .fetch_all(&mut **tx)
            .await?;
    rows.iter().map(|r| get_id(r, "user_id")).collect()
}

fn file_row(r: &AnyRow) -> DbResult<LearningFile> {
    Ok(LearningFile {
        id: get_id(r, "id")?,
        storage_key: get_str(r, "storage_key")?,
        file_name: get_str(r, "file_name")?,
        content_type: get_str(r, "content_type")?,
        size: get_i64(r, "size")?,
    })
}

fn post_row(r: &AnyRow) -> DbResult<Post> {
    Ok(Post {
        id: get_id(r, "id")?,
        author_name: get_str(r, "full_name")?,
        title: get_str(r, "title")?,
        body: get_str(r, "body")?,
        created_at: get_i64(r, "created_at")?,
    })
}

fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(n).collect();
        out.push('…');
        out
    }
}

type FileParts = (Option<String>, Option<String>, Option<String>, Option<i64>);

fn split_file(f: &Option<(String, String, String, i64)>) -> FileParts {
    match f {
        Some((k, n, c, s)) => (Some(k.clone()), Some(n.clone()), Some(c.clone()), Some(*s)),
        None => (None, None, None, None),
    }
}

fn version_row(r: &AnyRow) -> DbResult<MaterialVersion> {
    Ok(MaterialVersion {
        version: get_i64(r, "version")?,
        title: get_str(r, "title")?,
        body: get_str(r, "body")?,
        url: get_opt_str(r, "url")?,
        file_key: get_opt_str(r, "file_key")?,
        file_name: get_opt_str(r, "file_name")?,
        content_type: get_opt_str(r, "content_type")?,
        size: opt_i64(r, "size")?,
        created_at: get_i64(r, "created_at")?,
    })
}

async fn insert_version(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    school_id: Id,
    material_id: Id,
    version: i64,
    input: &MaterialInput,
    actor: Id,
) -> DbResult<()> {
    let (key, name, ctype, size) = split_file(&input.file);
    sqlx::query(
        "INSERT INTO material_versions (id, school_id, material_id, version, title, body, url, file_key, file_name, content_type, size, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(new_id().to_string())
    .bind(school_id.to_string())
    .bind(material_id.to_string())
    .bind(version)
    .bind(&input.title)
    .bind(&input.body)
    .bind(input.url.clone())
    .bind(key)
    .bind(name)
    .bind(ctype)
    .bind(size)
    .bind(actor.to_string())
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_file(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    school_id: Id,
    owner_kind: &str,
    owner_id: Id,
    f: &NewFile,
) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO learning_files (id, school_id, owner_kind, owner_id, storage_key, file_name, content_type, size, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(new_id().to_string())
    .bind(school_id.to_string())
    .bind(owner_kind)
    .bind(owner_id.to_string())
    .bind(&f.storage_key)
    .bind(&f.file_name)
    .bind(&f.content_type)
    .bind(f.size)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
