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

#[cfg(test)]
mod tests {
    use super::*;

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
