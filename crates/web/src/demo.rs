//! The demo province: one Sở, two communes, six schools of every level (one THPT and one GDTX
//! centre directly under the Sở), with staff, classes, students and parents — enough to try
//! every screen. Loaded by `lophoc serve --demo` into an empty database, and by the tests.

use crate::auth::hash_password;
use db::Db;
use db::accounts::NewUser;
use db::org::School;
use db::roster::ImportStudent;
use domain::auth::Role;
use domain::calendar::{default_year, school_year_of};
use domain::people::{Gender, StudentStatus};
use domain::tree::{SchoolLevel, UnitKind};
use time::Date;

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "lophoc@2025";

/// A demo login to print.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    /// Role label.
    pub role: &'static str,
    /// What to type as the login.
    pub login: String,
    /// Where they work.
    pub place: String,
}

const FAMILY: &[&str] = &[
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô", "Dương", "Lý",
];
const MIDDLE_M: &[&str] = &["Văn", "Đức", "Minh", "Quốc", "Gia", "Hữu", "Thành", "Anh"];
const MIDDLE_F: &[&str] = &[
    "Thị", "Ngọc", "Thu", "Phương", "Thanh", "Bảo", "Khánh", "Minh",
];
const GIVEN_M: &[&str] = &[
    "An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hiếu", "Hưng", "Khôi", "Long", "Nam", "Phúc",
    "Quân", "Sơn", "Tùng", "Vinh",
];
const GIVEN_F: &[&str] = &[
    "Anh", "Chi", "Diệp", "Giang", "Hà", "Hằng", "Hương", "Lan", "Linh", "Mai", "Ngân", "Nhung",
    "Quỳnh", "Thảo", "Trang", "Yến",
];

/// A tiny deterministic generator, so every demo has the same people.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.next() % xs.len()]
    }

    fn name(&mut self, gender: Gender) -> String {
        let (mid, given) = match gender {
            Gender::Male => (MIDDLE_M, GIVEN_M),
            Gender::Female => (MIDDLE_F, GIVEN_F),
        };
        format!(
            "{} {} {}",
            self.pick(FAMILY),
            self.pick(mid),
            self.pick(given)
        )
    }
}

struct DemoSchool {
    code: &'static str,
    name: &'static str,
    level: SchoolLevel,
    commune: Option<usize>,
    classes: &'static [&'static str],
}

const SCHOOLS: &[DemoSchool] = &[
    DemoSchool {
        code: "37THGV01",
        name: "Trường Tiểu học Gia Viễn A",
        level: SchoolLevel::Primary,
        commune: Some(0),
        classes: &["1A", "3A", "5A"],
    },
    DemoSchool {
        code: "37THCSGV",
        name: "Trường THCS Gia Viễn",
        level: SchoolLevel::LowerSecondary,
        commune: Some(0),
        classes: &["6A1", "6A2", "7A1", "9A1"],
    },
    DemoSchool {
        code: "37THDTH",
        name: "Trường Tiểu học Đinh Tiên Hoàng",
        level: SchoolLevel::Primary,
        commune: Some(1),
        classes: &["2A", "4A"],
    },
    DemoSchool {
        code: "37THCSTHS",
        name: "Trường THCS Trương Hán Siêu",
        level: SchoolLevel::LowerSecondary,
        commune: Some(1),
        classes: &["6A", "8A"],
    },
    DemoSchool {
        code: "37THPTLVT",
        name: "Trường THPT Lương Văn Tụy",
        level: SchoolLevel::UpperSecondary,
        commune: None,
        classes: &["10A1", "11A1", "12A1"],
    },
    DemoSchool {
        code: "37GDTXNB",
        name: "Trung tâm GDNN-GDTX Ninh Bình",
        level: SchoolLevel::Continuing,
        commune: None,
        classes: &["10B", "11B"],
    },
];

/// Loads the demo province into an empty database and returns the logins to print.
pub async fn load(db: &Db) -> anyhow::Result<Vec<DemoLogin>> {
    anyhow::ensure!(
        db.is_empty().await?,
        "the database is not empty; the demo loads only into a new one"
    );
    // One hash for every demo account: hashing hundreds of passwords would slow start-up, and
    // demo accounts are not secret.
    let hash = hash_password(DEMO_PASSWORD.into()).await?;
    let mut rng = Lcg(2025);
    let mut logins = Vec::new();

    let ministry = db
        .create_unit(None, UnitKind::Ministry, "BGDDT", "Bộ Giáo dục và Đào tạo")
        .await?;
    let province = db
        .create_unit(
            Some(&ministry),
            UnitKind::Province,
            "37",
            "Sở GD&ĐT tỉnh Ninh Bình",
        )
        .await?;
    let communes = [
        db.create_unit(Some(&province), UnitKind::Commune, "GV", "UBND xã Gia Viễn")
            .await?,
        db.create_unit(
            Some(&province),
            UnitKind::Commune,
            "HL",
            "UBND phường Hoa Lư",
        )
        .await?,
    ];

    let staff_user = |username: &str, full_name: &str| NewUser {
        username: username.into(),
        full_name: full_name.into(),
        password_hash: Some(hash.clone()),
        must_change_password: false,
        ..NewUser::default()
    };

    let admin = db
        .create_user(&staff_user("admin", "Quản trị hệ thống"))
        .await?;
    db.grant_role(admin.id, Role::SystemAdmin, Some(ministry.id), None)
        .await?;
    logins.push(DemoLogin {
        role: Role::SystemAdmin.label(),
        login: "admin".into(),
        place: "toàn hệ thống".into(),
    });
    let officer = db
        .create_user(&staff_user("so.chuyenvien", "Phạm Thu Hương"))
        .await?;
    db.grant_role(officer.id, Role::ProvinceOfficer, Some(province.id), None)
        .await?;
    logins.push(DemoLogin {
        role: Role::ProvinceOfficer.label(),
        login: "so.chuyenvien".into(),
        place: province.name.clone(),
    });
    let commune_officer = db
        .create_user(&staff_user("xa.canbo", "Đinh Văn Khoa"))
        .await?;
    db.grant_role(
        commune_officer.id,
        Role::CommuneOfficer,
        Some(communes[0].id),
        None,
    )
    .await?;
    logins.push(DemoLogin {
        role: Role::CommuneOfficer.label(),
        login: "xa.canbo".into(),
        place: communes[0].name.clone(),
    });

    let year_start = school_year_of(time::OffsetDateTime::now_utc().date());
    let mut phone_seq = 1u32;
    let mut code_seq = 1u32;
    for (i, d) in SCHOOLS.iter().enumerate() {
        let unit = match d.commune {
            Some(c) => &communes[c],
            None => &province,
        };
        let school = db
            .create_school(unit, d.code, d.name, d.level, "tỉnh Ninh Bình")
            .await?;
        db.seed_subjects(school.id, d.level.grades()).await?;
        let year = db
            .create_year(school.id, default_year(year_start), None)
            .await?;
        let featured = d.code == "37THCSGV";

        // Staff: a principal, a school admin and teachers; the featured THCS gets the named
        // demo accounts.
        let mut teachers = Vec::new();
        let principal_login = if featured {
            "ht.thcs".to_owned()
        } else {
            format!("ht.{}", d.code.to_lowercase())
        };
        let principal_name = rng.name(Gender::Female);
        db.create_staff(
            school.id,
            &staff_user(&principal_login, &principal_name),
            "Hiệu trưởng",
            "",
            Role::Principal,
            None,
        )
        .await?;
        if featured {
            logins.push(DemoLogin {
                role: Role::Principal.label(),
                login: principal_login.clone(),
                place: school.name.clone(),
            });
            db.create_staff(
                school.id,
                &staff_user("qt.thcs", "Ngô Thanh Tâm"),
                "Giáo vụ",
                "",
                Role::SchoolAdmin,
                None,
            )
            .await?;
            logins.push(DemoLogin {
                role: Role::SchoolAdmin.label(),
                login: "qt.thcs".into(),
                place: school.name.clone(),
            });
            let head = db
                .create_staff(
                    school.id,
                    &staff_user("tt.toan", "Lê Minh Tuấn"),
                    "Tổ trưởng tổ Toán – Tin",
                    "Toán – Tin",
                    Role::Teacher,
                    None,
                )
                .await?;
            db.add_staff_role(school.id, head.id, Role::GroupHead)
                .await?;
            logins.push(DemoLogin {
                role: Role::GroupHead.label(),
                login: "tt.toan".into(),
                place: school.name.clone(),
            });
            let gv = db
                .create_staff(
                    school.id,
                    &staff_user("gv.toan", "Trần Thị Mai"),
                    "Giáo viên",
                    "Toán – Tin",
                    Role::Teacher,
                    None,
                )
                .await?;
            logins.push(DemoLogin {
                role: Role::Teacher.label(),
                login: "gv.toan".into(),
                place: school.name.clone(),
            });
            teachers.push(gv);
            teachers.push(head);
        }
        for t in 0..3 {
            let g = if t % 2 == 0 {
                Gender::Female
            } else {
                Gender::Male
            };
            let login = format!("gv{}.{}", t + 1, d.code.to_lowercase());
            teachers.push(
                db.create_staff(
                    school.id,
                    &staff_user(&login, &rng.name(g)),
                    "Giáo viên",
                    "",
                    Role::Teacher,
                    None,
                )
                .await?,
            );
        }

        // Students and parents go through the same path as an Excel import.
        let mut rows = Vec::new();
        for class in d.classes {
            let grade = crate::imports::grade_from_class(class).unwrap_or(1);
            for _ in 0..18 {
                let gender = if rng.next().is_multiple_of(2) {
                    Gender::Male
                } else {
                    Gender::Female
                };
                let birth_year = year_start - 5 - i32::from(grade);
                let birth = Date::from_ordinal_date(birth_year, 1 + (rng.next() % 365) as u16)?;
                let full_name = rng.name(gender);
                let family = full_name.split(' ').next().unwrap_or("Nguyễn").to_owned();
                let phone = format!("09120{phone_seq:05}");
                phone_seq += 1;
                rows.push(ImportStudent {
                    code: format!("37{:02}{code_seq:06}", i + 1),
                    personal_id: None,
                    full_name,
                    birth_date: birth,
                    gender,
                    ethnicity: if rng.next().is_multiple_of(10) {
                        "Mường".into()
                    } else {
                        "Kinh".into()
                    },
                    status: StudentStatus::Studying,
                    class_name: (*class).to_owned(),
                    grade: i64::from(grade),
                    guardians: vec![(
                        Some(format!(
                            "{} {} {}",
                            family,
                            rng.pick(MIDDLE_M),
                            rng.pick(GIVEN_M)
                        )),
                        phone,
                        "Cha".into(),
                    )],
                });
                code_seq += 1;
            }
        }
        db.apply_roster(school.id, year.id, &rows, None, None)
            .await?;
        let classes = db.classes(school.id, year.id).await?;
        for (n, c) in classes.iter().enumerate() {
            db.set_homeroom(school.id, c.id, Some(teachers[n % teachers.len()].id))
                .await?;
        }
        assign_teachers(db, &school, &classes, &teachers).await?;

        if featured {
            let first = db
                .students(
                    school.id,
                    Some(year.id),
                    &db::roster::StudentFilter::default(),
                )
                .await?;
            let student = first
                .iter()
                .find(|s| s.class_name.as_deref() == Some("6A1"))
                .unwrap_or(&first[0]);
            if let Some(uid) = student.user_id {
                db.rename_user(uid, "hs.demo").await?;
                db.set_password(uid, &hash, false).await?;
            }
            logins.push(DemoLogin {
                role: Role::Student.label(),
                login: "hs.demo".into(),
                place: format!(
                    "{} – lớp {}",
                    school.name,
                    student.class_name.clone().unwrap_or_default()
                ),
            });
            // A classmate, for trying the live class with two students.
            if let Some(mate) = first.iter().find(|s| {
                s.class_name == student.class_name && s.id != student.id && s.user_id.is_some()
            }) && let Some(uid) = mate.user_id
            {
                db.rename_user(uid, "hs.demo2").await?;
                db.set_password(uid, &hash, false).await?;
                logins.push(DemoLogin {
                    role: Role::Student.label(),
                    login: "hs.demo2".into(),
                    place: format!(
                        "{} – lớp {}",
                        school.name,
                        mate.class_name.clone().unwrap_or_default()
                    ),
                });
            }
        }
    }
    // The demo parent (0912000001): father of a pupil of the first, primary school, and
    // guardian of the demo student at the THCS, to show children in two schools.
    let parent = db
        .user_by_login("0912000001")
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo parent missing"))?;
    db.set_password(parent.id, &hash, false).await?;
    let thcs = db.school_by_code("37THCSGV").await?;
    let thcs_year = db
        .current_year(thcs.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo year missing"))?;
    let hs = db.user_by_username("hs.demo").await?;
    let child = db
        .student_by_user(hs.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo student missing"))?;
    let row = ImportStudent {
        code: child.code.clone(),
        personal_id: child.personal_id.clone(),
        full_name: child.full_name.clone(),
        birth_date: child.birth_date,
        gender: child.gender,
        ethnicity: child.ethnicity.clone(),
        status: child.status,
        class_name: child.class_name.clone().unwrap_or_else(|| "6A1".into()),
        grade: 6,
        guardians: vec![(
            Some(parent.full_name.clone()),
            "0912000001".into(),
            "Người giám hộ".into(),
        )],
    };
    db.apply_roster(thcs.id, thcs_year.id, &[row], None, None)
        .await?;
    logins.push(DemoLogin {
        role: Role::Parent.label(),
        login: "0912000001".into(),
        place: "2 con: Tiểu học Gia Viễn A và THCS Gia Viễn".into(),
    });
    seed_learning(db, &thcs, thcs_year.id).await?;
    crate::pages::attendance::seed_demo(db, &thcs).await?;
    // Surveys: an open device survey of the Sở, answered by THCS Gia Viễn.
    crate::pages::surveys::seed_demo(db).await?;
    // Decision 4725: last year's published self-assessment of the THCS and this year's draft.
    crate::pages::self_assessment::seed_demo(db, &thcs).await?;
    Ok(logins)
}

/// A first Toán 6A1 course to explore: a topic, three lessons (one taught online), an
/// approved material with math and an open homework task.
async fn seed_learning(db: &Db, school: &School, year_id: domain::Id) -> anyhow::Result<()> {
    use db::learning::{LessonInput, MaterialInput, TaskInput};
    use domain::learning::{LatePolicy, LessonForm, MaterialKind, MaterialStatus, ReviewStep};
    db.ensure_courses(school.id, year_id).await?;
    let gv = db.user_by_username("gv.toan").await?;
    let head = db.user_by_username("tt.toan").await?;
    let principal = db.user_by_username("ht.thcs").await?;
    let Some(course) = db
        .courses_taught(gv.id)
        .await?
        .into_iter()
        .find(|c| c.class_name == "6A1" && c.subject_code == "TOAN")
    else {
        return Ok(());
    };
    let topic = db
        .create_topic(&course, "Chương 1. Tập hợp các số tự nhiên")
        .await?;
    let mut lessons = Vec::new();
    for (title, form, periods) in [
        ("Bài 1. Tập hợp", LessonForm::FaceToFace, 2),
        ("Bài 2. Cách ghi số tự nhiên", LessonForm::OnlineReplace, 1),
        (
            "Bài 3. Thứ tự trong tập hợp các số tự nhiên",
            LessonForm::OnlineSupport,
            1,
        ),
    ] {
        lessons.push(
            db.create_lesson(
                &course,
                &LessonInput {
                    topic_id: Some(topic.id),
                    title: title.into(),
                    form,
                    date: None,
                    periods,
                    body: "Đọc học liệu, làm ví dụ rồi làm bài tập. Hỏi cô trong mục Hỏi đáp nếu chưa hiểu."
                        .into(),
                },
                gv.id,
            )
            .await?,
        );
    }
    let material = db
        .create_material(
            school.id,
            gv.id,
            MaterialKind::Text,
            &MaterialInput {
                subject_name: "Toán".into(),
                grade: Some(6),
                title: "Hệ thập phân và hệ La Mã".into(),
                body: "Trong hệ thập phân, mỗi chữ số có giá trị theo vị trí: \
                       $\\overline{abc} = 100a + 10b + c$.\n\n\
                       Số La Mã: I = 1, V = 5, X = 10; ví dụ XIV = 14."
                    .into(),
                licence: "CC BY 4.0".into(),
                attribution: "Tổ Toán – Tin, THCS Gia Viễn".into(),
                ..MaterialInput::default()
            },
        )
        .await?;
    let mut m = db.material(school.id, material).await?;
    for (step, to, who) in [
        (ReviewStep::Submit, MaterialStatus::InReview, gv.id),
        (ReviewStep::Endorse, MaterialStatus::Endorsed, head.id),
        (ReviewStep::Approve, MaterialStatus::Approved, principal.id),
    ] {
        db.review_material(&m, step, to, "", who).await?;
        m = db.material(school.id, material).await?;
    }
    db.attach_material(&lessons[1], material).await?;
    // Live sessions: one starting in ten minutes (its room is already open) and one next week.
    let now = db::now_ms();
    let minute = 60_000;
    db.create_live_sessions(
        &course,
        Some(lessons[1].id),
        "Ôn tập: cách ghi số tự nhiên",
        &[(now + 10 * minute, now + 55 * minute)],
        gv.id,
    )
    .await?;
    db.create_live_sessions(
        &course,
        Some(lessons[2].id),
        "Thứ tự trong tập hợp các số tự nhiên",
        &[(
            now + 7 * 24 * 60 * minute,
            now + 7 * 24 * 60 * minute + 45 * minute,
        )],
        gv.id,
    )
    .await?;
    db.create_task(
        &course,
        &TaskInput {
            lesson_id: Some(lessons[1].id),
            title: "Viết các số sau bằng số La Mã: 9, 14, 26".into(),
            instructions: "Làm vào vở, chụp ảnh và nộp trước buổi học sau.".into(),
            opens_at: db::now_ms(),
            due_at: Some(db::now_ms() + 7 * 24 * 3600 * 1000),
            late_policy: LatePolicy::AcceptLate,
        },
        gv.id,
    )
    .await?;
    Ok(())
}

async fn assign_teachers(
    db: &Db,
    school: &School,
    classes: &[db::school::Class],
    teachers: &[db::school::StaffMember],
) -> anyhow::Result<()> {
    let subjects = db.subjects(school.id).await?;
    for (n, class) in classes.iter().enumerate() {
        for (k, subject) in subjects
            .iter()
            .filter(|s| s.grade == class.grade)
            .enumerate()
        {
            // The named demo teachers (first at THCS Gia Viễn) teach Toán in alternate classes.
            let teacher = if subject.code == "TOAN" {
                &teachers[n % 2.min(teachers.len())]
            } else {
                &teachers[(n + k) % teachers.len()]
            };
            db.assign(school.id, class.id, subject.id, teacher.id, None)
                .await?;
        }
    }
    Ok(())
}

/// Loads a generated province into an empty database: 1,000 schools and 300,000 students by
/// default (`lophoc demo --scale province`), with activity spread over the last 40 days, for
/// the oversight dashboards and `lophoc bench oversight`. Returns the logins to look at it.
pub async fn load_province(
    db: &Db,
    scale: db::oversight::ProvinceScale,
) -> anyhow::Result<(db::oversight::GeneratedProvince, Vec<DemoLogin>)> {
    let hash = hash_password(DEMO_PASSWORD.into()).await?;
    let g = db.generate_province(scale, &hash).await?;
    let first = db.school(g.school_ids[0]).await.map(|s| (s.code, s.name))?;
    let logins = vec![
        DemoLogin {
            role: domain::auth::Role::ProvinceOfficer.label(),
            login: "so.quymo".into(),
            place: "Sở GD&ĐT tỉnh Quy Mô".into(),
        },
        DemoLogin {
            role: domain::auth::Role::CommuneOfficer.label(),
            login: "xa.quymo001".into(),
            place: "UBND xã Quy Mô 1".into(),
        },
        DemoLogin {
            role: domain::auth::Role::Principal.label(),
            login: format!("{}.ht", first.0.to_lowercase()),
            place: first.1,
        },
    ];
    Ok((g, logins))
}
