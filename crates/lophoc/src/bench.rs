//! `lophoc bench import`: how long a roster import of N students takes, parse and write apart.

use crate::config::Config;
use anyhow::{Context, Result};
use domain::people::{Gender, StudentStatus};
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Generates the rows of a large school: grades 6–9, classes of 45, two parents each.
fn rows(n: usize) -> Vec<office::roster::ExportRow> {
    (0..n)
        .map(|i| {
            let grade = 6 + (i / 45) % 4;
            let class = format!("{grade}A{}", 1 + i / 180);
            office::roster::ExportRow {
                class_name: class,
                code: format!("BENCH{i:07}"),
                personal_id: None,
                full_name: format!("Nguyễn Thị Hồng {}", ["Ánh", "Đào", "Lê", "Hương"][i % 4]),
                birth_date: time::Date::from_ordinal_date(2012, 1 + (i % 365) as u16)
                    .expect("valid day"),
                gender: if i % 2 == 0 {
                    Gender::Female
                } else {
                    Gender::Male
                },
                ethnicity: "Kinh".into(),
                status: StudentStatus::Studying,
                guardians: vec![
                    (
                        Some("Trần Văn Bố".into()),
                        format!("091{:07}", 2 * i),
                        "Cha".into(),
                    ),
                    (
                        Some("Lê Thị Mẹ".into()),
                        format!("098{:07}", 2 * i + 1),
                        "Mẹ".into(),
                    ),
                ],
            }
        })
        .collect()
}

/// Runs the import benchmark and prints medians.
pub async fn import(config: &Config, n: usize, runs: usize) -> Result<()> {
    let bytes = office::roster::export_roster("Trường THCS Bench", "2026-2027", &rows(n))?;
    println!(
        "roster import benchmark: {n} students, file {} KB, {runs} runs",
        bytes.len() / 1024
    );
    let (mut parse, mut write) = (Vec::new(), Vec::new());
    for run in 0..runs.max(1) {
        let dir = tempfile_dir()?;
        let url = if config.database_url.is_empty() {
            format!("sqlite://{}?mode=rwc", dir.join("bench.db").display())
        } else {
            config.database_url.clone()
        };
        let db = db::Db::connect(&url).await?;
        db.migrate().await?;
        let root = db
            .create_unit(None, domain::tree::UnitKind::Province, "B", "Sở Bench")
            .await?;
        let school = db
            .create_school(
                &root,
                &format!("BENCH{run}{}", std::process::id()),
                "Trường THCS Bench",
                domain::tree::SchoolLevel::LowerSecondary,
                "",
            )
            .await?;
        let year = db
            .create_year(school.id, domain::calendar::default_year(2026), None)
            .await?;

        let t = Instant::now();
        let parsed = office::roster::parse_roster(&bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
        let (prepared, errors) = web::imports::prepare(&school, &parsed);
        parse.push(t.elapsed());
        anyhow::ensure!(
            errors.is_empty(),
            "generated file has errors: {:?}",
            &errors[..errors.len().min(3)]
        );

        let t = Instant::now();
        let summary = db
            .apply_roster(school.id, year.id, &prepared, None, None)
            .await?;
        write.push(t.elapsed());
        anyhow::ensure!(
            summary.created == n,
            "expected {n} students, got {}",
            summary.created
        );
        println!(
            "  run {}: parse {:>6.0} ms, write {:>6.0} ms ({} students, {} parent accounts)",
            run + 1,
            parse[run].as_secs_f64() * 1000.0,
            write[run].as_secs_f64() * 1000.0,
            summary.created,
            summary.parents_created
        );
        db.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
    let (p, w) = (median(parse), median(write));
    println!(
        "median: parse {:.0} ms + write {:.0} ms = {:.2} s for {n} students (target < 10 s)",
        p.as_secs_f64() * 1000.0,
        w.as_secs_f64() * 1000.0,
        (p + w).as_secs_f64()
    );
    Ok(())
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("lophoc-bench-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).context("temporary directory")?;
    Ok(dir)
}

/// A local stand-in of the Zalo ZNS endpoint that accepts every message.
async fn zalo_stand_in() -> Result<String> {
    use axum::routing::post;
    let app = axum::Router::new().route(
        "/message/template",
        post(
            |axum::Json(body): axum::Json<serde_json::Value>| async move {
                axum::Json(serde_json::json!({
                    "error": 0, "message": "Success",
                    "data": { "msg_id": body["tracking_id"], "sent_time": "0" }
                }))
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}/message/template"))
}

/// Runs the notification benchmark and prints the figures.
pub async fn notify(parents: usize) -> Result<()> {
    let dir = tempfile_dir()?;
    let db = db::Db::connect(&format!(
        "sqlite://{}?mode=rwc",
        dir.join("bench.db").display()
    ))
    .await?;
    db.migrate().await?;
    let root = db
        .create_unit(None, domain::tree::UnitKind::Province, "B", "Sở Bench")
        .await?;
    let school = db
        .create_school(
            &root,
            "BENCHN",
            "Trường THCS Bench",
            domain::tree::SchoolLevel::LowerSecondary,
            "",
        )
        .await?;
    let year = db
        .create_year(school.id, domain::calendar::default_year(2026), None)
        .await?;
    let students = parents.div_ceil(2);
    let rows: Vec<db::roster::ImportStudent> = self::rows(students)
        .into_iter()
        .map(|r| db::roster::ImportStudent {
            code: r.code,
            personal_id: None,
            full_name: r.full_name,
            birth_date: r.birth_date,
            gender: r.gender,
            ethnicity: r.ethnicity,
            status: r.status,
            class_name: "9A1".into(),
            grade: 9,
            guardians: r.guardians,
        })
        .collect();
    db.apply_roster(school.id, year.id, &rows, None, None)
        .await?;
    let class = db.classes(school.id, year.id).await?.remove(0);
    let teacher = db
        .create_staff(
            school.id,
            &db::accounts::NewUser {
                username: "gv.bench".into(),
                full_name: "Giáo viên Bench".into(),
                ..Default::default()
            },
            "Giáo viên",
            "",
            domain::auth::Role::Teacher,
            None,
        )
        .await?;
    // Every parent takes email and Zalo, with quiet hours off (the bench must not depend on the
    // hour it runs at).
    for p in db.class_parents(school.id, class.id).await? {
        db.set_email(p.user_id, Some(&format!("{}@example.vn", p.phone)))
            .await?;
        db.set_prefs(
            p.user_id,
            db::family::Prefs {
                email: true,
                zalo: true,
                quiet_start: 0,
                quiet_end: 0,
            },
        )
        .await?;
    }
    let endpoint = zalo_stand_in().await?;
    let notifiers: Vec<std::sync::Arc<dyn web::notify::Notifier>> = vec![
        std::sync::Arc::new(web::notify::EmailNotifier::outbox(
            dir.join("outbox"),
            "lophoc <no-reply@lophoc.local>",
        )?),
        std::sync::Arc::new(web::notify::ZaloNotifier::new(web::notify::ZaloConfig {
            endpoint,
            access_token: "bench".into(),
            template_id: "1".into(),
        })),
    ];
    let worker = web::notify::Worker::new(db.clone(), notifiers, "http://127.0.0.1".into());

    let t = Instant::now();
    let (_, n) = db
        .post_announcement(
            school.id,
            class.id,
            teacher.user_id,
            "Họp phụ huynh",
            "Kính mời quý phụ huynh dự họp lúc 7h30 Chủ nhật.",
        )
        .await?;
    let queued = t.elapsed();
    let t = Instant::now();
    let mut ran = 0;
    loop {
        let k = worker.run_once().await?;
        if k == 0 {
            break;
        }
        ran += k;
    }
    let delivered = t.elapsed();
    let counts = db.job_counts().await?;
    let emails = std::fs::read_dir(dir.join("outbox"))?.count();
    println!(
        "notification benchmark: announcement to {n} parents (SQLite, email to outbox + Zalo stand-in)"
    );
    println!(
        "  queued in {:.0} ms (target < 1000 ms)",
        queued.as_secs_f64() * 1000.0
    );
    println!(
        "  delivered {ran} notifications ({emails} emails + {} Zalo messages) in {:.2} s = {:.0} notifications/s (target >= 200/s)",
        ran,
        delivered.as_secs_f64(),
        ran as f64 / delivered.as_secs_f64()
    );
    println!(
        "  jobs: {} done, {} failed, {} queued",
        counts.done, counts.failed, counts.queued
    );
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
