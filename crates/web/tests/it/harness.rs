//! `TestApp`: a fresh database with the demo province and the app on a random port.

use reqwest::redirect::Policy;
use std::sync::Once;
use web::{App, WebConfig};

pub const PASSWORD: &str = web::demo::DEMO_PASSWORD;

pub struct TestApp {
    pub base: String,
    pub db: db::Db,
    pub worker: web::notify::Worker,
    pub outbox: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn init_drivers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(sqlx::any::install_default_drivers);
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// An app whose settings `adjust` changes (a Zalo stand-in, for example). The background
    /// worker does not run by itself: tests call `worker.run_once()` to see each step.
    pub async fn spawn_with(adjust: impl FnOnce(&mut WebConfig)) -> Self {
        init_drivers();
        let dir = tempfile::tempdir().expect("tempdir");
        let url = match std::env::var("LOPHOC_TEST_DATABASE_URL") {
            Ok(admin) if !admin.is_empty() => {
                use sqlx::Connection;
                let name = format!("lophoc_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::AnyConnection::connect(&admin)
                    .await
                    .expect("connect to the PostgreSQL admin URL");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let base = admin
                    .rsplit_once('/')
                    .map(|(b, _)| b)
                    .expect("URL with a database");
                format!("{base}/{name}")
            }
            _ => format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display()),
        };
        let db = db::Db::connect(&url).await.expect("connect");
        db.migrate().await.expect("migrate");
        web::demo::load(&db).await.expect("demo");
        let outbox = dir.path().join("outbox");
        let mut config = WebConfig {
            outbox_dir: Some(outbox.clone()),
            run_worker: false,
            ..WebConfig::default()
        };
        adjust(&mut config);
        let app = App::build(db.clone(), config).expect("app");
        let worker = app.worker();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(app.serve(listener, std::future::pending()));
        Self {
            base: format!("http://{addr}"),
            db,
            worker,
            outbox,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A browser-like client: keeps cookies, does not follow redirects (tests look at them).
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .expect("client")
    }

    pub async fn login_as(
        &self,
        login: &str,
        password: &str,
    ) -> (reqwest::Client, reqwest::Response) {
        let c = self.client();
        let r = c
            .post(self.url("/login"))
            .form(&[("login", login), ("password", password)])
            .send()
            .await
            .expect("login request");
        (c, r)
    }

    /// Logs in with the demo password and checks it worked.
    pub async fn login(&self, login: &str) -> reqwest::Client {
        let (c, r) = self.login_as(login, PASSWORD).await;
        assert_eq!(r.status(), 303, "login of {login} failed");
        c
    }

    pub async fn get(&self, c: &reqwest::Client, path: &str) -> reqwest::Response {
        c.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn school_id(&self, code: &str) -> String {
        self.db
            .school_by_code(code)
            .await
            .expect("school")
            .id
            .to_string()
    }
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}
