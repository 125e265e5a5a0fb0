//! `lophoc`: one binary for the whole platform. `main` only parses the command line and the
//! configuration, then hands over to the libraries.
#![forbid(unsafe_code)]

mod bench;
mod bench_oversight;
mod config;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use config::Config;
use db::Db;
use std::path::PathBuf;

/// lophoc — nền tảng dạy học trực tuyến cho trường phổ thông Việt Nam.
#[derive(Parser)]
#[command(name = "lophoc", version, about)]
struct Cli {
    /// Configuration file (TOML). Default: lophoc.toml in the current directory, if present.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Data directory (SQLite database, files). Overrides LOPHOC_DATA_DIR.
    #[arg(long, global = true)]
    data: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: web pages, background jobs and the live-class media server.
    Serve {
        /// Address to listen on, e.g. 0.0.0.0:8080.
        #[arg(long)]
        listen: Option<String>,
        /// Load the demo province into an empty database and print the demo logins.
        #[arg(long)]
        demo: bool,
        /// What to run: `all` (default), `web` (pages and jobs), `media` (the live-class media
        /// server and its WebSocket only).
        #[arg(long, default_value = "all")]
        role: String,
    },
    /// Load the demo province into an empty database, print the demo logins and exit.
    Demo {
        /// `demo` (default): a small province to try every page; `province`: a generated
        /// province of 1,000 schools and 300,000 students for the oversight dashboards.
        #[arg(long, default_value = "demo")]
        scale: String,
        /// With `--scale province`: schools.
        #[arg(long, default_value_t = 1000)]
        schools: usize,
        /// With `--scale province`: students per school.
        #[arg(long, default_value_t = 300)]
        students_per_school: usize,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Import data.
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// Export data.
    Export {
        #[command(subcommand)]
        what: ExportWhat,
    },
    /// Administration: schools, users, passwords.
    Admin {
        #[command(subcommand)]
        what: AdminWhat,
    },
    /// Benchmarks that print figures (see scripts/bench.sh for the HTTP ones).
    Bench {
        #[command(subcommand)]
        what: BenchWhat,
    },
    /// Write a consistent copy of the SQLite database to FILE while the server runs.
    Backup {
        /// Destination file (must not exist).
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum ImportWhat {
    /// Import a roster (class lists with students and parents' phones) from Excel.
    Roster {
        /// Mã trường.
        #[arg(long)]
        school: String,
        /// The Excel file.
        file: PathBuf,
    },
    /// Import questions into a question bank from Word (.docx), GIFT or Aiken (.txt) or Moodle
    /// XML (.xml); any problem in the file refuses the whole file (exit code 2).
    Questions {
        /// The bank's name; a school-wide bank is created when the school has none by that name.
        #[arg(long)]
        bank: String,
        /// Mã trường (may be left out when the database holds one school).
        #[arg(long)]
        school: Option<String>,
        /// Login of the new bank's owner (default: the school's principal).
        #[arg(long)]
        owner: Option<String>,
        /// The question file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum ExportWhat {
    /// Export the current year's roster to Excel.
    Roster {
        /// Mã trường.
        #[arg(long)]
        school: String,
        /// The Excel file to write.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum BenchWhat {
    /// Oversight at province scale: generate N schools (default 1,000 × 300 students) into a
    /// fresh database and time the province dashboard, a school drill-down and the Excel
    /// exports over HTTP to an in-process server.
    Oversight {
        /// Schools.
        #[arg(long, default_value_t = 1000)]
        schools: usize,
        /// Students per school.
        #[arg(long, default_value_t = 300)]
        students_per_school: usize,
        /// Requests per page (median and p95 over them).
        #[arg(long, default_value_t = 20)]
        requests: usize,
        /// An empty database (default: a fresh SQLite file).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Roster import: generate an Excel file of N students, parse it and write it to a fresh
    /// database (SQLite in a temporary directory, or LOPHOC_DATABASE_URL), several times.
    Import {
        /// Students in the file.
        #[arg(long, default_value_t = 5000)]
        rows: usize,
        /// Repetitions (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// Notifications: a class announcement to N parents, queued, then delivered by the worker
    /// by email (to an outbox folder) and Zalo (to a local stand-in of the ZNS API).
    Notify {
        /// Parents the announcement goes to.
        #[arg(long, default_value_t = 2000)]
        parents: usize,
    },
    /// Online exam storm: N students start one 20-question exam at once over HTTP, save about
    /// 20 answers each and submit (SQLite in a temporary directory by default).
    ExamStorm {
        /// Students taking the exam.
        #[arg(long, default_value_t = 5000)]
        students: usize,
        /// Database URL (default: a fresh SQLite file).
        #[arg(long)]
        database_url: Option<String>,
        /// Run the server as a separate `lophoc serve` process and kill it with SIGKILL a third
        /// of the way through the saves, then restart it: every acknowledged answer must survive.
        #[arg(long)]
        kill: bool,
        /// Answer saves offered per second (0: as fast as the connections go).
        #[arg(long, default_value_t = 3000.0)]
        rate: f64,
    },
    /// Live class: one teacher (simulcast camera + microphone) and N synthetic students on
    /// loopback through the media server; prints its CPU, forwarded down-tracks per core and
    /// join-to-first-frame times.
    Live {
        /// Students in the class.
        #[arg(long, default_value_t = 40)]
        students: usize,
        /// Students who also send camera video.
        #[arg(long, default_value_t = 2)]
        with_video: usize,
        /// Seconds to run.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
}

#[derive(Subcommand)]
enum AdminWhat {
    /// List schools with their mã trường.
    Schools,
    /// Create an account with a role at a unit (by unit code) or a school (by mã trường).
    CreateUser {
        /// Login name.
        #[arg(long)]
        username: String,
        /// Full name.
        #[arg(long)]
        name: String,
        /// Role: system_admin, province_officer, commune_officer, principal, school_admin,
        /// group_head, teacher.
        #[arg(long)]
        role: String,
        /// Mã trường, for school roles.
        #[arg(long)]
        school: Option<String>,
        /// Unit code, for officer roles.
        #[arg(long)]
        unit: Option<String>,
    },
    /// Give an account a new temporary password (printed once) and end its sessions.
    ResetPassword {
        /// Login name.
        username: String,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(d) = cli.data {
        config.data_dir = d;
    }
    config::init_logging(&config);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(cli.command, config))
}

async fn open_db(config: &Config) -> Result<Db> {
    let url = config.database_url()?;
    let db = Db::connect(&url)
        .await
        .with_context(|| format!("không kết nối được cơ sở dữ liệu {}", config::redact(&url)))?;
    db.migrate().await.context("không áp dụng được migration")?;
    Ok(db)
}

async fn run(command: Command, mut config: Config) -> Result<()> {
    match command {
        Command::Serve { listen, demo, role } => {
            if let Some(l) = listen {
                config.listen = l;
            }
            let role = web::NodeRole::parse(&role).with_context(|| {
                format!("--role \"{role}\" không hợp lệ (chỉ nhận all, web hoặc media)")
            })?;
            serve(config, demo, role).await
        }
        Command::Demo {
            scale,
            schools,
            students_per_school,
        } => {
            let db = open_db(&config).await?;
            match scale.as_str() {
                "demo" => load_demo(&db).await,
                "province" => load_province(&db, schools, students_per_school).await,
                other => bail!("--scale \"{other}\" không hợp lệ (chỉ nhận demo hoặc province)"),
            }
        }
        Command::Migrate => {
            open_db(&config).await?;
            println!("Cơ sở dữ liệu đã được cập nhật.");
            Ok(())
        }
        Command::Import {
            what: ImportWhat::Roster { school, file },
        } => {
            let db = open_db(&config).await?;
            import_roster(&db, &school, &file).await
        }
        Command::Import {
            what:
                ImportWhat::Questions {
                    bank,
                    school,
                    owner,
                    file,
                },
        } => {
            let db = open_db(&config).await?;
            import_questions(
                &db,
                &config,
                school.as_deref(),
                &bank,
                owner.as_deref(),
                &file,
            )
            .await
        }
        Command::Export {
            what: ExportWhat::Roster { school, file },
        } => {
            let db = open_db(&config).await?;
            let school = db
                .school_by_code(&school)
                .await
                .with_context(|| format!("không có trường mã {school}"))?;
            let year = db
                .current_year(school.id)
                .await?
                .context("trường chưa có năm học")?;
            let rows = web::imports::export_rows(&db, school.id, year.id).await?;
            let bytes = office::roster::export_roster(&school.name, &year.name, &rows)?;
            std::fs::write(&file, bytes)
                .with_context(|| format!("không ghi được {}", file.display()))?;
            println!(
                "Đã xuất {} học sinh của {} ra {}",
                rows.len(),
                school.name,
                file.display()
            );
            Ok(())
        }
        Command::Admin { what } => {
            let db = open_db(&config).await?;
            admin(&db, what).await
        }
        Command::Bench {
            what: BenchWhat::Import { rows, runs },
        } => bench::import(&config, rows, runs).await,
        Command::Bench {
            what:
                BenchWhat::Oversight {
                    schools,
                    students_per_school,
                    requests,
                    database_url,
                },
        } => bench_oversight::oversight(schools, students_per_school, requests, database_url).await,
        Command::Bench {
            what: BenchWhat::Notify { parents },
        } => bench::notify(parents).await,
        Command::Bench {
            what:
                BenchWhat::ExamStorm {
                    students,
                    database_url,
                    kill,
                    rate,
                },
        } => bench::exam_storm(students, database_url, kill, rate).await,
        Command::Bench {
            what:
                BenchWhat::Live {
                    students,
                    with_video,
                    seconds,
                },
        } => bench::live(students, with_video, seconds).await,
        Command::Backup { file } => {
            if file.exists() {
                bail!("{} đã tồn tại; hãy chọn tên tệp khác", file.display());
            }
            let db = open_db(&config).await?;
            db.backup_sqlite(&file.to_string_lossy()).await?;
            println!("Đã sao lưu vào {}", file.display());
            Ok(())
        }
    }
}

async fn serve(config: Config, demo: bool, role: web::NodeRole) -> Result<()> {
    let started = std::time::Instant::now();
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "không tạo được thư mục dữ liệu {}",
            config.data_dir.display()
        )
    })?;
    let db = open_db(&config).await?;
    if demo {
        load_demo(&db).await?;
    }
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("không mở được cổng {} (LOPHOC_LISTEN)", config.listen))?;
    let addr = listener.local_addr()?;
    let app = web::App::build(
        db.clone(),
        web::WebConfig {
            role,
            ..config.web()
        },
    )?;
    println!(
        "\nlophoc đang chạy: http://{addr}  (khởi động {} ms)",
        started.elapsed().as_millis()
    );
    let media = &app.state.live.live;
    println!(
        "lớp học trực tuyến: UDP {}, TCP {}",
        media.udp_addr(),
        media
            .tcp_addr()
            .map_or_else(|| "tắt".to_owned(), |a| a.to_string())
    );
    tracing::info!(%addr, "listening");
    app.serve(listener, shutdown_signal()).await?;
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn load_demo(db: &Db) -> Result<()> {
    if !db.is_empty().await? {
        println!(
            "Cơ sở dữ liệu đã có dữ liệu; không nạp lại demo. Mật khẩu demo: {}",
            web::demo::DEMO_PASSWORD
        );
        return Ok(());
    }
    let logins = web::demo::load(db).await?;
    println!(
        "\nTỉnh demo đã sẵn sàng. Mật khẩu mọi tài khoản demo: {}",
        web::demo::DEMO_PASSWORD
    );
    println!("{:<34} {:<16} Nơi công tác", "Vai trò", "Đăng nhập");
    for l in logins {
        println!("{:<34} {:<16} {}", l.role, l.login, l.place);
    }
    Ok(())
}

async fn load_province(db: &Db, schools: usize, students_per_school: usize) -> Result<()> {
    if !db.is_empty().await? {
        bail!(
            "Cơ sở dữ liệu đã có dữ liệu; tỉnh quy mô lớn chỉ được tạo trong cơ sở dữ liệu trống."
        );
    }
    let started = std::time::Instant::now();
    let (g, logins) = web::demo::load_province(
        db,
        db::oversight::ProvinceScale {
            schools,
            students_per_school,
        },
    )
    .await?;
    println!(
        "\nĐã tạo tỉnh Quy Mô: {} trường, {} dòng dữ liệu trong {:.1} giây. Mật khẩu: {}",
        g.school_ids.len(),
        g.rows,
        started.elapsed().as_secs_f64(),
        web::demo::DEMO_PASSWORD
    );
    println!("{:<34} {:<16} Nơi công tác", "Vai trò", "Đăng nhập");
    for l in logins {
        println!("{:<34} {:<16} {}", l.role, l.login, l.place);
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

async fn import_roster(db: &Db, code: &str, file: &std::path::Path) -> Result<()> {
    let school = db
        .school_by_code(code)
        .await
        .with_context(|| format!("không có trường mã {code}"))?;
    let year = db
        .current_year(school.id)
        .await?
        .context("trường chưa có năm học; hãy tạo năm học trước")?;
    let bytes =
        std::fs::read(file).with_context(|| format!("không đọc được {}", file.display()))?;
    if bytes.len() > office::roster::MAX_FILE_BYTES {
        bail!(
            "{}",
            office::roster::FileError::TooLarge {
                size: bytes.len(),
                max: office::roster::MAX_FILE_BYTES
            }
        );
    }
    let parsed = office::roster::parse_roster(&bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (rows, errors) = web::imports::prepare(&school, &parsed);
    if !errors.is_empty() {
        eprintln!(
            "Tệp {} có {} lỗi; không có dữ liệu nào được ghi:",
            file.display(),
            errors.len()
        );
        for e in &errors {
            eprintln!("  Dòng {}, cột {}: {}", e.row, e.column, e.message);
        }
        std::process::exit(2);
    }
    if rows.is_empty() {
        bail!("tệp không có dòng học sinh nào");
    }
    let summary = db
        .apply_roster(school.id, year.id, &rows, None, None)
        .await?;
    println!(
        "Đã nhập {} dòng vào {} (năm học {}): {} học sinh mới, {} cập nhật, {} lớp mới, {} tài khoản phụ huynh mới.",
        rows.len(),
        school.name,
        year.name,
        summary.created,
        summary.updated,
        summary.classes_created,
        summary.parents_created
    );
    Ok(())
}

async fn import_questions(
    db: &Db,
    config: &Config,
    school: Option<&str>,
    bank: &str,
    owner: Option<&str>,
    file: &std::path::Path,
) -> Result<()> {
    use web::pages::banks::{CliImportError, import_from_cli};
    let files_dir = config.web().files_dir;
    match import_from_cli(db, files_dir.as_deref(), school, bank, owner, file).await {
        Ok(summary) => {
            println!("{summary}");
            Ok(())
        }
        Err(CliImportError::Invalid(errors)) => {
            eprintln!(
                "Tệp {} có {} lỗi; không có câu hỏi nào được lưu:",
                file.display(),
                errors.len()
            );
            for e in &errors {
                eprintln!("  {e}");
            }
            std::process::exit(2);
        }
        Err(e) => bail!("{e}"),
    }
}

async fn admin(db: &Db, what: AdminWhat) -> Result<()> {
    use domain::auth::Role;
    match what {
        AdminWhat::Schools => {
            let schools = db.schools_within("/").await?;
            println!("{:<12} {:<14} Tên trường", "Mã trường", "Cấp học");
            for s in schools {
                println!("{:<12} {:<14} {}", s.code, s.level.label(), s.name);
            }
            Ok(())
        }
        AdminWhat::CreateUser {
            username,
            name,
            role,
            school,
            unit,
        } => {
            let role = Role::from_code(&role)
                .with_context(|| format!("vai trò \"{role}\" không hợp lệ"))?;
            let username =
                domain::people::Username::parse(&username).map_err(|e| anyhow::anyhow!(e.0))?;
            let name = domain::people::parse_full_name(&name).map_err(|e| anyhow::anyhow!(e.0))?;
            let password = web::auth::random_password();
            let hash = web::auth::hash_password(password.clone())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let new = db::accounts::NewUser {
                username: username.as_str().to_owned(),
                full_name: name.clone(),
                password_hash: Some(hash),
                must_change_password: true,
                ..Default::default()
            };
            if role.is_unit_role() {
                let code = unit.context("vai trò cán bộ quản lý cần --unit <mã đơn vị>")?;
                let u = db
                    .units()
                    .await?
                    .into_iter()
                    .find(|u| u.code.eq_ignore_ascii_case(&code))
                    .with_context(|| format!("không có đơn vị mã {code}"))?;
                let user = db.create_user(&new).await?;
                db.grant_role(user.id, role, Some(u.id), None).await?;
            } else if role.is_school_role() && role != Role::Student {
                let code = school.context("vai trò ở trường cần --school <mã trường>")?;
                let s = db
                    .school_by_code(&code)
                    .await
                    .with_context(|| format!("không có trường mã {code}"))?;
                db.create_staff(s.id, &new, role.label(), "", role, None)
                    .await?;
            } else {
                bail!("học sinh và phụ huynh được tạo khi nhập danh sách, không qua lệnh này");
            }
            println!(
                "Đã tạo {} ({}) — mật khẩu tạm thời: {password}",
                username.as_str(),
                role.label()
            );
            Ok(())
        }
        AdminWhat::ResetPassword { username } => {
            let user = db
                .user_by_username(&username)
                .await
                .with_context(|| format!("không có tài khoản {username}"))?;
            let password = web::auth::random_password();
            let hash = web::auth::hash_password(password.clone())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            db.set_password(user.id, &hash, true).await?;
            db.delete_user_sessions(user.id, None).await?;
            println!(
                "Mật khẩu tạm thời mới của {}: {password} (phải đổi khi đăng nhập)",
                user.username
            );
            Ok(())
        }
    }
}
