//! What every page shares: the page context (language, user, navigation, notices), rendering,
//! and the request metrics middleware.

use crate::auth::Session;
use crate::error::WebError;
use crate::i18n::Lang;
use askama::Template;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{Html, Response};
use domain::auth::Role;
use std::time::Instant;

/// A navigation entry.
#[derive(Debug, Clone)]
pub struct NavLink {
    /// Target.
    pub href: String,
    /// Label in the user's language.
    pub label: String,
    /// Stable name for tests and styling (`data-nav`).
    pub key: &'static str,
}

/// The logged-in user as the layout shows them.
#[derive(Debug, Clone)]
pub struct NavUser {
    /// Full name.
    pub full_name: String,
    /// Main role, in Vietnamese.
    pub role_label: String,
    /// Menu.
    pub links: Vec<NavLink>,
    /// Unread notifications.
    pub unread: i64,
}

/// Context of every page.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Language.
    pub lang: Lang,
    /// Page title.
    pub title: String,
    /// The user, on authenticated pages.
    pub user: Option<NavUser>,
    /// A success notice.
    pub notice: Option<String>,
    /// An error notice.
    pub error: Option<String>,
    /// Link to the user guide for this page.
    pub help: Option<&'static str>,
}

impl Ctx {
    /// A page for an anonymous visitor.
    pub fn anonymous(lang: Lang, title: impl Into<String>) -> Self {
        Self {
            lang,
            title: title.into(),
            user: None,
            notice: None,
            error: None,
            help: None,
        }
    }

    /// A page for a logged-in user, with their menu.
    pub fn new(s: &Session, title: impl Into<String>) -> Self {
        let lang = s.lang;
        let t = |k: &str| lang.t(k);
        let mut links = vec![NavLink {
            href: "/".into(),
            label: t("nav-home"),
            key: "home",
        }];
        let a = &s.actor;
        if a.has_role(Role::SystemAdmin) {
            links.push(NavLink {
                href: "/admin".into(),
                label: t("nav-admin"),
                key: "admin",
            });
        }
        for path in a.unit_paths() {
            if let Some(id) = path.trim_end_matches('/').rsplit('/').next()
                && !id.is_empty()
            {
                links.push(NavLink {
                    href: format!("/units/{id}"),
                    label: t("nav-unit"),
                    key: "unit",
                });
                links.push(NavLink {
                    href: format!("/units/{id}/coverage"),
                    label: t("nav-coverage"),
                    key: "coverage",
                });
            }
        }
        for sid in a.school_ids() {
            let manager = a.grants.iter().any(|g| {
                g.school_id == Some(sid) && matches!(g.role, Role::Principal | Role::SchoolAdmin)
            });
            let staff = a.grants.iter().any(|g| {
                g.school_id == Some(sid) && matches!(g.role, Role::Teacher | Role::GroupHead)
            });
            if manager || staff {
                links.push(NavLink {
                    href: format!("/schools/{sid}"),
                    label: t("nav-school"),
                    key: "school",
                });
                links.push(NavLink {
                    href: format!("/schools/{sid}/library"),
                    label: t("nav-library"),
                    key: "library",
                });
                links.push(NavLink {
                    href: format!("/schools/{sid}/banks"),
                    label: t("nav-banks"),
                    key: "banks",
                });
                links.push(NavLink {
                    href: format!("/schools/{sid}/posts"),
                    label: t("nav-school-posts"),
                    key: "school-posts",
                });
                links.push(NavLink {
                    href: format!("/schools/{sid}/online-share"),
                    label: t("nav-online-share"),
                    key: "online-share",
                });
                links.push(NavLink {
                    href: format!("/schools/{sid}/classes"),
                    label: t("nav-classes"),
                    key: "classes",
                });
                links.push(NavLink {
                    href: format!("/schools/{sid}/students"),
                    label: t("nav-students"),
                    key: "students",
                });
            }
            if manager {
                for (path, key, label) in [
                    ("staff", "staff", "nav-staff"),
                    ("assignments", "assignments", "nav-assignments"),
                    ("years", "years", "nav-years"),
                    ("subjects", "subjects", "nav-subjects"),
                    ("import", "import", "nav-import"),
                    ("settings", "settings", "nav-settings"),
                ] {
                    links.push(NavLink {
                        href: format!("/schools/{sid}/{path}"),
                        label: t(label),
                        key,
                    });
                }
            }
        }
        if a.grants
            .iter()
            .any(|g| !g.role.is_unit_role() && g.role != Role::Student)
        {
            links.push(NavLink {
                href: "/messages".into(),
                label: t("nav-messages"),
                key: "messages",
            });
        }
        for sid in a.school_ids() {
            if a.can(
                domain::auth::Action::ModerateSchool,
                domain::auth::Target::School(&domain::auth::SchoolRef {
                    id: sid,
                    unit_path: String::new(),
                }),
            ) {
                links.push(NavLink {
                    href: format!("/schools/{sid}/moderation"),
                    label: t("nav-moderation"),
                    key: "moderation",
                });
            }
        }
        if a.grants.iter().any(|g| {
            matches!(
                g.role,
                Role::Teacher | Role::GroupHead | Role::Student | Role::Parent
            )
        }) {
            links.insert(
                1,
                NavLink {
                    href: "/courses".into(),
                    label: t("nav-courses"),
                    key: "courses",
                },
            );
        }
        links.insert(
            1,
            NavLink {
                href: "/inbox".into(),
                label: if s.unread > 0 {
                    format!("{} ({})", t("nav-inbox"), s.unread)
                } else {
                    t("nav-inbox")
                },
                key: "inbox",
            },
        );
        links.push(NavLink {
            href: "/account/notifications".into(),
            label: t("nav-notify-settings"),
            key: "notify-settings",
        });
        links.push(NavLink {
            href: "/account/password".into(),
            label: t("nav-password"),
            key: "password",
        });
        Self {
            lang,
            title: title.into(),
            user: Some(NavUser {
                full_name: s.user.full_name.clone(),
                role_label: a.main_role().map(|r| r.label()).unwrap_or("").to_owned(),
                links,
                unread: s.unread,
            }),
            notice: None,
            error: None,
            help: None,
        }
    }

    /// Adds a success notice.
    pub fn with_notice(mut self, n: Option<String>) -> Self {
        self.notice = n;
        self
    }

    /// Adds a guide link.
    pub fn with_help(mut self, slug: &'static str) -> Self {
        self.help = Some(slug);
        self
    }

    /// Version tag of the static assets, for cache busting.
    pub fn asset_v(&self) -> &'static str {
        crate::pages::ops::asset_version()
    }

    /// Translates a key in the page's language.
    pub fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }
}

/// Renders a template into an HTML response.
pub fn render<T: Template>(t: &T) -> Result<Html<String>, WebError> {
    Ok(Html(t.render()?))
}

/// The "saved" notice shown after a redirect with `?ok=1`.
pub fn saved_notice(ok: Option<&str>, lang: Lang) -> Option<String> {
    ok.map(|_| lang.t("notice-saved"))
}

/// Counts requests and their latency for Prometheus, and logs server errors.
pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let resp = next.run(req).await;
    let status = resp.status();
    let secs = start.elapsed().as_secs_f64();
    metrics::counter!("http_requests_total", "method" => method.to_string(), "status" => status.as_u16().to_string()).increment(1);
    metrics::histogram!("http_request_duration_seconds").record(secs);
    if status.is_server_error() {
        tracing::warn!(%method, %path, status = status.as_u16(), secs, "request failed");
    } else {
        tracing::debug!(%method, %path, status = status.as_u16(), secs, "request");
    }
    resp
}

/// Formats unix milliseconds as `dd/mm/yyyy hh:mm` in Vietnam time (UTC+7).
pub fn format_ms(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(time::UtcOffset::from_hms(7, 0, 0).expect("valid offset"));
    format!(
        "{:02}/{:02}/{} {:02}:{:02}",
        t.day(),
        u8::from(t.month()),
        t.year(),
        t.hour(),
        t.minute()
    )
}
