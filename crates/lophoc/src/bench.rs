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
