use super::*;
use typst::layout::{Frame, FrameItem};

/// Every text run of a document: (font family, text, glyph ids).
fn runs(doc: &PagedDocument) -> Vec<(String, String, Vec<u16>)> {
    fn walk(frame: &Frame, out: &mut Vec<(String, String, Vec<u16>)>) {
        for (_, item) in frame.items() {
            match item {
                FrameItem::Group(g) => walk(&g.frame, out),
                FrameItem::Text(t) => out.push((
                    t.font.font().info().family.clone(),
                    t.text.to_string(),
                    t.glyphs.iter().map(|g| g.id).collect(),
                )),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    for p in doc.pages() {
        walk(&p.frame, &mut out);
    }
    out
}

/// The document's text as laid out, runs joined by spaces.
fn text_of(doc: &PagedDocument) -> String {
    runs(doc)
        .into_iter()
        .map(|(_, t, _)| t)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Text extracted from the PDF bytes by poppler's `pdftotext`, when installed.
fn pdftotext(pdf: &[u8]) -> Option<String> {
    let dir = std::env::temp_dir().join(format!("lophoc-pdf-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join(format!("{:x}.pdf", pdf.len() ^ (pdf.as_ptr() as usize)));
    std::fs::write(&path, pdf).ok()?;
    let out = std::process::Command::new("pdftotext")
        .arg("-enc")
        .arg("UTF-8")
        .arg(&path)
        .arg("-")
        .output()
        .ok()?;
    let _ = std::fs::remove_file(&path);
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

const VIETNAMESE: &str = "Trường THPT Nguyễn Thị Minh Khai – Kiểm tra giữa kì: \
    ạ ả ã à á â ầ ấ ẩ ẫ ậ ă ằ ắ ẳ ẵ ặ đ Đ ẹ ẻ ẽ ê ề ế ể ễ ệ ỉ ị ọ ỏ ô ồ ố ổ ỗ ộ ơ ờ ớ ở ỡ ợ \
    ụ ủ ư ừ ứ ử ữ ự ỳ ý ỷ ỹ ỵ Phiếu trả lời Ậ Ử Ỹ";

#[test]
fn vietnamese_text_uses_real_glyphs_of_the_bundled_font() {
    let src = format!(
        "#set text(font: \"{TEXT_FONT}\", lang: \"vi\")\n{}\n\n#text(weight: \"bold\")[{}]\n\n#emph[{}]",
        escape(VIETNAMESE),
        escape(VIETNAMESE),
        escape(VIETNAMESE)
    );
    let doc = compile(&src, &[]).unwrap();
    let runs = runs(&doc);
    assert!(!runs.is_empty());
    for (family, text, glyphs) in &runs {
        assert_eq!(family, TEXT_FONT, "{text}");
        // Glyph 0 is .notdef, the empty box a missing letter prints as.
        assert!(glyphs.iter().all(|g| *g != 0), "missing glyph in {text:?}");
    }
    let laid_out: String = text_of(&doc).split_whitespace().collect();
    for word in ["Trường", "Nguyễn", "ặ", "ự", "ỹ", "Phiếu", "Ử"] {
        assert!(laid_out.contains(word), "{word}");
    }
    let pdf = render(&src, &[]).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    if let Some(t) = pdftotext(&pdf) {
        let t: String = t.split_whitespace().collect();
        let want: String = VIETNAMESE.split_whitespace().collect();
        assert!(t.contains(&want), "pdftotext gave {t}");
    }
}

const HOSTILE: &[&str] = &[
    "#sys.inputs",
    "#read(\"/etc/passwd\")",
    "#panic(\"x\")",
    "$x^2$ và $$",
    "*đậm* _nghiêng_ `mã`",
    "<nhan> @nhan",
    "\\ \\\\ \\u{41} \\#",
    "= Tiêu đề\n- mục\n+ số\n/ thuật ngữ: x\n1. một",
    "// chú thích /* khối */",
    "https://vi.wikipedia.org/wiki/Toán",
    "[ngoặc] {nhọn} ~ -- --- ... 'nháy' \"kép\"",
    "#let x = 1; #x",
];

#[test]
fn hostile_user_text_prints_as_typed() {
    let mut src = String::new();
    for h in HOSTILE {
        src.push_str(&format!("#block[{}]\n", escape(h)));
        src.push_str(&format!("#block(text({}))\n", string_literal(h)));
    }
    let doc = compile(&src, &[]).expect("escaped text always compiles");
    let laid_out: String = text_of(&doc).split_whitespace().collect();
    for h in HOSTILE {
        for word in h.split_whitespace() {
            assert!(
                laid_out.matches(word).count() >= 2,
                "{word:?} of {h:?} not printed twice in {laid_out}"
            );
        }
    }
    // Nothing was read: the passwd file's content is nowhere.
    assert!(!laid_out.contains("root:"));
    let pdf = render(&src, &[]).unwrap();
    if let Some(t) = pdftotext(&pdf) {
        assert!(t.contains("#read(\"/etc/passwd\")") || t.contains("#read(”/etc/passwd”)"));
        assert!(t.contains("#sys.inputs"));
        assert!(!t.contains("root:"));
    }
}

#[test]
fn documents_cannot_reach_the_filesystem_or_packages() {
    for src in [
        "#read(\"/etc/passwd\")",
        "#read(\"../../../../etc/passwd\")",
        "#image(\"/etc/hostname\")",
        "#include \"/etc/hosts\"",
        "#import \"@preview/cetz:0.3.0\": *",
        "#json(\"/proc/self/environ\")",
    ] {
        let err = render(src, &[]).unwrap_err();
        assert!(matches!(err, PdfError::Compile(_)), "{src}: {err}");
    }
    // The in-memory files are readable, by name.
    let doc = compile(
        "#read(\"ghi-chu.txt\")",
        &[(
            "ghi-chu.txt".into(),
            "Đọc được từ bộ nhớ".as_bytes().to_vec(),
        )],
    )
    .unwrap();
    assert!(text_of(&doc).contains("bộ nhớ"));
    // A broken document gives an error naming the line, not a panic.
    let err = render("Dòng một\n#foo(", &[]).unwrap_err().to_string();
    assert!(err.contains("dòng 2"), "{err}");
}

#[test]
fn formulas_render_and_broken_ones_show_their_source() {
    let formulas = [
        "\\frac{3}{4}",
        "x^{2} + y_{1}^{2}",
        "\\sqrt{2} + \\sqrt[3]{x}",
        "\\Delta = b^2 - 4ac \\ge 0",
        "\\left( \\frac{1}{2} \\right)^{n}",
        "\\begin{cases} x+1 & x \\ge 0 \\\\ -x & x<0 \\end{cases}",
        "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
        "\\lim_{x \\to 0} \\frac{\\sin x}{x} = 1",
        "\\int_{0}^{1} x \\, dx = \\frac{1}{2}",
        "\\sum_{k=1}^{n} k = \\frac{n(n+1)}{2}",
        "x \\in \\mathbb{R} \\setminus \\{0\\}",
        "\\overrightarrow{AB} \\perp \\vec{u}",
        "\\text{với mọi } x > 0",
        "v = 2,5 \\text{ m/s}",
        "a \\cdot b \\times c \\pm d \\ne \\infty",
        "\\left| x \\right| < 1",
        "\\left\\{ x \\right.",
        "\\alpha\\beta\\gamma \\pi \\varphi \\omega",
        "\\overline{z} + \\hat{x} + \\tilde{y}",
        "f'(x) = 2x",
        "\\operatorname{tg} x",
        "\\log_{2} 8 = 3",
        "a \\\\",
        "90^\\circ",
    ];
    let mut src = String::new();
    for f in formulas {
        assert!(latex_to_typst(f).is_some(), "{f} converts");
        src.push_str(&format!("#block[{}]\n", math(f)));
    }
    let doc = compile(&src, &[]).unwrap_or_else(|e| panic!("{e}\n{src}"));
    let runs = runs(&doc);
    assert!(
        runs.iter().any(|(f, _, _)| f.contains("Math")),
        "formulas use the math font"
    );
    for (family, text, glyphs) in &runs {
        assert!(glyphs.iter().all(|g| *g != 0), "{family}: {text:?}");
    }
    // Not understood: printed as its source, with the dollars.
    let doc = compile(&math("\\weird{x} + 1"), &[]).unwrap();
    let t: String = text_of(&doc).split_whitespace().collect();
    assert!(t.contains("$\\weird{x}+1$"), "{t}");
}

#[test]
fn images_from_memory_render() {
    // A 1×1 PNG and a small SVG with Vietnamese text.
    let png: Vec<u8> = vec![
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F,
        0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8,
        0xCF, 0xC0, 0xF0, 0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00,
        0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];
    let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 20"><rect width="60" height="10" fill="green"/><text x="0" y="18" font-size="8">Trường</text></svg>"#.as_bytes().to_vec();
    let src = "#image(\"hinh 1.png\", width: 2cm)\n#image(\"bieu-do.svg\", width: 5cm)";
    let pdf = render(
        src,
        &[("hinh 1.png".into(), png), ("bieu-do.svg".into(), svg)],
    )
    .unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    // A broken image is an error, not a panic.
    let err = render(
        "#image(\"x.png\")",
        &[("x.png".into(), b"not a png".to_vec())],
    );
    assert!(err.is_err());
}

#[test]
fn escape_and_literals_are_exact() {
    assert_eq!(escape("a#b"), "a\\#b");
    assert_eq!(escape("Câu 1."), "Câu 1\\.");
    assert_eq!(escape("x\ny"), "x\\\ny");
    assert_eq!(string_literal("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
}
