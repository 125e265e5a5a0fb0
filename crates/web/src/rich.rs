//! Rich text written by teachers and students: Markdown with LaTeX math (`$…$`, `$$…$$`),
//! turned into HTML and then sanitized, so a script in a lesson never runs in a reader's
//! browser.
//!
//! Math is rendered here, on the server, to MathML Core by `math-core`, which browsers draw
//! natively (Chrome and Edge 109+, Firefox, Safari): a page with formulas needs no script and no
//! font download on 3G. A formula that does not parse shows its source in a `<code>` with a
//! visible "công thức lỗi" hint, and the rest of the page renders as usual.
//!
//! `math-core` was chosen over `pulldown-latex` and `latex2mathml` (compared on what teachers of
//! Toán write: `\frac`, `\sqrt`, scripts, `\le \ge \ne`, `\pi`, `\Delta`, `\overline`,
//! `\vec`, matrices, `cases`, `\text{…}` in Vietnamese): it handles all of them, escapes text
//! and reports a parse error instead of printing it into the formula; `latex2mathml` (last release
//! 2021) fails on `\le`, `cases` and `\text` with accents and leaves `<` unescaped;
//! `pulldown-latex` needs its own style sheet and fonts, draws `\overline{abc}` as a short
//! fixed bar and leaves `<` unescaped.
//!
//! The sanitizer allows exactly the MathML elements and attributes `math-core` writes, minus
//! `style` (the page's style policy forbids inline styles; cell alignment is carried by
//! `columnalign` instead, see [`align_cells`]) and anything that links or scripts.

use math_core::{LatexToMathML, MathCoreConfig, MathDisplay};
use pulldown_cmark::{Event, Options, Parser, html};
use std::collections::HashSet;
use std::sync::OnceLock;

/// The MathML elements `math-core` writes.
const MATH_TAGS: &[&str] = &[
    "math",
    "mrow",
    "mi",
    "mn",
    "mo",
    "mtext",
    "mspace",
    "msub",
    "msup",
    "msubsup",
    "munder",
    "mover",
    "munderover",
    "mfrac",
    "msqrt",
    "mroot",
    "mtable",
    "mtr",
    "mtd",
    "mpadded",
    "mphantom",
    "menclose",
    "mmultiscripts",
    "mprescripts",
    "merror",
];

/// The attributes `math-core` writes, by element (presentation only: none links or scripts),
/// with any value. `display` and `columnalign` are allowed with their few values only.
const MATH_ATTRIBUTES: &[(&str, &[&str])] = &[
    ("mi", &["mathvariant"]),
    (
        "mo",
        &[
            "lspace",
            "rspace",
            "stretchy",
            "form",
            "movablelimits",
            "largeop",
            "symmetric",
            "minsize",
            "maxsize",
        ],
    ),
    ("mover", &["accent"]),
    ("munder", &["accentunder"]),
    ("munderover", &["accent", "accentunder"]),
    ("mfrac", &["linethickness", "displaystyle"]),
    ("mrow", &["displaystyle", "scriptlevel"]),
    ("mtable", &["displaystyle", "scriptlevel"]),
    ("mspace", &["width"]),
    ("mpadded", &["width", "height"]),
    ("menclose", &["notation"]),
];

/// Classes `math-core` puts on spans inside `\text…` (font switches), and the hint of a formula
/// that did not parse.
const SPAN_CLASSES: &[&str] = &[
    "math-core-serif-font",
    "math-core-sans-serif-font",
    "math-error",
];

fn sanitizer() -> &'static ammonia::Builder<'static> {
    static B: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    B.get_or_init(|| {
        let mut b = ammonia::Builder::default();
        // Only the web's own schemes: no javascript:, data: or file: links.
        b.url_schemes(HashSet::from(["http", "https", "mailto"]));
        b.link_rel(Some("noopener noreferrer nofollow"));
        b.add_allowed_classes("span", SPAN_CLASSES);
        b.rm_tags(["img"]);
        b.add_tags(MATH_TAGS);
        for (tag, attributes) in MATH_ATTRIBUTES {
            b.add_tag_attributes(tag, attributes.iter());
        }
        b.add_tag_attribute_values("math", "display", &["block"]);
        b.add_tag_attribute_values("mtd", "columnalign", &["left", "right"]);
        b
    })
}

fn converter() -> &'static LatexToMathML {
    static C: OnceLock<LatexToMathML> = OnceLock::new();
    // No macros are configured, so building the converter cannot fail.
    C.get_or_init(|| LatexToMathML::new(MathCoreConfig::default()).unwrap_or_default())
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// One formula as MathML (`display`: a `$$…$$` block), or, when it does not parse, its source
/// in a `<code>` with a visible "công thức lỗi" hint. The result still goes through the
/// sanitizer with the rest of the page.
pub fn math(latex: &str, display: bool) -> String {
    let mode = if display {
        MathDisplay::Block
    } else {
        MathDisplay::Inline
    };
    match converter().convert_with_local_state(latex, mode) {
        Ok(out) => align_cells(&out.mathml),
        Err(_) => format!(
            "<span class=\"math-error\"><code>{}</code> <small>(công thức lỗi)</small></span>",
            escape(latex.trim())
        ),
    }
}

/// Turns the inline alignment `math-core` writes on table cells (`<mtd style="text-align:
/// left;…">`, for `cases` and `array{l}`) into the MathML attribute `columnalign`, which the
/// page's style policy lets through and `math.css` maps to the same alignment. Text cannot
/// contain `<mtd`: `math-core` escapes `<` in text.
fn align_cells(mathml: &str) -> String {
    const OPEN: &str = "<mtd style=\"";
    let mut out = String::with_capacity(mathml.len());
    let mut rest = mathml;
    while let Some(i) = rest.find(OPEN) {
        out.push_str(&rest[..i]);
        let after = &rest[i + OPEN.len()..];
        let Some(end) = after.find('"') else {
            out.push_str(&rest[i..]);
            return out;
        };
        let style = &after[..end];
        out.push_str("<mtd");
        for align in ["left", "right"] {
            if style.contains(&format!("text-align: {align}")) {
                out.push_str(&format!(" columnalign=\"{align}\""));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Markdown (with math) to safe HTML.
pub fn render(markdown: &str) -> String {
    let opts = Options::ENABLE_TABLES | Options::ENABLE_MATH | Options::ENABLE_STRIKETHROUGH;
    let events = Parser::new_ext(markdown, opts).map(|event| match event {
        Event::InlineMath(tex) => Event::InlineHtml(math(&tex, false).into()),
        Event::DisplayMath(tex) => Event::InlineHtml(math(&tex, true).into()),
        other => other,
    });
    let mut out = String::with_capacity(markdown.len() * 2);
    html::push_html(&mut out, events);
    sanitizer().clean(&out).to_string()
}

/// Whether rendered HTML has math (or a formula that did not parse), so the page links the
/// small `math.css` only when needed.
pub fn has_math(html: &str) -> bool {
    html.contains("<math") || html.contains("class=\"math-error\"")
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
        assert!(
            html.contains("<math><mfrac><mn>1</mn><mn>2</mn></mfrac>"),
            "{html}"
        );
        assert!(html.contains("<math display=\"block\"><msup><mi>x</mi><mn>2</mn></msup>"));
        assert!(html.contains("<strong>một</strong>"));
        assert!(
            !html.contains("class=\"math"),
            "no script left to render it: {html}"
        );
        assert!(has_math(&html));
        assert!(!has_math(&render("không có công thức, chỉ có $5 tiền")));
    }

    /// What teachers of Toán write, from grade 6 to 12.
    const FORMULAS: &[&str] = &[
        r"\frac{a}{b} + \dfrac{3}{4}",
        r"\sqrt{2} + \sqrt[3]{27} = 3 + \sqrt{2}",
        r"x^2 + y_1^{n+1} - a_{ij}",
        r"a \le b,\ b \ge c,\ c \ne d,\ x \leq 1 \geq 0 \neq 2",
        r"S = \pi r^2,\ \Delta = b^2 - 4ac",
        r"\overline{abc} = 100a + 10b + c",
        r"\vec{AB} + \overrightarrow{BC} = \vec{AC}",
        r"A = \begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix},\ \begin{vmatrix} a & b \\ c & d \end{vmatrix}",
        r"\begin{cases} x + y = 3 \\ 2x - y = 0 \end{cases}",
        r"\text{Diện tích hình tròn bán kính } r \text{ là } S = \pi r^2",
        r"\widehat{xOy} = 60^\circ,\ \triangle ABC \sim \triangle DEF,\ AB \parallel CD,\ AB \perp BC",
        r"x \in \mathbb{R},\ \forall x > 0 \Rightarrow x^2 > 0,\ \lim_{x \to 0} \frac{\sin x}{x} = 1",
        r"\int_0^1 x\,dx = \frac{1}{2},\ \sum_{i=1}^{n} i = \frac{n(n+1)}{2},\ \log_2 8 = 3",
        r"\left( \frac{1}{2} \right)^{2} \cdot 4 \times 3 \div 2 \pm 1",
    ];

    #[test]
    fn vietnamese_maths_renders_to_mathml() {
        for f in FORMULAS {
            let html = render(&format!("${f}$"));
            assert!(html.contains("<math>"), "{f}: {html}");
            assert!(!html.contains("math-error"), "{f}: {html}");
        }
        let one = |f: &str| render(&format!("${f}$"));
        assert!(one(r"\frac{a}{b}").contains("<mfrac><mi>a</mi><mi>b</mi></mfrac>"));
        assert!(one(r"\sqrt{2}").contains("<msqrt><mn>2</mn></msqrt>"));
        assert!(one(r"\sqrt[3]{x}").contains("<mroot><mi>x</mi><mn>3</mn></mroot>"));
        assert!(one("x^2").contains("<msup><mi>x</mi><mn>2</mn></msup>"));
        assert!(one("a_1").contains("<msub><mi>a</mi><mn>1</mn></msub>"));
        let rel = one(r"a \le b \ge c \ne d");
        assert!(
            rel.contains("<mo>≤</mo>") && rel.contains("<mo>≥</mo>") && rel.contains("<mo>≠</mo>"),
            "{rel}"
        );
        assert!(one(r"\pi").contains("<mi>π</mi>"));
        assert!(one(r"\Delta").contains(">Δ</mi>"));
        let bar = one(r"\overline{abc}");
        assert!(
            bar.contains("<mover accent=\"true\">") && bar.contains("stretchy=\"true\""),
            "{bar}"
        );
        assert!(one(r"\vec{AB}").contains("⃗"));
        let m = one(r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}");
        assert_eq!(m.matches("<mtr>").count(), 2, "{m}");
        assert_eq!(m.matches("<mtd>").count(), 4, "{m}");
        let cases = one(r"\begin{cases} x = 1 \\ y = 2 \end{cases}");
        assert_eq!(
            cases.matches("<mtd columnalign=\"left\">").count(),
            2,
            "{cases}"
        );
        assert!(!cases.contains(" style="), "{cases}");
        let text = one(r"\text{Diện tích: } S = \pi r^2");
        // Spaces in text are kept as no-break spaces.
        assert!(
            text.contains("<mtext>Diện&nbsp;tích:&nbsp;</mtext>"),
            "{text}"
        );
        assert!(render("$$\\frac{1}{2}$$").contains("<math display=\"block\">"));
    }

    /// The (element, attribute) pairs of some HTML, from its tags.
    fn markup(html: &str) -> std::collections::BTreeSet<String> {
        let mut out = std::collections::BTreeSet::new();
        for tag in html.split('<').skip(1) {
            let tag = tag.split('>').next().unwrap_or("");
            if tag.starts_with('/') {
                continue;
            }
            let mut parts = tag.split_whitespace();
            let name = parts.next().unwrap_or("").trim_end_matches('/').to_owned();
            for attribute in parts {
                if let Some((key, _)) = attribute.split_once('=') {
                    out.insert(format!("{name}@{key}"));
                }
            }
            out.insert(name);
        }
        out
    }

    #[test]
    fn the_sanitizer_keeps_every_element_and_attribute_of_the_formulas() {
        let mut seen = std::collections::BTreeSet::new();
        for f in FORMULAS {
            for display in [false, true] {
                let raw = math(f, display);
                let mut expected = markup(&raw);
                expected.retain(|m| !m.ends_with("@style"));
                let clean = sanitizer().clean(&raw).to_string();
                assert_eq!(markup(&clean), expected, "{f}\n{raw}\n{clean}");
                seen.extend(expected);
            }
        }
        // Every element and attribute allowed is one the formulas above use or math-core can
        // write (checked by hand in its emitter); the corpus covers the common ones.
        for used in [
            "mfrac",
            "msqrt",
            "mroot",
            "mover@accent",
            "mtable",
            "mtd@columnalign",
            "mo@stretchy",
            "math@display",
            "mtext",
        ] {
            assert!(seen.contains(used), "{used}: {seen:?}");
        }
    }

    #[test]
    fn bad_latex_shows_its_source_and_the_page_goes_on() {
        let html = render("Trước $\\frac{1}$ giữa $\\khongco{x}$ sau $x^2$.");
        assert!(
            html.contains("<span class=\"math-error\"><code>\\frac{1}</code> <small>(công thức lỗi)</small></span>"),
            "{html}"
        );
        assert!(html.contains("<code>\\khongco{x}</code>"), "{html}");
        assert!(html.contains("Trước") && html.contains("sau"));
        assert!(html.contains("<msup><mi>x</mi><mn>2</mn></msup>"), "{html}");
        assert!(has_math(&render("$x^$")));
        // Unbalanced braces are not math for the Markdown reader: the text stays as typed.
        assert!(render("$\\frac{1}{$").contains("$\\frac{1}{$"));
        // The source of a bad formula is text, never markup.
        let html = render("$\\frac{<b onclick=x()>}$");
        assert!(!html.contains("<b"), "{html}");
        assert!(html.contains("&lt;b onclick=x()&gt;"), "{html}");
    }

    #[test]
    fn scripts_inside_math_are_removed() {
        for (input, bad) in [
            (
                "<math><mi>x</mi><script>alert(1)</script></math>",
                "<script",
            ),
            (
                "<math><mtext><img src=x onerror=alert(1)></mtext></math>",
                "onerror",
            ),
            (
                "<math href=\"javascript:alert(1)\"><mi>x</mi></math>",
                "javascript:",
            ),
            (
                "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
                "javascript:",
            ),
            ("<math><mi onclick=\"alert(1)\">x</mi></math>", "onclick"),
            ("<math><mi style=\"color:red\">x</mi></math>", "style"),
            (
                "<math><semantics><annotation-xml encoding=\"text/html\"><script>alert(1)</script></annotation-xml></semantics></math>",
                "<script",
            ),
            (
                "<math><mtable><mtr><mtd columnalign=\"javascript:a()\" onclick=\"a()\">1</mtd></mtr></mtable></math>",
                "onclick",
            ),
            (
                "<math><mtable><mtr><mtd columnalign=\"javascript:a()\">1</mtd></mtr></mtable></math>",
                "javascript",
            ),
            (
                "<math><maction actiontype=\"statusline\"><mi>x</mi><mtext>javascript:x</mtext></maction></math>",
                "maction",
            ),
            ("$\\text{<script>alert(1)</script>}$", "<script"),
            // Not a command math-core knows: shown as source, never as a link.
            ("$\\href{javascript:alert(1)}{x}$", "href="),
            ("$x$<svg><script>alert(1)</script></svg>", "<script"),
        ] {
            let html = render(input);
            assert!(!html.contains(bad), "{input} → {html}");
        }
        let html = render("$\\text{<script>alert(1)</script>}$");
        assert!(
            html.contains("<mtext>&lt;script&gt;alert(1)&lt;/script&gt;</mtext>"),
            "{html}"
        );
        // Raw MathML an author typed keeps only the allowed markup.
        let html = render(
            "<math display=\"block\"><mi mathvariant=\"normal\" onclick=\"a()\">x</mi></math>",
        );
        assert!(
            html.contains("<math display=\"block\"><mi mathvariant=\"normal\">x</mi></math>"),
            "{html}"
        );
    }

    #[test]
    fn links_open_safely() {
        let html = render("[SGK](https://example.com/sgk)");
        assert!(html.contains("href=\"https://example.com/sgk\""), "{html}");
        assert!(html.contains("noopener"), "{html}");
    }
}
