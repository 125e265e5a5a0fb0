//! PDF downloads, rendered on the server by typst (the `pdf` crate) with the fonts compiled in:
//!
//! - `/exams/{id}/paper.pdf?versions=N`: N shuffled paper versions (mã đề), each with its answer
//!   sheet, and the answer keys of every version — the PDF twin of `paper.docx`;
//! - `/schools/{id}/self-assessment/{year}/export.pdf`: a school's Decision 4725 self-assessment,
//!   the same content as its print page, with the principal's signature block;
//! - `/units/{id}/self-assessments/export.pdf?year=…`: the levels of every school below a unit;
//! - `/units/{id}/coverage.pdf`: the coverage dashboard, its chart included (an SVG image).
//!
//! Each route checks exactly what its HTML or Word twin checks, through the same loaders.
//! User text goes through [`pdf::escape`], so names and notes never run as typst code.
//! Rendering is CPU work and runs on the blocking pool.

use std::fmt::Write as _;

use super::exams::{PaperQuery, paper_versions_of};
use super::oversight::Line;
use super::self_assessment::{View, build, current_cycle, fmt_date, load_school_year};
use crate::AppState;
use crate::auth::Session;
use crate::error::{WebError, WebResult};
use crate::view::format_ms;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use domain::Id;
use domain::auth::Action;
use domain::d4725;
use domain::oversight::Rag;
use pdf::escape;

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/exams/{id}/paper.pdf", get(paper))
        .route(
            "/schools/{id}/self-assessment/{year}/export.pdf",
            get(self_assessment),
        )
        .route("/units/{id}/self-assessments/export.pdf", get(unit_levels))
        .route("/units/{id}/coverage.pdf", get(coverage))
}

/// A PDF to download, under an ASCII file name.
fn pdf_download(bytes: Vec<u8>, name: &str) -> Response {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// Renders on the blocking pool; a document typst refuses is a bug of ours, logged as such.
async fn render(src: String, files: Vec<(String, Vec<u8>)>) -> WebResult<Vec<u8>> {
    tokio::task::spawn_blocking(move || pdf::render(&src, &files))
        .await
        .map_err(|e| WebError::Internal(e.into()))?
        .map_err(|e| WebError::Internal(e.into()))
}

/// Page setup shared by the reports: A4, the bundled serif font, Vietnamese hyphenation, page
/// numbers and the time the figures were taken.
fn preamble(title: &str, landscape: bool) -> String {
    format!(
        "#set document(title: {title})
#set text(font: \"{font}\", size: 10pt, lang: \"vi\")
#set par(justify: false, leading: 0.5em)
#set page(paper: \"a4\", flipped: {landscape}, margin: (x: 1.5cm, y: 1.5cm),
  footer: context align(center, text(size: 8pt)[{stamp} · Trang #counter(page).display() / #counter(page).final().first()]))
#set table(stroke: 0.5pt + luma(120), inset: 4pt)
#show table.cell.where(y: 0): set text(weight: \"bold\")
",
        title = pdf::string_literal(title),
        font = pdf::TEXT_FONT,
        stamp = escape(&format!("lophoc · số liệu lúc {}", format_ms(db::now_ms()))),
    )
}

/// A table cell of plain text.
fn cell(text: &str) -> String {
    format!("[{}]", escape(text))
}

// ----- paper versions -----

/// The paper versions as PDF: the same versions, header and keys as `paper.docx` (one loader,
/// [`paper_versions_of`], checks and prepares both).
async fn paper(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<PaperQuery>,
) -> WebResult<Response> {
    let p = paper_versions_of(&state, &s, id, &q).await?;
    let n = p.n;
    let bytes =
        tokio::task::spawn_blocking(move || exam::pdf::paper_pdf(&p.header, &p.paper, &p.versions))
            .await
            .map_err(|e| WebError::Internal(e.into()))?
            .map_err(|e| WebError::Internal(e.into()))?;
    Ok(pdf_download(bytes, &format!("de-kiem-tra-{n}-ma-de.pdf")))
}

// ----- Decision 4725 -----

/// The typst source of one school's self-assessment, as its print page shows it.
fn self_assessment_source(v: &View) -> String {
    let year = d4725::cycle_label(v.a.start_year);
    let mut w = preamble(
        &format!("Tự đánh giá chuyển đổi số {} – {year}", v.school.name),
        false,
    );
    let _ = writeln!(
        w,
        "#align(center)[#text(size: 13pt, weight: \"bold\")[TỰ ĐÁNH GIÁ MỨC ĐỘ CHUYỂN ĐỔI SỐ]\\
Theo Quyết định 4725/QĐ-BGDĐT · Năm học {}\\
#text(size: 12pt, weight: \"bold\")[{}]]",
        escape(&year),
        escape(&v.school.name.to_uppercase())
    );
    let mut facts = vec![
        format!(
            "Mã trường {} · {} · Đơn vị xét duyệt: {}",
            v.school.code,
            v.school.level.label(),
            v.place.managing.name
        ),
        format!(
            "Trạng thái: {} · Bộ tiêu chí phiên bản {}",
            v.a.status.label(),
            v.cat.version
        ),
        format!(
            "Hạn nộp hồ sơ {} · Hạn công bố {}",
            fmt_date(v.deadlines.submit),
            fmt_date(v.deadlines.publish)
        ),
    ];
    let mut when = Vec::new();
    if let Some(t) = v.a.submitted_at {
        when.push(format!("Nộp lúc {}", format_ms(t)));
    }
    if let Some(t) = v.a.reviewed_at {
        when.push(format!("xét duyệt lúc {}", format_ms(t)));
    }
    if let Some(t) = v.a.published_at {
        when.push(format!("công bố lúc {}", format_ms(t)));
    }
    if !when.is_empty() {
        facts.push(when.join(" · "));
    }
    facts.push(if v.figures_live {
        "Số liệu tự động lấy trực tiếp từ nền tảng tại thời điểm in.".into()
    } else {
        "Số liệu tự động được chốt khi trường nộp hồ sơ.".into()
    });
    let _ = writeln!(
        w,
        "#v(4pt)\n{}\n",
        facts
            .iter()
            .map(|f| escape(f))
            .collect::<Vec<_>>()
            .join("\\\n")
    );
    // Totals per group and the overall level, with last year's beside them.
    let mut cells = vec![cell("Nhóm"), cell("Điểm"), cell("Mức"), cell("Năm trước")];
    for g in &v.groups {
        cells.push(cell(g.title));
        cells.push(cell(&format!("{}/{}", g.total, g.max)));
        cells.push(cell(&g.level));
        cells.push(cell(
            &g.prev
                .as_ref()
                .map(|(t, l)| format!("{t} · {l}"))
                .unwrap_or_else(|| "—".into()),
        ));
    }
    cells.push("[*Mức chung*]".into());
    cells.push("[]".into());
    cells.push(format!("[*{}*]", escape(&v.overall)));
    cells.push(cell(
        &v.prev_year
            .as_ref()
            .map(|(y, l)| format!("{y}: {l}"))
            .unwrap_or_else(|| "—".into()),
    ));
    let _ = writeln!(
        w,
        "#table(columns: (1fr, auto, auto, auto), {})",
        cells.join(", ")
    );
    for g in &v.groups {
        if !g.missing.is_empty() {
            let _ = writeln!(
                w,
                "#text(fill: rgb(\"#b00020\"))[{}]\n",
                escape(&format!(
                    "Nhóm {} còn thiếu điều kiện bắt buộc: {}",
                    g.group, g.missing
                ))
            );
        }
    }
    if !v.general_note.is_empty() {
        let _ = writeln!(
            w,
            "#block(stroke: 0.5pt, inset: 6pt)[*Nhận xét chung của đơn vị quản lý:* {}]",
            escape(&v.general_note)
        );
    }
    for g in &v.groups {
        let _ = writeln!(
            w,
            "#block(above: 1.2em, below: 0.5em, text(size: 11pt, weight: \"bold\", {}))",
            pdf::string_literal(g.title)
        );
        let mut cells = vec![
            cell("Tiêu chí"),
            cell("Nội dung"),
            cell("Giá trị"),
            cell("Điểm"),
            cell("Nguồn số liệu, minh chứng, nhận xét"),
        ];
        for r in v.rows.iter().filter(|r| r.c.group == g.group) {
            let mut title = r.c.title.clone();
            if r.c.mandatory {
                title.push_str(" (bắt buộc)");
            }
            let mut notes = vec![match r.source {
                "auto" => format!("Tự động: {}", r.measure_label),
                "unavailable" => {
                    format!("Nhập tay (nền tảng chưa có số liệu: {})", r.measure_label)
                }
                _ => "Trường nhập".into(),
            }];
            if let Some(f) = &r.item.file {
                notes.push(format!("Tệp minh chứng: {}", f.name));
            }
            if let Some(u) = &r.item.url {
                notes.push(format!("Liên kết: {u}"));
            }
            if !r.item.note.is_empty() {
                notes.push(format!("Ghi chú: {}", r.item.note));
            }
            for c in &r.comments {
                notes.push(format!(
                    "Nhận xét{}: {}{}",
                    c.author_name
                        .as_ref()
                        .map(|a| format!(" của {a}"))
                        .unwrap_or_default(),
                    c.body,
                    if r.fixed { " (đã sửa)" } else { "" }
                ));
            }
            let points = match &r.prev_points {
                Some(p) => format!("{} (năm trước {p})", r.points_text),
                None => r.points_text.clone(),
            };
            cells.push(format!("[*{}*]", escape(&r.c.code)));
            cells.push(cell(&title));
            cells.push(cell(&r.value_text));
            cells.push(cell(&points));
            cells.push(format!(
                "[#text(size: 8.5pt)[{}]]",
                notes
                    .iter()
                    .map(|n| escape(n))
                    .collect::<Vec<_>>()
                    .join("\\\n")
            ));
        }
        let _ = writeln!(
            w,
            "#table(columns: (auto, 2fr, auto, auto, 2fr), {})",
            cells.join(", ")
        );
    }
    let _ = writeln!(
        w,
        "#v(1.5em)\n#align(right)[#block(width: 8cm)[#align(center)[{}\\\n*HIỆU TRƯỞNG*\\\n#text(style: \"italic\")[(Ký, ghi rõ họ tên, đóng dấu)]]]]",
        escape("Ngày …… tháng …… năm ……")
    );
    w
}

/// A school's self-assessment as PDF: who may see its print page may download it.
async fn self_assessment(
    State(state): State<AppState>,
    s: Session,
    Path((id, year)): Path<(Id, i32)>,
) -> WebResult<Response> {
    let (school, a) = load_school_year(&state, &s, id, year, Action::ViewSchool).await?;
    let v = build(&state, school, a).await?;
    let bytes = render(self_assessment_source(&v), Vec::new()).await?;
    Ok(pdf_download(
        bytes,
        &format!(
            "tu-danh-gia-cds-{}-{}.pdf",
            v.school.code,
            d4725::cycle_label(v.a.start_year)
        ),
    ))
}

#[derive(serde::Deserialize)]
struct YearQuery {
    year: Option<i32>,
}

/// The levels of every school below a unit, as its overview page and Excel export list them.
async fn unit_levels(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<YearQuery>,
) -> WebResult<Response> {
    let year = q.year.unwrap_or_else(current_cycle);
    let (unit, lines) = super::self_assessment::overview_lines(&state, &s, id, year).await?;
    let label = d4725::cycle_label(year);
    let mut w = preamble(
        &format!("Mức độ chuyển đổi số – {} – {label}", unit.name),
        true,
    );
    let _ = writeln!(
        w,
        "#align(center)[#text(size: 13pt, weight: \"bold\")[MỨC ĐỘ CHUYỂN ĐỔI SỐ CÁC CƠ SỞ GIÁO DỤC]\\
Theo Quyết định 4725/QĐ-BGDĐT · Năm học {}\\
#text(size: 12pt, weight: \"bold\")[{}]]",
        escape(&label),
        escape(&unit.name.to_uppercase())
    );
    // Counts by status and by published level.
    let mut counts: Vec<(String, usize)> = d4725::Status::ALL
        .iter()
        .map(|st| {
            (
                st.label().to_owned(),
                lines
                    .iter()
                    .filter(|l| l.a.as_ref().is_some_and(|a| a.status == *st))
                    .count(),
            )
        })
        .collect();
    counts.push((
        "Chưa bắt đầu".into(),
        lines.iter().filter(|l| l.a.is_none()).count(),
    ));
    for n in 1..=3 {
        counts.push((
            format!("Đã công bố Mức {n}"),
            lines
                .iter()
                .filter(|l| l.published() && l.a.as_ref().and_then(|a| a.level) == Some(n))
                .count(),
        ));
    }
    let _ = writeln!(
        w,
        "#v(4pt)\n{}: *{}* · {}\n",
        escape("Số trường"),
        lines.len(),
        counts
            .iter()
            .map(|(l, c)| format!("{}: *{c}*", escape(l)))
            .collect::<Vec<_>>()
            .join(" · ")
    );
    let mut cells: Vec<String> = [
        "Mã trường",
        "Tên trường",
        "Cấp học",
        "Đơn vị xét duyệt",
        "Trạng thái",
        "Nhóm 1",
        "Nhóm 2",
        "Mức chung",
        "Năm trước",
    ]
    .iter()
    .map(|h| cell(h))
    .collect();
    for l in &lines {
        let (t1, l1, t2, l2, lv) = l.now();
        let (p1, _, p2, _, plv) = l.before();
        cells.extend([
            cell(&l.school.code),
            cell(&l.school.name),
            cell(l.school.level.label()),
            cell(&l.managing),
            cell(l.status()),
            cell(&format!("{t1} · {l1}")),
            cell(&format!("{t2} · {l2}")),
            format!("[*{}*]", escape(&lv)),
            cell(&format!("{p1} · {p2} · {plv}")),
        ]);
    }
    let _ = writeln!(
        w,
        "#table(columns: (auto, 2fr, auto, 1.2fr, 1.2fr, auto, auto, auto, auto), {})",
        cells.join(", ")
    );
    let bytes = render(w, Vec::new()).await?;
    Ok(pdf_download(
        bytes,
        &format!("chuyen-doi-so-{}-{label}.pdf", unit.code),
    ))
}

// ----- coverage -----

/// Bars on the chart at most.
const CHART_MAX: usize = 20;

fn rag_color(r: Rag) -> &'static str {
    match r {
        Rag::Red => "#c62828",
        Rag::Amber => "#f9a825",
        Rag::Green => "#2e7d32",
    }
}

/// The dashboard's bar chart (teachers active in 30 days, per school) as a standalone SVG.
fn coverage_svg(lines: &[Line]) -> String {
    let row = 22;
    let (left, bar) = (210, 260);
    let height = lines.len() * row + 8;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 520 {height}\" width=\"520\" height=\"{height}\" font-family=\"{}\" font-size=\"11\">",
        pdf::TEXT_FONT
    );
    let _ = write!(
        svg,
        "<line x1=\"{left}\" y1=\"0\" x2=\"{left}\" y2=\"{height}\" stroke=\"#888\" stroke-width=\"0.5\"/>"
    );
    for (i, l) in lines.iter().enumerate() {
        let y = i * row + 4;
        let pct = l.staff_pct().clamp(0, 100);
        let width = pct * bar / 100;
        let mut label: String = l.school.name.chars().take(34).collect();
        if l.school.name.chars().count() > 34 {
            label.push('…');
        }
        let _ = write!(
            svg,
            "<rect x=\"{left}\" y=\"{y}\" width=\"{width}\" height=\"16\" fill=\"{}\"/><text x=\"0\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\">{pct}%</text>",
            rag_color(l.rag),
            y + 12,
            xml_escape(&label),
            left + 4 + width,
            y + 12
        );
    }
    svg.push_str("</svg>");
    svg
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The coverage dashboard as PDF: summary, chart, and one line per school.
async fn coverage(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Response> {
    let (unit, lines) = super::oversight::lines(&state, &s, id).await?;
    let mut w = preamble(&format!("Độ phủ nền tảng – {}", unit.name), true);
    let count = |r: Rag| lines.iter().filter(|l| l.rag == r).count();
    let deployed = lines.iter().filter(|l| l.c.deployed).count();
    let _ = writeln!(
        w,
        "#align(center)[#text(size: 13pt, weight: \"bold\")[ĐỘ PHỦ NỀN TẢNG DẠY HỌC TRỰC TUYẾN]\\
#text(size: 12pt, weight: \"bold\")[{}]]",
        escape(&unit.name.to_uppercase())
    );
    let _ = writeln!(
        w,
        "#v(4pt)\n{}\n",
        escape(&format!(
            "Đã triển khai: {deployed}/{} trường · Đang sử dụng tốt: {} · Sử dụng ít: {} · Chưa triển khai hoặc chưa sử dụng: {}",
            lines.len(),
            count(Rag::Green),
            count(Rag::Amber),
            count(Rag::Red)
        ))
    );
    let mut files = Vec::new();
    if !lines.is_empty() {
        // One landscape page holds about twenty bars: a province's chart shows the schools
        // that need attention first (the lines are sorted so), the table lists them all.
        let shown = &lines[..lines.len().min(CHART_MAX)];
        files.push(("bieu-do.svg".to_owned(), coverage_svg(shown).into_bytes()));
        let mut note = "Màu: xanh – đang sử dụng tốt; vàng – sử dụng ít; đỏ – chưa triển khai hoặc chưa sử dụng.".to_owned();
        if shown.len() < lines.len() {
            note.push_str(&format!(
                " Biểu đồ hiện {} trường cần quan tâm nhất; bảng dưới có đủ {} trường.",
                shown.len(),
                lines.len()
            ));
        }
        let _ = writeln!(
            w,
            "#block(above: 1em, below: 0.4em)[*{}*]\n#image(\"bieu-do.svg\", width: 16cm)\n#text(size: 8pt)[{}]\n",
            escape("Giáo viên hoạt động trong 30 ngày (tỉ lệ %)"),
            escape(&note)
        );
    }
    let mut cells: Vec<String> = [
        "Mã trường",
        "Tên trường",
        "Đánh giá",
        "GV hoạt động 30 ngày",
        "HS hoạt động 30 ngày",
        "Phụ huynh kết nối",
        "Thông báo, tin nhắn 30 ngày",
        "Học liệu (đã duyệt/tổng)",
        "Bài tập",
        "Tiết trực tuyến/kế hoạch",
    ]
    .iter()
    .map(|h| cell(h))
    .collect();
    for l in &lines {
        cells.extend([
            cell(&l.school.code),
            cell(&l.school.name),
            format!(
                "[#box(width: 6pt, height: 6pt, fill: rgb(\"{}\")) {}]",
                rag_color(l.rag),
                escape(l.rag.label())
            ),
            cell(&format!(
                "{}/{} ({}%)",
                l.c.staff_active_30,
                l.c.staff,
                l.staff_pct()
            )),
            cell(&format!(
                "{}/{} ({}%)",
                l.c.students_active_30,
                l.c.students,
                l.students_pct()
            )),
            cell(&format!(
                "{}/{} ({}%)",
                l.c.parents_connected,
                l.c.parents,
                l.parents_pct()
            )),
            cell(&format!("{}, {}", l.c.announcements_30, l.c.messages_30)),
            cell(&format!("{}/{}", l.c.materials_approved, l.c.materials)),
            cell(&l.c.tasks.to_string()),
            cell(&format!("{}/{}", l.c.periods_online, l.c.periods_planned)),
        ]);
    }
    let _ = writeln!(
        w,
        "#table(columns: (auto, 2fr, 1.6fr, 1fr, 1fr, 1fr, 1fr, 1fr, 0.6fr, 1fr), {})",
        cells.join(", ")
    );
    let bytes = render(w, files).await?;
    Ok(pdf_download(bytes, &format!("do-phu-{}.pdf", unit.code)))
}
