//! Rich text written by teachers and students: Markdown with LaTeX math (`$…$`, `$$…$$`),
//! turned into HTML and then sanitized, so a script in a lesson never runs in a reader's
//! browser. Math is left as `<span class="math …">` for KaTeX to render in the page.

use pulldown_cmark::{Options, Parser, html};
use std::collections::HashSet;
use std::sync::OnceLock;

fn sanitizer() -> &'static ammonia::Builder<'static> {
    static B: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    B.get_or_init(|| {
        let mut b = ammonia::Builder::default();
        // Only the web's own schemes: no javascript:, data: or file: links.
        b.url_schemes(HashSet::from(["http", "https", "mailto"]));
        b.link_rel(Some("noopener noreferrer nofollow"));
        b.add_allowed_classes("span", ["math", "math-inline", "math-display"]);
        b.rm_tags(["img"]);
        b
    })
}

/// Markdown (with math) to safe HTML.
pub fn render(markdown: &str) -> String {
    let opts = Options::ENABLE_TABLES | Options::ENABLE_MATH | Options::ENABLE_STRIKETHROUGH;
    let mut out = String::with_capacity(markdown.len() * 2);
    html::push_html(&mut out, Parser::new_ext(markdown, opts));
    sanitizer().clean(&out).to_string()
}

/// Whether rendered HTML has math, so the page loads KaTeX only when needed.
pub fn has_math(html: &str) -> bool {
    html.contains("class=\"math")
}

/// The players a link material may be embedded from; the page that embeds one allows
/// exactly these in its `frame-src`.
pub const EMBED_ORIGINS: &str = "https://www.youtube-nocookie.com https://player.vimeo.com https://docs.google.com https://drive.google.com";

/// The embeddable player of a link to YouTube, Vimeo, Google Slides/Docs or a Drive file, or
/// none for any other link (which stays a plain link). Ids are checked, so nothing but the
/// player's own address reaches the page.
pub fn embed_url(url: &str) -> Option<String> {
    let id_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 100
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.trim_start_matches("www.").trim_start_matches("m.");
    let path_only = path.split(['?', '#']).next().unwrap_or("");
    let query = path.split_once('?').map(|(_, q)| q).unwrap_or("");
    let seg: Vec<&str> = path_only.split('/').filter(|s| !s.is_empty()).collect();
    match host {
        "youtube.com" => {
            let id = match seg.first() {
                Some(&"watch") => query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("v="))
                    .unwrap_or(""),
                Some(&"shorts") | Some(&"embed") | Some(&"live") => {
                    seg.get(1).copied().unwrap_or("")
                }
                _ => "",
            };
            id_ok(id).then(|| format!("https://www.youtube-nocookie.com/embed/{id}"))
        }
        "youtu.be" => {
            let id = seg.first().copied().unwrap_or("");
            id_ok(id).then(|| format!("https://www.youtube-nocookie.com/embed/{id}"))
        }
        "vimeo.com" => {
            let id = seg.first().copied().unwrap_or("");
            (id_ok(id) && id.bytes().all(|b| b.is_ascii_digit()))
                .then(|| format!("https://player.vimeo.com/video/{id}"))
        }
        "docs.google.com" => match seg.as_slice() {
            [
                kind @ ("presentation" | "document" | "spreadsheets"),
                "d",
                id,
                ..,
            ] if id_ok(id) => {
                let end = if *kind == "presentation" {
                    "embed"
                } else {
                    "preview"
                };
                Some(format!("https://docs.google.com/{kind}/d/{id}/{end}"))
            }
            _ => None,
        },
        "drive.google.com" => match seg.as_slice() {
            ["file", "d", id, ..] if id_ok(id) => {
                Some(format!("https://drive.google.com/file/d/{id}/preview"))
            }
            _ => None,
        },
        _ => None,
    }
}

/// The page policy of a page that embeds a player: the usual one plus those players.
pub fn csp_with_embeds() -> String {
    format!(
        "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; style-src 'self'; script-src 'self'; frame-src {EMBED_ORIGINS}; frame-ancestors 'none'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_players_are_embedded_and_others_stay_links() {
        assert_eq!(
            embed_url("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=10").as_deref(),
            Some("https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ")
        );
        assert_eq!(
            embed_url("https://youtu.be/dQw4w9WgXcQ").as_deref(),
            Some("https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ")
        );
        assert_eq!(
            embed_url("https://vimeo.com/123456").as_deref(),
            Some("https://player.vimeo.com/video/123456")
        );
        assert_eq!(
            embed_url("https://docs.google.com/presentation/d/abc_DEF-1/edit#slide=1").as_deref(),
            Some("https://docs.google.com/presentation/d/abc_DEF-1/embed")
        );
        assert!(embed_url("https://example.com/video").is_none());
        assert!(embed_url("https://www.youtube.com/watch?v=x\"onload=1").is_none());
        assert!(embed_url("javascript:alert(1)").is_none());
        assert!(embed_url("https://evil.com/youtube.com/watch?v=abc").is_none());
    }

    #[test]
    fn scripts_and_handlers_are_removed() {
        let html = render(
            "Xin chào <script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(3)) <b onclick=\"x()\">đậm</b>",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(!html.contains("onclick"), "{html}");
        assert!(html.contains("Xin chào"));
    }

    #[test]
    fn markdown_and_math_survive() {
        let html = render(
            "# Phân số\n\nTính $\\frac{1}{2} + \\frac{1}{3}$ và\n\n$$x^2 = 4$$\n\n- **một**\n- hai",
        );
        assert!(html.contains("<h1>Phân số</h1>"), "{html}");
        assert!(html.contains("class=\"math math-inline\""), "{html}");
        assert!(html.contains("class=\"math math-display\""), "{html}");
        assert!(html.contains("<strong>một</strong>"));
        assert!(has_math(&html));
        assert!(!has_math(&render("không có công thức")));
    }

    #[test]
    fn links_open_safely() {
        let html = render("[SGK](https://example.com/sgk)");
        assert!(html.contains("href=\"https://example.com/sgk\""), "{html}");
        assert!(html.contains("noopener"), "{html}");
    }
}
