//! `lophoc bench oversight`: a generated province (1,000 schools, 300,000 students by default)
//! served in-process over HTTP, and the times of what the Sở and communes open most: the
//! province coverage dashboard, a commune's, a school's drill-down page, the coverage Excel
//! over every school, and the sector-database exchange files of a commune and of the province.
//!
//! Every figure is a request through the whole stack (routing, session, queries, template,
//! response body) on a loopback connection, measured from the request's first byte to the last
//! byte of the answer. `first` is the first request, medians and 95th percentiles are over
//! `--requests` requests after it.
//!
//! There is no in-process cache: every view of the province dashboard is uncached, reading the
//! figures the background refresh stored (`coverage_snapshot`, counted every 5 minutes, never
//! shown older than 10). The benchmark runs that refresh once before serving, as the server
//! does when it starts, and prints what it costs (off the request path) beside the live count
//! a small subtree's dashboard makes on every view.

use anyhow::{Context, Result, ensure};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

/// A keep-alive HTTP/1.1 connection with a session cookie.
struct Client {
    io: tokio::io::BufReader<tokio::net::TcpStream>,
    addr: std::net::SocketAddr,
    token: String,
}

impl Client {
    async fn open(addr: std::net::SocketAddr, token: &str) -> Result<Self> {
        let s = tokio::net::TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        Ok(Self {
            io: tokio::io::BufReader::new(s),
            addr,
            token: token.to_owned(),
        })
    }

    /// GET `path`: status and body.
    async fn get(&mut self, path: &str) -> Result<(u16, Vec<u8>)> {
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nCookie: lophoc_sid={}\r\n\r\n",
            self.addr, self.token
        );
        self.io.get_mut().write_all(req.as_bytes()).await?;
        let mut line = String::new();
        self.io.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .context("bad status line")?;
        let (mut len, mut chunked) = (0usize, false);
        loop {
            line.clear();
            self.io.read_line(&mut line).await?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "content-length" => len = v.trim().parse().unwrap_or(0),
                    "transfer-encoding" => chunked = v.contains("chunked"),
                    _ => {}
                }
            }
        }
        let mut body = Vec::new();
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
                body.extend_from_slice(&chunk[..n]);
            }
        } else {
            body.resize(len, 0);
            self.io.read_exact(&mut body).await?;
        }
        Ok((status, body))
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Median and 95th percentile, in ms.
fn stats(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let p = |q: f64| ms(v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1]);
    (ms(v[v.len() / 2]), p(0.95))
}

/// Times `n` GETs of `path` after one warm-up; checks each answers 200 and prints a line.
async fn measure(
    c: &mut Client,
    label: &str,
    path: &str,
    n: usize,
    target_ms: Option<f64>,
) -> Result<(f64, f64, usize)> {
    let first = Instant::now();
    let (status, body) = c.get(path).await?;
    let first = ms(first.elapsed());
    ensure!(
        status == 200,
        "{label}: {path} answered {status}: {}",
        String::from_utf8_lossy(&body[..body.len().min(300)])
    );
    let mut times = Vec::with_capacity(n);
    let mut size = body.len();
    for _ in 0..n.max(1) {
        let t = Instant::now();
        let (status, body) = c.get(path).await?;
        times.push(t.elapsed());
        ensure!(status == 200, "{label}: {status}");
        size = body.len();
    }
    let (median, p95) = stats(times);
    let verdict = match target_ms {
        Some(t) if median < t => format!("  (target < {t} ms: met)"),
        Some(t) => format!("  (target < {t} ms: NOT met)"),
        None => String::new(),
    };
    println!(
        "{label:<40} first {first:>8.1} ms   median {median:>8.1} ms   p95 {p95:>8.1} ms   {:>6} KB{verdict}",
        size / 1024
    );
    Ok((median, p95, size))
}

/// Runs the benchmark.
pub async fn oversight(
    schools: usize,
    students_per_school: usize,
    requests: usize,
    database_url: Option<String>,
) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("lophoc-bench-oversight-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let url = database_url
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.join("province.db").display()));
    let db = db::Db::connect(&url).await?;
    db.migrate().await?;
    ensure!(
        db.is_empty().await?,
        "the database is not empty: give an empty one (the province is generated into it)"
    );
    println!(
        "oversight benchmark: {schools} schools × {students_per_school} students, {:?}, {requests} requests per page",
        db.backend()
    );
    let t = Instant::now();
    let (g, _) = web::demo::load_province(
        &db,
        db::oversight::ProvinceScale {
            schools,
            students_per_school,
        },
    )
    .await?;
    println!(
        "generated {} rows in {:.1} s",
        g.rows,
        t.elapsed().as_secs_f64()
    );
    let principal = g
        .principal_ids
        .iter()
        .flatten()
        .next()
        .copied()
        .context("a deployed school")?;
    let school = g.school_ids[0];
    // Sessions without argon2 logins (they would measure password hashing).
    let token = |u: &domain::Id| format!("bench{}", u.simple());
    let sessions: Vec<(String, domain::Id)> = [g.officer_id, g.commune_officer_id, principal]
        .iter()
        .map(|u| (web::auth::token_hash(&token(u)), *u))
        .collect();
    db.bench_sessions(&sessions, db::now_ms() + 24 * 3600 * 1000)
        .await?;

    // What the background refresh does every 5 minutes, off the request path.
    let path = db.unit(g.province_id).await?.path;
    let t = Instant::now();
    let live = db.coverage_within(&path).await?;
    println!(
        "live count of the province's figures (9 grouped queries, {} schools): {:.1} ms",
        live.len(),
        ms(t.elapsed())
    );
    let t = Instant::now();
    let counted = web::pages::oversight::refresh_if_due(&db, Duration::ZERO).await?;
    println!(
        "background refresh (count and store, every {} s, off the request path): {:.1} ms, {} schools",
        web::pages::oversight::REFRESH_EVERY.as_secs(),
        ms(t.elapsed()),
        counted.map_or(0, |(n, _)| n)
    );

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

    let mut officer = Client::open(addr, &token(&g.officer_id)).await?;
    let mut commune = Client::open(addr, &token(&g.commune_officer_id)).await?;
    let mut head = Client::open(addr, &token(&principal)).await?;
    let p = g.province_id;
    measure(
        &mut officer,
        "province dashboard, uncached",
        &format!("/units/{p}/coverage"),
        requests,
        Some(300.0),
    )
    .await?;
    measure(
        &mut commune,
        "commune dashboard",
        &format!("/units/{}/coverage", g.commune_id),
        requests,
        None,
    )
    .await?;
    measure(
        &mut officer,
        "school drill-down /schools/…",
        &format!("/schools/{school}"),
        requests,
        Some(100.0),
    )
    .await?;
    measure(
        &mut officer,
        "school checklist (Circular 09)",
        &format!("/schools/{school}/checklist"),
        requests,
        None,
    )
    .await?;
    let runs = requests.clamp(1, 5);
    measure(
        &mut officer,
        "coverage Excel, every school",
        &format!("/units/{p}/coverage.xlsx"),
        runs,
        Some(5000.0),
    )
    .await?;
    measure(
        &mut head,
        "exchange Excel, one school",
        &format!(
            "/schools/{principal_school}/exchange.xlsx",
            principal_school = school_of(&g, principal)
        ),
        runs,
        None,
    )
    .await?;
    measure(
        &mut commune,
        "exchange Excel, one commune",
        &format!("/units/{}/exchange.xlsx", g.commune_id),
        runs,
        None,
    )
    .await?;
    measure(
        &mut officer,
        "exchange Excel, whole province",
        &format!("/units/{p}/exchange.xlsx"),
        requests.clamp(1, 3),
        None,
    )
    .await?;
    measure(
        &mut officer,
        "exchange CSV hoc-sinh, whole province",
        &format!("/units/{p}/exchange/hoc-sinh.csv"),
        requests.clamp(1, 3),
        None,
    )
    .await?;
    db.close().await;
    if url.starts_with("sqlite") {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

/// The school of a principal in the generated province.
fn school_of(g: &db::oversight::GeneratedProvince, principal: domain::Id) -> domain::Id {
    g.principal_ids
        .iter()
        .position(|p| *p == Some(principal))
        .map_or(g.school_ids[0], |i| g.school_ids[i])
}
