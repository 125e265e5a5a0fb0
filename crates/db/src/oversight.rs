//! Figures for the oversight dashboards of the Sở and communes, computed from use.

use crate::{Db, DbResult, Val, get_i64, get_id, get_str, now_ms};
use domain::{Id, new_id};
use std::collections::HashMap;

/// A school's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// The school year is set up.
    pub deployed: bool,
    /// Active teachers and other staff.
    pub staff: i64,
    /// Of whom active in the last 7 days.
    pub staff_active_7: i64,
    /// Of whom active in the last 30 days.
    pub staff_active_30: i64,
    /// Students studying.
    pub students: i64,
    /// Of whom active in the last 7 days.
    pub students_active_7: i64,
    /// Of whom active in the last 30 days.
    pub students_active_30: i64,
    /// Parent accounts.
    pub parents: i64,
    /// Of which have activated their account.
    pub parents_connected: i64,
    /// Class announcements in the last 30 days.
    pub announcements_30: i64,
    /// Parent–teacher messages in the last 30 days.
    pub messages_30: i64,
    /// Learning materials in the school library (digitised).
    pub materials: i64,
    /// Of which approved by the principal (Circular 09 Art. 10).
    pub materials_approved: i64,
    /// Homework and self-study tasks given.
    pub tasks: i64,
    /// Periods planned in lessons this school year.
    pub periods_planned: i64,
    /// Of which taught online, replacing face-to-face teaching.
    pub periods_online: i64,
}

/// The grouped counts of [`Db::coverage_within`]: one query per table, each `GROUP BY school_id`
/// over the schools of the subtree, added into the school's [`Coverage`] by `fill`.
///
/// Each query binds the subtree pattern as `$1` and then the cut-offs it names (PostgreSQL
/// refuses parameters a statement does not use).
type Fill = fn(&mut Coverage, &[i64]);

/// The cut-offs a grouped query binds after the pattern.
#[derive(Clone, Copy)]
enum Since {
    /// None.
    Nothing,
    /// `$2`: 30 days ago.
    Month,
    /// `$2`: 7 days ago, `$3`: 30 days ago.
    WeekAndMonth,
}

const GROUPED: &[(&str, Since, Fill)] = &[
    (
        "SELECT school_id, COUNT(*) AS a, CAST(0 AS BIGINT) AS b, CAST(0 AS BIGINT) AS c FROM school_years \
         WHERE school_id IN (SELECT id FROM schools WHERE unit_path LIKE $1) GROUP BY school_id",
        Since::Nothing,
        |c, v| c.deployed = v[0] > 0,
    ),
    (
        "SELECT s.school_id, COUNT(*) AS a, \
         CAST(SUM(CASE WHEN u.last_active_at > $2 THEN 1 ELSE 0 END) AS BIGINT) AS b, \
         CAST(SUM(CASE WHEN u.last_active_at > $3 THEN 1 ELSE 0 END) AS BIGINT) AS c \
         FROM staff s JOIN users u ON u.id = s.user_id \
         WHERE s.school_id IN (SELECT id FROM schools WHERE unit_path LIKE $1) AND s.status = 'active' \
         GROUP BY s.school_id",
        Since::WeekAndMonth,
        |c, v| {
            c.staff = v[0];
            c.staff_active_7 = v[1];
            c.staff_active_30 = v[2];
        },
    ),
    (
        "SELECT st.school_id, COUNT(*) AS a, \
         CAST(SUM(CASE WHEN u.last_active_at > $2 THEN 1 ELSE 0 END) AS BIGINT) AS b, \
         CAST(SUM(CASE WHEN u.last_active_at > $3 THEN 1 ELSE 0 END) AS BIGINT) AS c \
         FROM students st LEFT JOIN users u ON u.id = st.user_id \
         WHERE st.school_id IN (SELECT id FROM schools WHERE unit_path LIKE $1) AND st.status = 'studying' \
         GROUP BY st.school_id",
        Since::WeekAndMonth,
        |c, v| {
            c.students = v[0];
            c.students_active_7 = v[1];
            c.students_active_30 = v[2];
        },
    ),
    (
        "SELECT g.school_id, COUNT(DISTINCT g.user_id) AS a, \
         COUNT(DISTINCT CASE WHEN u.password_hash IS NOT NULL THEN g.user_id END) AS b, CAST(0 AS BIGINT) AS c \
         FROM guardianships g JOIN users u ON u.id = g.user_id \
         WHERE g.school_id IN (SELECT id FROM schools WHERE unit_path LIKE $1) GROUP BY g.school_id",
        Since::Nothing,
        |c, v| {
            c.parents = v[0];
            c.parents_connected = v[1];
        },
    ),
    (
        "SELECT school_id, COUNT(*) AS a, CAST(0 AS BIGINT) AS b, CAST(0 AS BIGINT) AS c FROM announcements \
         WHERE school_id IN (SELECT id FROM schools WHERE unit_path LIKE $1) AND created_at > $2 \
         GROUP BY school_id",
        Since::Month,
        |c, v| c.announcements_30 = v[0],
    ),
    (
        "SELECT school_id, COUNT(*) AS a, CAST(0 AS BIGINT) AS b, CAST(0 AS BIGINT) AS c FROM messages \
         WHERE school_id IN (SELECT id FROM schools WHERE unit_path LIKE $1) AND created_at > $2 \
         GROUP BY school_id",
        Since::Month,
        |c, v| c.messages_30 = v[0],
    ),
    (
        "SELECT school_id, COUNT(*) AS a, COUNT(approved_version) AS b, CAST(0 AS BIGINT) AS c FROM materials \
         WHERE school_id IN (SELECT id FROM schools WHERE unit_path LIKE $1) GROUP BY school_id",
        Since::Nothing,
        |c, v| {
            c.materials = v[0];
            c.materials_approved = v[1];
        },
    ),
    (
        "SELECT school_id, COUNT(*) AS a, CAST(0 AS BIGINT) AS b, CAST(0 AS BIGINT) AS c FROM tasks \
         WHERE school_id IN (SELECT id FROM schools WHERE unit_path LIKE $1) GROUP BY school_id",
        Since::Nothing,
        |c, v| c.tasks = v[0],
    ),
    (
        // Summed per course from the covering index first (16 courses a school, not 160
        // lessons), then only the courses of the current year are kept.
        "SELECT l.school_id, CAST(COALESCE(SUM(l.p), 0) AS BIGINT) AS a, \
         CAST(COALESCE(SUM(l.o), 0) AS BIGINT) AS b, CAST(0 AS BIGINT) AS c \
         FROM (SELECT school_id, course_id, SUM(periods) AS p, \
               SUM(CASE WHEN form = 'online_replace' THEN periods ELSE 0 END) AS o FROM lessons \
               WHERE school_id IN (SELECT id FROM schools WHERE unit_path LIKE $1) \
               GROUP BY school_id, course_id) l \
         JOIN courses co ON co.id = l.course_id \
         JOIN school_years y ON y.id = co.year_id AND y.is_current = 1 \
         GROUP BY l.school_id",
        Since::Nothing,
        |c, v| {
            c.periods_planned = v[0];
            c.periods_online = v[1];
        },
    ),
];

/// The columns of `coverage_snapshot` after `school_id`, in [`Coverage`] order.
const SNAPSHOT_COLS: &str = "deployed, staff, staff_active_7, staff_active_30, students, \
     students_active_7, students_active_30, parents, parents_connected, announcements_30, \
     messages_30, materials, materials_approved, tasks, periods_planned, periods_online";

/// The stored figures of a subtree ([`Db::coverage_snapshot_within`]).
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// By school id; schools never counted are absent.
    pub figures: HashMap<Id, Coverage>,
    /// When the oldest of these figures was computed (unix ms); none when nothing is stored.
    pub computed_at: Option<i64>,
}

impl Db {
    /// The figures of every school within the subtree at `path`, by school id (schools without
    /// any activity get zeros). The same figures as [`Db::coverage`] school by school, in nine
    /// grouped queries whatever the number of schools: a province of 1,000 schools is one
    /// dashboard request, not 1,000 × 16 subqueries.
    pub async fn coverage_within(&self, path: &str) -> DbResult<HashMap<Id, Coverage>> {
        let now = now_ms();
        let d7 = now - 7 * 86_400_000;
        let d30 = now - 30 * 86_400_000;
        let pattern = format!("{path}%");
        let mut out: HashMap<Id, Coverage> = HashMap::new();
        for (sql, since, fill) in GROUPED {
            let q = sqlx::query(sql).bind(&pattern);
            let q = match since {
                Since::Nothing => q,
                Since::Month => q.bind(d30),
                Since::WeekAndMonth => q.bind(d7).bind(d30),
            };
            let rows = q.fetch_all(self.pool()).await?;
            for r in &rows {
                let v = [get_i64(r, "a")?, get_i64(r, "b")?, get_i64(r, "c")?];
                fill(out.entry(get_id(r, "school_id")?).or_default(), &v);
            }
        }
        Ok(out)
    }

    /// Counts the figures of every school within the subtree at `path` ([`Db::coverage_within`])
    /// and stores them in `coverage_snapshot`, replacing what was stored for those schools.
    /// The figures are stamped with the time the counting started, so their age is never
    /// understated. Returns the number of schools stored.
    pub async fn refresh_coverage_snapshot(&self, path: &str) -> DbResult<usize> {
        let started = now_ms();
        let pattern = format!("{path}%");
        let ids: Vec<String> = sqlx::query("SELECT id FROM schools WHERE unit_path LIKE $1")
            .bind(&pattern)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| get_str(r, "id"))
            .collect::<DbResult<_>>()?;
        let mut figures = self.coverage_within(path).await?;
        let rows: Vec<Vec<Val>> = ids
            .into_iter()
            .map(|id| {
                let c = figures.remove(&crate::parse_id(&id)?).unwrap_or_default();
                let mut row: Vec<Val> = vec![id.into(), i64::from(c.deployed).into()];
                row.extend(
                    [
                        c.staff,
                        c.staff_active_7,
                        c.staff_active_30,
                        c.students,
                        c.students_active_7,
                        c.students_active_30,
                        c.parents,
                        c.parents_connected,
                        c.announcements_30,
                        c.messages_30,
                        c.materials,
                        c.materials_approved,
                        c.tasks,
                        c.periods_planned,
                        c.periods_online,
                        started,
                    ]
                    .map(Val::I),
                );
                Ok(row)
            })
            .collect::<DbResult<_>>()?;
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "DELETE FROM coverage_snapshot \
             WHERE school_id IN (SELECT id FROM schools WHERE unit_path LIKE $1)",
        )
        .bind(&pattern)
        .execute(&mut *tx)
        .await?;
        crate::insert_many(
            &mut tx,
            &format!("INSERT INTO coverage_snapshot (school_id, {SNAPSHOT_COLS}, computed_at)"),
            &rows,
        )
        .await?;
        tx.commit().await?;
        Ok(rows.len())
    }

    /// The figures stored by the last [`Db::refresh_coverage_snapshot`] for the schools within
    /// the subtree at `path` (schools never counted are absent).
    pub async fn coverage_snapshot_within(&self, path: &str) -> DbResult<Snapshot> {
        let rows = sqlx::query(&format!(
            "SELECT school_id, {SNAPSHOT_COLS}, computed_at FROM coverage_snapshot \
             WHERE school_id IN (SELECT id FROM schools WHERE unit_path LIKE $1)"
        ))
        .bind(format!("{path}%"))
        .fetch_all(self.pool())
        .await?;
        let mut out = Snapshot::default();
        for r in &rows {
            let g = |c: &str| get_i64(r, c);
            let at = g("computed_at")?;
            out.computed_at = Some(out.computed_at.map_or(at, |o: i64| o.min(at)));
            out.figures.insert(
                get_id(r, "school_id")?,
                Coverage {
                    deployed: g("deployed")? != 0,
                    staff: g("staff")?,
                    staff_active_7: g("staff_active_7")?,
                    staff_active_30: g("staff_active_30")?,
                    students: g("students")?,
                    students_active_7: g("students_active_7")?,
                    students_active_30: g("students_active_30")?,
                    parents: g("parents")?,
                    parents_connected: g("parents_connected")?,
                    announcements_30: g("announcements_30")?,
                    messages_30: g("messages_30")?,
                    materials: g("materials")?,
                    materials_approved: g("materials_approved")?,
                    tasks: g("tasks")?,
                    periods_planned: g("periods_planned")?,
                    periods_online: g("periods_online")?,
                },
            );
        }
        Ok(out)
    }

    /// How many schools there are in all (the dashboards decide from it whether stored figures
    /// are worth keeping).
    pub async fn school_count(&self) -> DbResult<i64> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM schools")
            .fetch_one(self.pool())
            .await?;
        get_i64(&r, "n")
    }

    /// Marks an account active now.
    pub async fn touch_user(&self, user_id: Id) -> DbResult<()> {
        sqlx::query("UPDATE users SET last_active_at = $2 WHERE id = $1")
            .bind(user_id.to_string())
            .bind(now_ms())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The figures of one school.
    pub async fn coverage(&self, school_id: Id) -> DbResult<Coverage> {
        let now = now_ms();
        let d7 = now - 7 * 86_400_000;
        let d30 = now - 30 * 86_400_000;
        let row = sqlx::query(
            "SELECT \
             (SELECT COUNT(*) FROM school_years WHERE school_id = $1) AS years, \
             (SELECT COUNT(*) FROM staff s WHERE s.school_id = $1 AND s.status = 'active') AS staff, \
             (SELECT COUNT(*) FROM staff s JOIN users u ON u.id = s.user_id WHERE s.school_id = $1 AND s.status = 'active' AND u.last_active_at > $2) AS staff7, \
             (SELECT COUNT(*) FROM staff s JOIN users u ON u.id = s.user_id WHERE s.school_id = $1 AND s.status = 'active' AND u.last_active_at > $3) AS staff30, \
             (SELECT COUNT(*) FROM students st WHERE st.school_id = $1 AND st.status = 'studying') AS students, \
             (SELECT COUNT(*) FROM students st JOIN users u ON u.id = st.user_id WHERE st.school_id = $1 AND st.status = 'studying' AND u.last_active_at > $2) AS students7, \
             (SELECT COUNT(*) FROM students st JOIN users u ON u.id = st.user_id WHERE st.school_id = $1 AND st.status = 'studying' AND u.last_active_at > $3) AS students30, \
             (SELECT COUNT(DISTINCT g.user_id) FROM guardianships g WHERE g.school_id = $1) AS parents, \
             (SELECT COUNT(DISTINCT g.user_id) FROM guardianships g JOIN users u ON u.id = g.user_id WHERE g.school_id = $1 AND u.password_hash IS NOT NULL) AS parents_connected, \
             (SELECT COUNT(*) FROM announcements a WHERE a.school_id = $1 AND a.created_at > $3) AS announcements, \
             (SELECT COUNT(*) FROM messages m WHERE m.school_id = $1 AND m.created_at > $3) AS messages, \
             (SELECT COUNT(*) FROM materials mt WHERE mt.school_id = $1) AS materials, \
             (SELECT COUNT(*) FROM materials mt WHERE mt.school_id = $1 AND mt.approved_version IS NOT NULL) AS materials_approved, \
             (SELECT COUNT(*) FROM tasks t WHERE t.school_id = $1) AS tasks, \
             (SELECT CAST(COALESCE(SUM(l.periods), 0) AS BIGINT) FROM lessons l JOIN courses co ON co.id = l.course_id \
                JOIN school_years y ON y.id = co.year_id AND y.is_current = 1 WHERE l.school_id = $1) AS periods_planned, \
             (SELECT CAST(COALESCE(SUM(l.periods), 0) AS BIGINT) FROM lessons l JOIN courses co ON co.id = l.course_id \
                JOIN school_years y ON y.id = co.year_id AND y.is_current = 1 WHERE l.school_id = $1 AND l.form = 'online_replace') AS periods_online",
        )
        .bind(school_id.to_string())
        .bind(d7)
        .bind(d30)
        .fetch_one(self.pool())
        .await?;
        Ok(Coverage {
            deployed: get_i64(&row, "years")? > 0,
            staff: get_i64(&row, "staff")?,
            staff_active_7: get_i64(&row, "staff7")?,
            staff_active_30: get_i64(&row, "staff30")?,
            students: get_i64(&row, "students")?,
            students_active_7: get_i64(&row, "students7")?,
            students_active_30: get_i64(&row, "students30")?,
            parents: get_i64(&row, "parents")?,
            parents_connected: get_i64(&row, "parents_connected")?,
            announcements_30: get_i64(&row, "announcements")?,
            messages_30: get_i64(&row, "messages")?,
            materials: get_i64(&row, "materials")?,
            materials_approved: get_i64(&row, "materials_approved")?,
            tasks: get_i64(&row, "tasks")?,
            periods_planned: get_i64(&row, "periods_planned")?,
            periods_online: get_i64(&row, "periods_online")?,
        })
    }
}

// ----- province-scale generated data -----

/// The size of a generated province.
#[derive(Debug, Clone, Copy)]
pub struct ProvinceScale {
    /// Schools (one in ten an upper-secondary school under the Sở, the rest under communes of
    /// nine schools each).
    pub schools: usize,
    /// Students per school.
    pub students_per_school: usize,
}

/// What was generated, with the logins to look at it.
#[derive(Debug, Clone)]
pub struct GeneratedProvince {
    /// The province.
    pub province_id: Id,
    /// Its first commune.
    pub commune_id: Id,
    /// The province officer's account (login `so.quymo`).
    pub officer_id: Id,
    /// The first commune's officer (login `xa.quymo001`).
    pub commune_officer_id: Id,
    /// The schools, in order.
    pub school_ids: Vec<Id>,
    /// The principal of each school (login `<mã trường>.ht`), in school order; none for the
    /// schools that have not set up their year (one in twenty).
    pub principal_ids: Vec<Option<Id>>,
    /// Rows written.
    pub rows: usize,
}

/// A small deterministic generator (the figures are the same on every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const FAMILY: &[&str] = &[
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
    "Hồ", "Ngô", "Dương", "Lý",
];
const MIDDLE: &[&str] = &[
    "Văn", "Thị", "Minh", "Ngọc", "Đức", "Thu", "Gia", "Bảo", "Khánh",
];
const GIVEN: &[&str] = &[
    "An", "Bình", "Châu", "Dũng", "Đào", "Giang", "Hà", "Hải", "Hương", "Khoa", "Lan", "Linh",
    "Long", "Mai", "Nam", "Ngân", "Phúc", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Vy",
];

fn person(r: &mut Lcg) -> String {
    format!(
        "{} {} {}",
        FAMILY[r.below(FAMILY.len() as u64) as usize],
        MIDDLE[r.below(MIDDLE.len() as u64) as usize],
        GIVEN[r.below(GIVEN.len() as u64) as usize]
    )
}

/// Rows of one table waiting for their multi-row insert.
struct Batch {
    head: &'static str,
    rows: Vec<Vec<Val>>,
}

impl Db {
    /// Generates a province of `scale` schools with realistic activity into an empty database:
    /// units, schools, a current school year, teachers, classes, students with accounts and a
    /// parent each, lessons (one in ten taught online), materials (most approved), tasks,
    /// announcements, last-activity times spread over 40 days with a per-school engagement, and
    /// the Toán gradebook of term I. About 3 % of students lack a personal id (the exchange
    /// export reports them). Written in batched multi-row inserts, 20 schools per transaction.
    ///
    /// `password_hash` is stored for the officers, principals, teachers and two parents in
    /// three (the demo password); students get none (they sign in by activation).
    pub async fn generate_province(
        &self,
        scale: ProvinceScale,
        password_hash: &str,
    ) -> DbResult<GeneratedProvince> {
        use domain::tree::{SchoolLevel, UnitKind};
        let now = now_ms();
        let day = 86_400_000;
        let mut r = Lcg(20_252_026);
        let province = self
            .create_unit(None, UnitKind::Province, "99", "Sở GD&ĐT tỉnh Quy Mô")
            .await?;
        let communes_n = (scale.schools * 9 / 10).div_ceil(9).max(1);
        let mut communes = Vec::with_capacity(communes_n);
        for i in 0..communes_n {
            communes.push(
                self.create_unit(
                    Some(&province),
                    UnitKind::Commune,
                    &format!("99X{:03}", i + 1),
                    &format!("UBND xã Quy Mô {}", i + 1),
                )
                .await?,
            );
        }
        let mut rows_written = 0usize;
        // Officers.
        let mut tx = self.pool().begin().await?;
        let officer_id = new_id();
        let commune_officer_id = new_id();
        let mut users = Batch {
            head: "INSERT INTO users (id, username, full_name, password_hash, must_change_password, created_at, last_active_at)",
            rows: Vec::new(),
        };
        let mut grants = Batch {
            head: "INSERT INTO role_grants (id, user_id, role, unit_id, school_id, created_at)",
            rows: Vec::new(),
        };
        for (id, login, name, role, unit) in [
            (
                officer_id,
                "so.quymo",
                "Chuyên viên Sở Quy Mô",
                "province_officer",
                &province,
            ),
            (
                commune_officer_id,
                "xa.quymo001",
                "Cán bộ UBND xã Quy Mô 1",
                "commune_officer",
                &communes[0],
            ),
        ] {
            users.rows.push(vec![
                id.to_string().into(),
                login.into(),
                name.into(),
                password_hash.into(),
                0i64.into(),
                now.into(),
                now.into(),
            ]);
            grants.rows.push(vec![
                new_id().to_string().into(),
                id.to_string().into(),
                role.into(),
                unit.id.to_string().into(),
                Val::T(None),
                now.into(),
            ]);
        }
        for b in [&users, &grants] {
            crate::insert_many(&mut tx, b.head, &b.rows).await?;
        }
        tx.commit().await?;

        let mut school_ids = Vec::with_capacity(scale.schools);
        let mut principal_ids = Vec::with_capacity(scale.schools);
        let per_tx = 20;
        for start in (0..scale.schools).step_by(per_tx) {
            let mut b: Vec<Batch> = [
                "INSERT INTO schools (id, unit_id, unit_path, code, name, level, address, created_at)",
                "INSERT INTO school_years (id, school_id, name, start_date, term1_end, term2_start, end_date, is_current, created_at)",
                "INSERT INTO users (id, username, full_name, password_hash, must_change_password, created_at, last_active_at)",
                "INSERT INTO role_grants (id, user_id, role, unit_id, school_id, created_at)",
                "INSERT INTO staff (id, school_id, user_id, full_name, position, subject_group, status, created_at)",
                "INSERT INTO subjects (id, school_id, code, name, grade, periods_per_year, created_at)",
                "INSERT INTO classes (id, school_id, year_id, name, grade, homeroom_staff_id, created_at)",
                "INSERT INTO courses (id, school_id, year_id, class_id, subject_id, created_at)",
                "INSERT INTO students (id, school_id, user_id, code, personal_id, full_name, name_folded, birth_date, gender, ethnicity, status, created_at, updated_at)",
                "INSERT INTO enrollments (id, school_id, student_id, year_id, class_id, created_at)",
                "INSERT INTO guardianships (id, school_id, student_id, user_id, relation, created_at)",
                "INSERT INTO lessons (id, school_id, course_id, title, position, form, periods, created_by, created_at, updated_at)",
                "INSERT INTO materials (id, school_id, owner_id, subject_name, grade, title, title_folded, kind, body, status, version, approved_version, created_at, updated_at)",
                "INSERT INTO tasks (id, school_id, course_id, title, opens_at, due_at, late_policy, created_by, created_at, updated_at)",
                "INSERT INTO announcements (id, school_id, class_id, author_id, title, body, created_at)",
                "INSERT INTO grade_entries (school_id, course_id, student_id, term, kind, slot, value, source, updated_at)",
            ]
            .into_iter()
            .map(|head| Batch {
                head,
                rows: Vec::new(),
            })
            .collect();
            let [
                schools,
                years,
                users,
                grants,
                staff,
                subjects,
                classes,
                courses,
                students,
                enrollments,
                guardians,
                lessons,
                materials,
                tasks,
                announcements,
                grades,
            ] = &mut b[..]
            else {
                unreachable!("sixteen tables")
            };
            for n in start..(start + per_tx).min(scale.schools) {
                let upper = n % 10 == 9;
                let (unit, level, grades_of): (&crate::org::Unit, SchoolLevel, &[i64]) = if upper {
                    (&province, SchoolLevel::UpperSecondary, &[10, 11, 12])
                } else if n % 2 == 0 {
                    (
                        &communes[(n - n / 10) / 9 % communes_n],
                        SchoolLevel::Primary,
                        &[1, 2, 3, 4, 5],
                    )
                } else {
                    (
                        &communes[(n - n / 10) / 9 % communes_n],
                        SchoolLevel::LowerSecondary,
                        &[6, 7, 8, 9],
                    )
                };
                let sid = new_id();
                let s = sid.to_string();
                let code = format!("99{:05}", n + 1);
                let kind = match level {
                    SchoolLevel::Primary => "Tiểu học",
                    SchoolLevel::LowerSecondary => "THCS",
                    _ => "THPT",
                };
                school_ids.push(sid);
                schools.rows.push(vec![
                    s.clone().into(),
                    unit.id.to_string().into(),
                    unit.path.clone().into(),
                    code.clone().into(),
                    format!("Trường {kind} Quy Mô {}", n + 1).into(),
                    level.code().into(),
                    format!("Xã Quy Mô {}", n / 9 + 1).into(),
                    now.into(),
                ]);
                // One school in twenty has not set up its year: not deployed.
                if n % 20 == 7 {
                    principal_ids.push(None);
                    continue;
                }
                let year = new_id().to_string();
                years.rows.push(vec![
                    year.clone().into(),
                    s.clone().into(),
                    "2025-2026".into(),
                    "2025-09-05".into(),
                    "2026-01-15".into(),
                    "2026-01-19".into(),
                    "2026-05-31".into(),
                    1i64.into(),
                    now.into(),
                ]);
                // How much this school uses lophoc: 0.1 … 1.0.
                let engagement = 1 + r.below(10);
                let active = |r: &mut Lcg| -> i64 {
                    if r.below(10) < engagement {
                        now - r.below(30) as i64 * day - r.below(day as u64) as i64
                    } else if r.below(2) == 0 {
                        now - (31 + r.below(60)) as i64 * day
                    } else {
                        0
                    }
                };
                // Staff: a principal and 15 teachers.
                let mut teacher_users = Vec::new();
                let mut teacher_staff = Vec::new();
                for j in 0..16 {
                    let uid = new_id();
                    let stid = new_id().to_string();
                    let name = person(&mut r);
                    let login = if j == 0 {
                        format!("{code}.ht")
                    } else {
                        format!("{code}.gv{j}")
                    };
                    users.rows.push(vec![
                        uid.to_string().into(),
                        login.into(),
                        name.clone().into(),
                        password_hash.into(),
                        0i64.into(),
                        now.into(),
                        if j == 0 { now } else { active(&mut r) }.into(),
                    ]);
                    staff.rows.push(vec![
                        stid.clone().into(),
                        s.clone().into(),
                        uid.to_string().into(),
                        name.into(),
                        if j == 0 {
                            "Hiệu trưởng"
                        } else {
                            "Giáo viên"
                        }
                        .into(),
                        if j % 2 == 0 {
                            "Tự nhiên"
                        } else {
                            "Xã hội"
                        }
                        .into(),
                        "active".into(),
                        now.into(),
                    ]);
                    grants.rows.push(vec![
                        new_id().to_string().into(),
                        uid.to_string().into(),
                        if j == 0 { "principal" } else { "teacher" }.into(),
                        Val::T(None),
                        s.clone().into(),
                        now.into(),
                    ]);
                    if j == 0 {
                        principal_ids.push(Some(uid));
                    } else {
                        teacher_users.push(uid);
                        teacher_staff.push(stid);
                    }
                }
                // Subjects per grade.
                let mut subject_of = Vec::new();
                for g in grades_of {
                    let toan = new_id().to_string();
                    let van = new_id().to_string();
                    let periods = if *g <= 5 { 175 } else { 140 };
                    for (id, c, nm) in [(&toan, "TOAN", "Toán"), (&van, "NGU_VAN", "Ngữ văn")] {
                        subjects.rows.push(vec![
                            id.clone().into(),
                            s.clone().into(),
                            c.into(),
                            if *g <= 5 && c == "NGU_VAN" {
                                "Tiếng Việt"
                            } else {
                                nm
                            }
                            .into(),
                            (*g).into(),
                            periods.into(),
                            now.into(),
                        ]);
                    }
                    subject_of.push((*g, toan, van));
                }
                // Classes of about 38.
                let class_n = scale.students_per_school.div_ceil(38).max(1);
                let mut class_rows = Vec::new();
                for c in 0..class_n {
                    let (g, toan, van) = &subject_of[c % subject_of.len()];
                    let cid = new_id().to_string();
                    let name = format!("{g}A{}", c / subject_of.len() + 1);
                    classes.rows.push(vec![
                        cid.clone().into(),
                        s.clone().into(),
                        year.clone().into(),
                        name.into(),
                        (*g).into(),
                        teacher_staff[c % teacher_staff.len()].clone().into(),
                        now.into(),
                    ]);
                    let toan_course = new_id().to_string();
                    for (course, subject) in [(&toan_course, toan), (&new_id().to_string(), van)] {
                        courses.rows.push(vec![
                            course.clone().into(),
                            s.clone().into(),
                            year.clone().into(),
                            cid.clone().into(),
                            subject.clone().into(),
                            now.into(),
                        ]);
                        let teacher = teacher_users[c % teacher_users.len()].to_string();
                        for l in 0..10 {
                            let online = r.below(100) < 3 * engagement;
                            lessons.rows.push(vec![
                                new_id().to_string().into(),
                                s.clone().into(),
                                course.clone().into(),
                                format!("Bài {}", l + 1).into(),
                                (l as i64).into(),
                                if online {
                                    "online_replace"
                                } else {
                                    "face_to_face"
                                }
                                .into(),
                                1i64.into(),
                                teacher.clone().into(),
                                now.into(),
                                now.into(),
                            ]);
                        }
                        for t in 0..(engagement / 3) {
                            tasks.rows.push(vec![
                                new_id().to_string().into(),
                                s.clone().into(),
                                course.clone().into(),
                                format!("Bài tập {}", t + 1).into(),
                                (now - 20 * day).into(),
                                (now + 7 * day).into(),
                                "accept_late".into(),
                                teacher.clone().into(),
                                now.into(),
                                now.into(),
                            ]);
                        }
                    }
                    if engagement > 3 {
                        announcements.rows.push(vec![
                            new_id().to_string().into(),
                            s.clone().into(),
                            cid.clone().into(),
                            teacher_users[c % teacher_users.len()].to_string().into(),
                            "Lịch kiểm tra giữa kỳ".into(),
                            "Các em ôn tập theo đề cương đã gửi.".into(),
                            (now - r.below(25) as i64 * day).into(),
                        ]);
                    }
                    class_rows.push((cid, *g, toan_course));
                }
                // Students, one parent each.
                for k in 0..scale.students_per_school {
                    let (cid, g, toan_course) = &class_rows[k % class_rows.len()];
                    let uid = new_id().to_string();
                    let stid = new_id().to_string();
                    let pid = new_id().to_string();
                    let name = person(&mut r);
                    let student_code = format!("{code}{k:04}");
                    users.rows.push(vec![
                        uid.clone().into(),
                        student_code.to_lowercase().into(),
                        name.clone().into(),
                        Val::T(None),
                        1i64.into(),
                        now.into(),
                        active(&mut r).into(),
                    ]);
                    let birth_year = 2025 - 6 - (*g - 1);
                    students.rows.push(vec![
                        stid.clone().into(),
                        s.clone().into(),
                        uid.into(),
                        student_code.into(),
                        if r.below(100) < 3 {
                            Val::T(None)
                        } else {
                            format!(
                                "0{:02}{}{:08}",
                                1 + n % 96,
                                2 + birth_year / 100 % 10,
                                r.below(100_000_000)
                            )
                            .chars()
                            .take(12)
                            .collect::<String>()
                            .into()
                        },
                        name.clone().into(),
                        domain::text::fold(&name).into(),
                        format!("{birth_year}-{:02}-{:02}", 1 + r.below(12), 1 + r.below(28))
                            .into(),
                        if k % 2 == 0 { "female" } else { "male" }.into(),
                        "Kinh".into(),
                        "studying".into(),
                        now.into(),
                        now.into(),
                    ]);
                    enrollments.rows.push(vec![
                        new_id().to_string().into(),
                        s.clone().into(),
                        stid.clone().into(),
                        year.clone().into(),
                        cid.clone().into(),
                        now.into(),
                    ]);
                    users.rows.push(vec![
                        pid.clone().into(),
                        format!("ph.{}", stid.replace('-', "")).into(),
                        person(&mut r).into(),
                        if r.below(3) < 2 {
                            Val::T(Some(password_hash.to_owned()))
                        } else {
                            Val::T(None)
                        },
                        0i64.into(),
                        now.into(),
                        active(&mut r).into(),
                    ]);
                    guardians.rows.push(vec![
                        new_id().to_string().into(),
                        s.clone().into(),
                        stid.clone().into(),
                        pid.into(),
                        if k % 2 == 0 { "Mẹ" } else { "Cha" }.into(),
                        now.into(),
                    ]);
                    // Term I of Toán: four regular scores, mid-term, end-term (primary: levels).
                    let score = |r: &mut Lcg| {
                        let t = 40 + r.below(61);
                        if t.is_multiple_of(10) {
                            format!("{}", t / 10)
                        } else {
                            format!("{},{}", t / 10, t % 10)
                        }
                    };
                    let cells: Vec<(&str, i64, String)> = if *g <= 5 {
                        let lv = ["T", "H", "H", "C"][r.below(4) as usize].to_owned();
                        vec![("MGK", 1, lv.clone()), ("MCK", 1, lv)]
                    } else {
                        let mut v: Vec<(&str, i64, String)> =
                            (1..=4).map(|i| ("TX", i, score(&mut r))).collect();
                        v.push(("GK", 1, score(&mut r)));
                        v.push(("CK", 1, score(&mut r)));
                        v
                    };
                    for (kind, slot, value) in cells {
                        grades.rows.push(vec![
                            s.clone().into(),
                            toan_course.clone().into(),
                            stid.clone().into(),
                            1i64.into(),
                            kind.into(),
                            slot.into(),
                            value.into(),
                            "manual".into(),
                            now.into(),
                        ]);
                    }
                }
                // The library: 20 materials, most approved.
                for m in 0..20 {
                    let title = format!("Học liệu {} – {kind} Quy Mô {}", m + 1, n + 1);
                    let approved = r.below(10) < engagement;
                    materials.rows.push(vec![
                        new_id().to_string().into(),
                        s.clone().into(),
                        teacher_users[m % teacher_users.len()].to_string().into(),
                        "Toán".into(),
                        grades_of[m % grades_of.len()].into(),
                        title.clone().into(),
                        domain::text::fold(&title).into(),
                        "text".into(),
                        "Nội dung".into(),
                        if approved { "approved" } else { "draft" }.into(),
                        1i64.into(),
                        Val::OptI(approved.then_some(1)),
                        now.into(),
                        now.into(),
                    ]);
                }
            }
            let mut tx = self.pool().begin().await?;
            for batch in &b {
                rows_written += batch.rows.len();
                crate::insert_many(&mut tx, batch.head, &batch.rows).await?;
            }
            tx.commit().await?;
        }
        if self.backend() == crate::Backend::Postgres {
            // After a bulk load PostgreSQL's planner still believes the tables are nearly
            // empty (autovacuum analyses them later) and picks nested loops over 300,000
            // rows; refreshed statistics make the first drill-downs use the indexes.
            sqlx::query("ANALYZE").execute(self.pool()).await?;
        }
        Ok(GeneratedProvince {
            province_id: province.id,
            commune_id: communes[0].id,
            officer_id,
            commune_officer_id,
            school_ids,
            principal_ids,
            rows: rows_written,
        })
    }
}
