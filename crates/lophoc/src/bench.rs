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

/// A minimal HTTP/1.1 keep-alive client over one TCP connection: the storm measures the
/// server, and this crate carries no HTTP client of its own.
struct Conn {
    io: tokio::io::BufReader<tokio::net::TcpStream>,
    addr: std::net::SocketAddr,
}

/// Status, `Location` and body of a response.
struct Reply {
    status: u16,
    location: String,
    body: Vec<u8>,
}

impl Conn {
    async fn open(addr: std::net::SocketAddr) -> Result<Self> {
        let s = tokio::net::TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        Ok(Self {
            io: tokio::io::BufReader::new(s),
            addr,
        })
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
        ctype: &str,
        body: &[u8],
    ) -> Result<Reply> {
        // One reconnect: the server may close an idle keep-alive connection.
        match self.once(method, path, token, ctype, body).await {
            Ok(r) => Ok(r),
            Err(_) => {
                *self = Conn::open(self.addr).await?;
                self.once(method, path, token, ctype, body).await
            }
        }
    }

    /// With `persist`, resends until the server answers below 500 (it may be restarting),
    /// as a browser's answer queue does; otherwise one `send`.
    async fn send_until(
        &mut self,
        persist: bool,
        method: &str,
        path: &str,
        token: &str,
        ctype: &str,
        body: &[u8],
    ) -> Result<Reply> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let r = self.send(method, path, token, ctype, body).await;
            match r {
                Ok(r) if r.status < 500 => return Ok(r),
                _ if persist && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                other => return other,
            }
        }
    }

    async fn once(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
        ctype: &str,
        body: &[u8],
    ) -> Result<Reply> {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nCookie: lophoc_sid={token}\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        if !ctype.is_empty() {
            req.push_str(&format!("Content-Type: {ctype}\r\n"));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        self.io.get_mut().write_all(&bytes).await?;
        let mut line = String::new();
        self.io.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .context("bad status line")?;
        let (mut len, mut chunked, mut location) = (0usize, false, String::new());
        loop {
            line.clear();
            self.io.read_line(&mut line).await?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
                match k.as_str() {
                    "content-length" => len = v.parse().unwrap_or(0),
                    "transfer-encoding" => chunked = v.contains("chunked"),
                    "location" => location = v.to_owned(),
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.io.read_line(&mut line).await?;
                let n = usize::from_str_radix(line.trim(), 16).unwrap_or(0);
                let mut chunk = vec![0; n + 2];
                self.io.read_exact(&mut chunk).await?;
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&chunk[..n]);
            }
        } else {
            out.resize(len, 0);
            self.io.read_exact(&mut out).await?;
        }
        Ok(Reply {
            status,
            location,
            body: out,
        })
    }
}

/// A `lophoc serve` child process on one port, for the SIGKILL durability run.
struct Server {
    child: tokio::process::Child,
    addr: std::net::SocketAddr,
    dir: std::path::PathBuf,
    url: String,
}

impl Server {
    /// Starts `lophoc serve` on the database and waits until `/healthz` answers.
    async fn spawn(
        dir: &std::path::Path,
        url: &str,
        addr: Option<std::net::SocketAddr>,
    ) -> Result<Self> {
        let addr = match addr {
            Some(a) => a,
            None => std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?,
        };
        let child = tokio::process::Command::new(std::env::current_exe()?)
            .arg("--data")
            .arg(dir)
            .arg("serve")
            .arg("--listen")
            .arg(addr.to_string())
            .env("LOPHOC_DATABASE_URL", url)
            .env("LOPHOC_LOG_LEVEL", "warn")
            .env("LOPHOC_LIVE_UDP", "127.0.0.1:0")
            .env("LOPHOC_LIVE_TCP", "127.0.0.1:0")
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("start lophoc serve")?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(mut c) = Conn::open(addr).await
                && let Ok(r) = c.once("GET", "/healthz", "", "", b"").await
                && r.status == 200
            {
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "lophoc serve did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Self {
            child,
            addr,
            dir: dir.to_owned(),
            url: url.to_owned(),
        })
    }

    /// SIGKILL (no shutdown, no flush), then a fresh process on the same port.
    async fn kill_and_restart(&mut self) -> Result<()> {
        self.child.kill().await?;
        eprintln!("exam-storm: server killed with SIGKILL; restarting");
        *self = Server::spawn(&self.dir, &self.url, Some(self.addr)).await?;
        Ok(())
    }
}

fn p99(mut v: Vec<Duration>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort();
    v[(v.len() * 99 / 100).min(v.len() - 1)].as_secs_f64() * 1000.0
}

/// `lophoc bench exam-storm`: N students start one 20-question exam together over real HTTP,
/// save about 20 answers each and submit; prints one summary line. With `kill`, the server is a
/// separate `lophoc serve` process that is killed with SIGKILL during the saves and restarted;
/// clients resend what was not acknowledged, as the exam page's queue does. With `rate` > 0 the
/// saves are offered at that many per second (students answer at their own pace; nobody waits
/// for a classmate's save), otherwise as fast as 256 connections can go.
pub async fn exam_storm(
    students: usize,
    database_url: Option<String>,
    kill: bool,
    rate: f64,
) -> Result<()> {
    let dir = tempfile_dir()?;
    let url = database_url
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.join("storm.db").display()));
    let db = db::Db::connect(&url).await?;
    db.migrate().await?;
    web::demo::load(&db).await?;
    let school = db.school_by_code("37THCSGV").await?;
    let year = db.current_year(school.id).await?.context("demo year")?;
    // N students, all in 6A1 (one course, one exam: the synchronised start of a whole school).
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
            class_name: "6A1".into(),
            grade: 6,
            guardians: Vec::new(),
        })
        .collect();
    db.apply_roster(school.id, year.id, &rows, None, None)
        .await?;
    db.ensure_courses(school.id, year.id).await?;
    let teacher = db.user_by_username("gv.toan").await?;
    let course = db
        .courses_taught(teacher.id)
        .await?
        .into_iter()
        .find(|c| c.class_name == "6A1" && c.subject_code == "TOAN")
        .context("Toán 6A1")?;
    let questions: Vec<db::exams::NewBankQuestion> = (0..20)
        .map(|i| {
            let q = exam::model::Question::new(
                format!("Câu {}: {} + {} bằng bao nhiêu?", i + 1, i, i + 1),
                exam::model::QuestionKind::SingleChoice {
                    options: (0..4)
                        .map(|k| exam::model::Content(format!("{}", 2 * i + 1 + k)))
                        .collect(),
                    key: Some(0),
                },
            );
            web::pages::exams::bank_row(&q)
        })
        .collect();
    let bank = db
        .exam_sample_bank(school.id, teacher.id, "Bench", &questions)
        .await?;
    let bank_qs = db.exam_bank_questions(school.id, bank).await?;
    let enrolled = db.course_students(&course).await?;
    // Cheap sessions (see db::exams::bench_sessions): argon2 logins of N students would
    // measure password hashing, not the exam.
    let token = |u: &domain::Id| format!("bench{}", u.simple());
    let mut sessions: Vec<(String, domain::Id)> = enrolled
        .iter()
        .filter_map(|s| s.user_id)
        .map(|u| (web::auth::token_hash(&token(&u)), u))
        .collect();
    sessions.push((web::auth::token_hash(&token(&teacher.id)), teacher.id));
    db.bench_sessions(&sessions, db::now_ms() + 24 * 3600 * 1000)
        .await?;

    let mut server = None;
    let addr = if kill {
        let child = Server::spawn(&dir, &url, None).await?;
        let addr = child.addr;
        server = Some(child);
        addr
    } else {
        let app = web::App::build(
            db.clone(),
            web::WebConfig {
                run_worker: false,
                ..web::WebConfig::default()
            },
        )?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(app.serve(listener, std::future::pending()));
        addr
    };

    let fmt = |ms: i64| {
        let t = time::OffsetDateTime::from_unix_timestamp(ms / 1000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
            .to_offset(time::UtcOffset::from_hms(7, 0, 0).expect("offset"));
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        )
    };
    let mut form = format!(
        "title=Storm&bank={bank}&opens={}&closes={}&duration=60&attempts=1&shuffle_questions=1&shuffle_options=1",
        fmt(db::now_ms() - 3_600_000),
        fmt(db::now_ms() + 3 * 3_600_000)
    );
    for q in &bank_qs {
        form.push_str(&format!("&q={}", q.id));
    }
    let mut t = Conn::open(addr).await?;
    let tt = token(&teacher.id);
    let r = t
        .send(
            "POST",
            &format!("/courses/{}/exams", course.id),
            &tt,
            "application/x-www-form-urlencoded",
            form.as_bytes(),
        )
        .await?;
    anyhow::ensure!(
        r.status == 303,
        "create exam: {} {}",
        r.status,
        String::from_utf8_lossy(&r.body)
    );
    let exam = r.location;
    let r = t
        .send("POST", &format!("{exam}/publish"), &tt, "", b"")
        .await?;
    anyhow::ensure!(r.status == 303, "publish: {}", r.status);

    let users: Vec<String> = enrolled
        .iter()
        .filter_map(|s| s.user_id)
        .map(|u| token(&u))
        .collect();
    let n = users.len();
    let workers = 256.min(n.max(1));
    let chunks: Vec<Vec<String>> = (0..workers)
        .map(|w| users.iter().skip(w).step_by(workers).cloned().collect())
        .collect();

    // Phase 1: everyone starts.
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for chunk in chunks {
        let exam = exam.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(addr).await?;
            let mut out = Vec::new();
            for tok in chunk {
                let t = Instant::now();
                let r = c
                    .send_until(
                        kill,
                        "POST",
                        &format!("{exam}/start"),
                        &tok,
                        "application/x-www-form-urlencoded",
                        b"code=",
                    )
                    .await?;
                out.push((tok, r.status, r.location, t.elapsed()));
            }
            anyhow::Ok((c, out))
        }));
    }
    let mut started = Vec::new();
    let mut start_lat = Vec::new();
    let mut start_errors = 0;
    let mut conns = Vec::new();
    for task in tasks {
        let (c, out) = task.await??;
        conns.push(c);
        for (tok, status, loc, d) in out {
            start_lat.push(d);
            if status == 303 && loc.starts_with("/attempts/") {
                started.push((tok, loc));
            } else {
                start_errors += 1;
            }
        }
    }
    let start_secs = t0.elapsed().as_secs_f64();

    // Phase 2: ~20 saves each (a few changed answers, so seq matters).
    let per_worker: Vec<Vec<(String, String)>> = (0..conns.len())
        .map(|w| {
            started
                .iter()
                .skip(w)
                .step_by(conns.len())
                .cloned()
                .collect()
        })
        .collect();
    let t1 = Instant::now();
    let acks = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // The killer: a third of the way through the saves, SIGKILL and restart the server.
    let killer = server.take().map(|mut server| {
        let acks = acks.clone();
        let third = started.len() * 20 / 3;
        tokio::spawn(async move {
            while acks.load(std::sync::atomic::Ordering::Relaxed) < third {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            server.kill_and_restart().await?;
            anyhow::Ok(server)
        })
    });
    let mut tasks = Vec::new();
    let nworkers = conns.len();
    for (w, (mut c, mine)) in conns.into_iter().zip(per_worker.clone()).enumerate() {
        let acks = acks.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut acked: Vec<(String, i64, i64)> = Vec::new();
            let mut k = 0u64;
            for round in 0..20i64 {
                for (tok, attempt) in &mine {
                    // Paced: request k of worker w is due at (k·workers + w) / rate, and its
                    // latency counts from then (no coordinated omission when the server lags).
                    let due = if rate > 0.0 {
                        let due = t1 + Duration::from_secs_f64((k * nworkers as u64 + w as u64) as f64 / rate);
                        tokio::time::sleep_until(due.into()).await;
                        due
                    } else {
                        Instant::now()
                    };
                    k += 1;
                    let item = round % 20;
                    let body = format!(
                        "{{\"item\":{item},\"response\":{{\"type\":\"single_choice\",\"value\":{}}},\"seq\":{},\"key\":\"{tok}-{round}\"}}",
                        round % 4,
                        round + 1
                    );
                    let r = c.send_until(kill, "POST", &format!("{attempt}/answers"), tok, "application/json", body.as_bytes()).await?;
                    lat.push(due.elapsed());
                    if r.status == 200 {
                        acked.push((attempt.clone(), item, round + 1));
                        acks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }
            anyhow::Ok((c, lat, acked))
        }));
    }
    let mut save_lat = Vec::new();
    let mut acked = Vec::new();
    let mut conns = Vec::new();
    for task in tasks {
        let (c, lat, a) = task.await??;
        conns.push(c);
        save_lat.extend(lat);
        acked.extend(a);
    }
    let save_secs = t1.elapsed().as_secs_f64();
    let saves = save_lat.len();
    // Kept until the end: dropping the child process kills it.
    let _server = match killer {
        Some(k) => Some(k.await??),
        None => None,
    };

    // Phase 3: everyone submits.
    let mut tasks = Vec::new();
    for (mut c, mine) in conns.into_iter().zip(per_worker) {
        tasks.push(tokio::spawn(async move {
            let mut errors = 0;
            for (tok, attempt) in &mine {
                let r = c
                    .send_until(kill, "POST", &format!("{attempt}/submit"), tok, "", b"")
                    .await?;
                if r.status != 303 {
                    errors += 1;
                }
            }
            anyhow::Ok(errors)
        }));
    }
    let t2 = Instant::now();
    let mut submit_errors = start_errors;
    for task in tasks {
        submit_errors += task.await??;
    }
    let submit_secs = t2.elapsed().as_secs_f64();

    // Every acknowledged save must be in the database (at that seq or a newer one).
    let mut lost = 0;
    let mut by_attempt: std::collections::HashMap<String, Vec<(i64, i64)>> = Default::default();
    for (a, item, seq) in acked {
        by_attempt.entry(a).or_default().push((item, seq));
    }
    for (a, list) in by_attempt {
        let id: domain::Id = a.trim_start_matches("/attempts/").parse()?;
        let stored: std::collections::HashMap<i64, i64> = db
            .answers(id)
            .await?
            .into_iter()
            .map(|w| (w.item, w.seq))
            .collect();
        lost += list
            .iter()
            .filter(|(item, seq)| stored.get(item).is_none_or(|s| s < seq))
            .count();
    }
    eprintln!(
        "exam-storm phases: start {start_secs:.2} s, saves {save_secs:.2} s, submit {submit_secs:.2} s ({})",
        if url.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    println!(
        "exam-storm: students={n} start_p99_ms={:.0} saves_per_s={:.0} save_p99_ms={:.0} submit_errors={submit_errors} lost_answers={lost} start_s={start_secs:.1} submit_s={submit_secs:.1}{}{}",
        p99(start_lat),
        saves as f64 / save_secs.max(1e-9),
        p99(save_lat),
        if rate > 0.0 {
            format!(" offered_per_s={rate:.0}")
        } else {
            String::new()
        },
        if kill { " server_killed=1" } else { "" },
    );
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// `lophoc bench live`: one class on loopback through the media server (see
/// `live::testclient::bench`), printed as one summary line.
pub async fn live(students: usize, with_video: usize, seconds: u64) -> Result<()> {
    let r = web::live::testclient::bench(web::live::testclient::BenchOptions {
        students,
        students_with_video: with_video,
        duration: Duration::from_secs(seconds),
    })
    .await?;
    println!(
        "live: students={} down_tracks={} server_cpu_percent={:.1} down_tracks_per_core={:.0} forwarded_frames_per_s={:.0} first_frame_median_ms={} first_frame_max_ms={} students_without_video={} rss_per_participant_kib={:.0}",
        r.students,
        r.down_tracks,
        r.server_cpu_percent,
        r.down_tracks_per_core,
        r.forwarded_frames_per_sec,
        r.first_frame_median.as_millis(),
        r.first_frame_max.as_millis(),
        r.students_without_video,
        r.rss_per_participant_kib,
    );
    Ok(())
}
