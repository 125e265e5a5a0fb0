//! Tests build .docx files the way Word writes them, then import them.

use std::io::{Cursor, Write};

use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use super::*;
use crate::Error;
use crate::model::{
    Asset, Content, Criterion, Exam, Passage, Question, QuestionKind, Section, ShortKey, Statement,
};
use crate::shuffle::{ShuffleOptions, make_versions};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0\x1f\xf3\xffa\0\0\0\x0bIDATx\x9cc\0\x01\0\0\x05\0\x01\r\n-\xb4\0\0\0\0IEND\xaeB`\x82";

const CT: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="png" ContentType="image/png"/><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;

const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId5" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="media/image1.png"/><Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://example.com" TargetMode="External"/></Relationships>"#;

pub(crate) fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut z = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in files {
        z.start_file(*name, SimpleFileOptions::default()).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap().into_inner()
}

pub(crate) fn document(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:wpc="http://schemas.microsoft.com/office/word/2010/wordprocessingCanvas" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:m="http://schemas.openxmlformats.org/officeDocument/2006/math" xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture" mc:Ignorable="w14 wp14"><w:body>{body}<w:sectPr w:rsidR="00A1"><w:pgSz w:w="11906" w:h="16838"/></w:sectPr></w:body></w:document>"#
    )
}

fn docx(body: &str) -> Vec<u8> {
    let doc = document(body);
    zip_of(&[
        ("[Content_Types].xml", CT.as_bytes()),
        ("_rels/.rels", br#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#),
        ("word/document.xml", doc.as_bytes()),
        ("word/_rels/document.xml.rels", RELS.as_bytes()),
        ("word/media/image1.png", PNG),
    ])
}

/// A run as Word writes it, with rsid noise and fonts.
fn r(text: &str) -> String {
    format!(
        r#"<w:r w:rsidRPr="00C31F2B"><w:rPr><w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman"/><w:sz w:val="24"/></w:rPr><w:t xml:space="preserve">{text}</w:t></w:r>"#
    )
}
fn rb(text: &str) -> String {
    format!(r#"<w:r><w:rPr><w:b/><w:bCs/></w:rPr><w:t xml:space="preserve">{text}</w:t></w:r>"#)
}
fn ru(text: &str) -> String {
    format!(
        r#"<w:r><w:rPr><w:rFonts w:ascii="Times New Roman"/><w:u w:val="single"/></w:rPr><w:t xml:space="preserve">{text}</w:t></w:r>"#
    )
}
fn rred(text: &str) -> String {
    format!(
        r#"<w:r><w:rPr><w:color w:val="C00000"/></w:rPr><w:t xml:space="preserve">{text}</w:t></w:r>"#
    )
}
fn tab() -> String {
    "<w:r><w:tab/></w:r>".to_owned()
}
fn p(runs: &[String]) -> String {
    format!(
        r#"<w:p w:rsidR="00B2" w:rsidRDefault="00B2"><w:pPr><w:spacing w:after="0"/><w:jc w:val="both"/></w:pPr>{}</w:p>"#,
        runs.concat()
    )
}
fn tc(text: &str) -> String {
    format!(
        r#"<w:tc><w:tcPr><w:tcW w:w="900" w:type="dxa"/></w:tcPr>{}</w:tc>"#,
        p(&[r(text)])
    )
}
fn table(rows: &[&[&str]]) -> String {
    let rows: String = rows
        .iter()
        .map(|row| {
            format!(
                "<w:tr>{}</w:tr>",
                row.iter().map(|c| tc(c)).collect::<String>()
            )
        })
        .collect();
    format!(
        r#"<w:tbl><w:tblPr><w:tblStyle w:val="TableGrid"/><w:tblW w:w="0" w:type="auto"/></w:tblPr><w:tblGrid><w:gridCol w:w="900"/></w:tblGrid>{rows}</w:tbl>"#
    )
}
const DRAWING: &str = r#"<w:r><w:rPr><w:noProof/></w:rPr><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0"><wp:extent cx="152400" cy="152400"/><wp:docPr id="1" name="Picture 1"/><a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic><pic:nvPicPr><pic:cNvPr id="0" name="image1.png"/><pic:cNvPicPr/></pic:nvPicPr><pic:blipFill><a:blip r:embed="rId5"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill><pic:spPr/></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r>"#;
const FRAC: &str = r#"<m:oMath><m:r><m:rPr><m:sty m:val="p"/></m:rPr><w:rPr><w:rFonts w:ascii="Cambria Math" w:hAnsi="Cambria Math"/></w:rPr><m:t>y=</m:t></m:r><m:f><m:fPr><m:ctrlPr><w:rPr><w:rFonts w:ascii="Cambria Math"/></w:rPr></m:ctrlPr></m:fPr><m:num><m:r><m:t>2x+1</m:t></m:r></m:num><m:den><m:r><m:t>x−1</m:t></m:r></m:den></m:f></m:oMath>"#;

pub(crate) fn teacher_file() -> Vec<u8> {
    let body = [
        p(&[
            rb("PHẦN I. Câu trắc nghiệm nhiều phương án lựa chọn. "),
            r("Thí sinh trả lời từ câu 1 đến câu 4."),
        ]),
        // Câu 1: equation in the stem, key underlined on the letter only.
        p(&[
            rb("Câu 1."),
            r(" Tiệm cận đứng của đồ thị hàm số "),
            FRAC.to_owned(),
            r(" là"),
        ]),
        p(&[
            r("A. x = 2."),
            tab(),
            ru("B."),
            r(" x = 1."),
            tab(),
            r("C. y = 2."),
            tab(),
            r("D. y = 1."),
        ]),
        // Câu 2: key in red, an image in the stem, options two per line.
        p(&[rb("Câu 2: "), r("Hình nào sau đây là hình vuông?")]),
        p(&[DRAWING.to_owned()]),
        p(&[r("A. Hình 1"), tab(), tab(), rred("B. Hình 2")]),
        p(&[r("C. Hình 3"), tab(), tab(), r("D. Cả A và B")]),
        // Câu 3: key only in the answer table; "Câu 3 ." with a space.
        p(&[
            rb("Câu 3 ."),
            r(" Số nghiệm thực của phương trình "),
            r("$x^2-4=0$"),
            r(" là"),
        ]),
        p(&[r("A. 0")]),
        p(&[r("B. 1")]),
        p(&[r("C. 2")]),
        p(&[r("D. 3")]),
        // Câu 4: no key anywhere.
        p(&[rb("Câu 4. "), r("Chọn khẳng định đúng.")]),
        p(&[
            r("A. 1 > 2"),
            tab(),
            r("B. 2 > 3"),
            tab(),
            r("C. 3 > 4"),
            tab(),
            r("D. 4 > 5"),
        ]),
        p(&[rb("PHẦN II. Câu trắc nghiệm đúng sai.")]),
        p(&[rb("Câu 1. "), r("Cho hàm số "), r("$f(x)=x^3-3x$"), r(".")]),
        p(&[r("a) "), r("$f(0)=0$"), r(".")]),
        p(&[r("b) Hàm số đồng biến trên ℝ.")]),
        p(&[r("c) Đạo hàm "), r("$f'(x)=3x^2-3$"), r(".")]),
        p(&[r("d) Hàm số có hai cực trị.")]),
        p(&[r("Đáp án: Đ S Đ Đ")]),
        p(&[rb("Câu 2. "), r("Về địa lí Việt Nam:")]),
        p(&[ru("a) Hà Nội là thủ đô.")]),
        p(&[r("b) Huế thuộc Nam Bộ.")]),
        p(&[ru("c) Việt Nam giáp Lào.")]),
        p(&[r("d) Đà Lạt ở đồng bằng.")]),
        p(&[rb("PHẦN III. Câu trắc nghiệm trả lời ngắn.")]),
        p(&[rb("Câu 1. "), r("Tính "), r("$\\frac{5}{2}$"), r(".")]),
        p(&[r("Đáp án: 2,5")]),
        p(&[rb("Câu 2. "), r("Thủ đô của Nhật Bản là thành phố nào?")]),
        p(&[r("Đáp án: Tokyo; Tô-ki-ô")]),
        p(&[rb("BẢNG ĐÁP ÁN")]),
        table(&[&["Câu", "1", "2", "3"], &["Đáp án", "B", "B", "C"]]),
    ]
    .concat();
    docx(&body)
}

#[test]
fn a_teachers_file_is_read_with_every_kind_of_key() {
    let rep = import(&teacher_file()).unwrap();
    assert_eq!(rep.errors, vec![]);
    let qs = &rep.questions;
    assert_eq!(
        qs.len(),
        8,
        "{:#?}",
        qs.iter()
            .map(|q| (q.number, &q.question.stem))
            .collect::<Vec<_>>()
    );
    // Câu 1: OMML converted, options split on tabs, underline on the letter.
    assert_eq!(
        qs[0].question.stem.as_str(),
        "Tiệm cận đứng của đồ thị hàm số $y=\\frac{2x+1}{x-1}$ là"
    );
    let QuestionKind::SingleChoice { options, key } = &qs[0].question.kind else {
        panic!()
    };
    assert_eq!(
        options.iter().map(Content::as_str).collect::<Vec<_>>(),
        ["x = 2.", "x = 1.", "y = 2.", "y = 1."]
    );
    assert_eq!(*key, Some(1));
    assert_eq!(qs[0].question.points, 0.25);
    // Câu 2: red key, image kept as an asset.
    assert_eq!(
        qs[1].question.stem.as_str(),
        "Hình nào sau đây là hình vuông?\n{{img:image1.png}}"
    );
    assert!(matches!(
        qs[1].question.kind,
        QuestionKind::SingleChoice { key: Some(1), .. }
    ));
    assert_eq!(rep.assets.len(), 1);
    assert_eq!(rep.assets[0].mime, "image/png");
    assert_eq!(rep.assets[0].bytes, PNG);
    // Câu 3: the answer table.
    assert_eq!(qs[2].number, 3);
    assert!(matches!(
        qs[2].question.kind,
        QuestionKind::SingleChoice { key: Some(2), .. }
    ));
    // Câu 4: kept, with a warning for the preview.
    assert!(matches!(
        qs[3].question.kind,
        QuestionKind::SingleChoice { key: None, .. }
    ));
    assert_eq!(
        qs[3].warnings,
        vec!["Câu 4: không tìm thấy đáp án".to_owned()]
    );
    // Part II.
    let truths = |q: &Question| match &q.kind {
        QuestionKind::TrueFalseCluster { statements } => {
            statements.iter().map(|s| s.truth).collect::<Vec<_>>()
        }
        _ => panic!("not a cluster"),
    };
    assert_eq!(
        truths(&qs[4].question),
        vec![Some(true), Some(false), Some(true), Some(true)]
    );
    assert_eq!(
        qs[4].section.as_deref(),
        Some("PHẦN II. Câu trắc nghiệm đúng sai.")
    );
    assert_eq!(
        truths(&qs[5].question),
        vec![Some(true), Some(false), Some(true), Some(false)]
    );
    // Part III.
    assert_eq!(
        qs[6].question.kind,
        QuestionKind::ShortAnswer {
            key: Some(ShortKey::Numeric {
                value: 2.5,
                tolerance: 0.0
            })
        }
    );
    assert_eq!(
        qs[7].question.kind,
        QuestionKind::ShortAnswer {
            key: Some(ShortKey::Text {
                accepted: vec!["Tokyo".into(), "Tô-ki-ô".into()]
            })
        }
    );
    assert_eq!(rep.counts.single_choice, 4);
    assert_eq!(rep.counts.true_false, 2);
    assert_eq!(rep.counts.short_answer, 2);
}

#[test]
fn broken_questions_are_errors_with_their_number() {
    let body = [
        p(&[rb("Câu 5. "), r("Chọn đáp án")]),
        p(&[ru("A. Hà Nội"), tab(), r("B. Ha  noi")]),
        p(&[rb("Câu 6. "), r("Đúng hay sai?")]),
        p(&[r("a) Một"), tab(), r("b) Hai")]),
        p(&[r("Đáp án: Đ S")]),
    ]
    .concat();
    let rep = import(&docx(&body)).unwrap();
    let msgs: Vec<String> = rep.errors.iter().map(|e| e.message.clone()).collect();
    assert!(
        msgs.contains(&"Câu 5: phương án A và B trùng nhau".to_owned()),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("Câu 6: câu đúng/sai phải có đúng 4 ý")),
        "{msgs:?}"
    );
    assert!(rep.questions.is_empty());
}

#[test]
fn macro_files_are_refused() {
    let doc = document(&p(&[r("x")]));
    let with_vba = zip_of(&[
        ("[Content_Types].xml", CT.as_bytes()),
        ("word/document.xml", doc.as_bytes()),
        ("word/vbaProject.bin", b"\xd0\xcf\x11\xe0"),
    ]);
    assert_eq!(import(&with_vba).unwrap_err(), Error::MacroEnabled);
    let docm_ct = CT.replace("wordprocessingml.document.main+xml", "").replace("<Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.\"/>", "<Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.ms-word.document.macroEnabled.main+xml\"/>");
    let docm = zip_of(&[
        ("[Content_Types].xml", docm_ct.as_bytes()),
        ("word/document.xml", doc.as_bytes()),
    ]);
    assert_eq!(import(&docm).unwrap_err(), Error::MacroEnabled);
    assert!(Error::MacroEnabled.to_string().contains("macro"));
}

#[test]
fn zip_bombs_and_floods_are_refused() {
    let zeros = vec![0u8; 3 * 1024 * 1024];
    let bomb = zip_of(&[("word/document.xml", &zeros)]);
    assert!(matches!(import(&bomb), Err(Error::TooLarge(_))));
    let small = Limits {
        max_total: 1024,
        ..Limits::default()
    };
    assert!(matches!(
        import_with(&teacher_file(), small),
        Err(Error::TooLarge(_))
    ));
    let names: Vec<String> = (0..30).map(|i| format!("f{i}.xml")).collect();
    let many: Vec<(&str, &[u8])> = names
        .iter()
        .map(|n| (n.as_str(), b"x".as_slice()))
        .collect();
    let flood = zip_of(&many);
    assert!(matches!(
        import_with(
            &flood,
            Limits {
                max_entries: 20,
                ..Limits::default()
            }
        ),
        Err(Error::TooLarge(_))
    ));
}

#[test]
fn garbage_and_malformed_xml_are_errors() {
    assert!(matches!(
        import(b"PK\x03\x04 not really"),
        Err(Error::BadFile(_))
    ));
    assert!(matches!(import(b""), Err(Error::BadFile(_))));
    let bad = zip_of(&[("word/document.xml", b"<w:document><w:body><w:p></w:body>")]);
    assert!(matches!(import(&bad), Err(Error::BadFile(_))));
    let none = zip_of(&[("word/other.xml", b"<a/>")]);
    assert!(matches!(import(&none), Err(Error::BadFile(_))));
}

#[test]
fn oversized_images_are_dropped_with_a_warning() {
    let body = [
        p(&[rb("Câu 1. "), r("Xem hình")]),
        p(&[DRAWING.to_owned()]),
        p(&[ru("A. Có"), tab(), r("B. Không")]),
    ]
    .concat();
    let rep = import_with(
        &docx(&body),
        Limits {
            max_image: 10,
            ..Limits::default()
        },
    )
    .unwrap();
    assert!(rep.assets.is_empty());
    assert!(
        rep.questions[0]
            .warnings
            .iter()
            .any(|w| w.starts_with("Câu 1: ảnh word/media/image1.png lớn hơn")),
        "{:?}",
        rep.questions[0].warnings
    );
}

#[test]
fn vertical_answer_tables_and_options_in_a_grid() {
    let body = [
        p(&[rb("Câu 1. "), r("Chọn số chẵn.")]),
        table(&[&["A. 1", "B. 2"], &["C. 3", "D. 5"]]),
        p(&[rb("Câu 2. "), r("Chọn số lẻ.")]),
        p(&[
            r("A. 2"),
            tab(),
            r("B. 4"),
            tab(),
            r("C. 7"),
            tab(),
            r("D. 8"),
        ]),
        p(&[rb("ĐÁP ÁN")]),
        table(&[&["1", "B"], &["2", "C"]]),
    ]
    .concat();
    let rep = import(&docx(&body)).unwrap();
    assert_eq!(rep.errors, vec![]);
    assert!(
        matches!(rep.questions[0].question.kind, QuestionKind::SingleChoice { key: Some(1), ref options } if options.len() == 4)
    );
    assert!(matches!(
        rep.questions[1].question.kind,
        QuestionKind::SingleChoice { key: Some(2), .. }
    ));
}

#[test]
fn the_template_imports_as_documented() {
    let rep = import(&template_docx()).unwrap();
    assert_eq!(rep.errors, vec![]);
    let qs = &rep.questions;
    assert_eq!(qs.len(), 7);
    assert!(
        qs.iter().all(|q| q.warnings.is_empty()),
        "{:?}",
        qs.iter().map(|q| &q.warnings).collect::<Vec<_>>()
    );
    assert_eq!(
        qs[0].question.stem.as_str(),
        "$y=\\frac{1}{x}+\\sqrt{x}$ có tập xác định là"
    );
    assert!(matches!(
        qs[0].question.kind,
        QuestionKind::SingleChoice { key: Some(1), .. }
    ));
    assert!(matches!(
        qs[1].question.kind,
        QuestionKind::SingleChoice { key: Some(1), .. }
    ));
    assert!(matches!(
        qs[2].question.kind,
        QuestionKind::SingleChoice { key: Some(2), .. }
    ));
    assert!(
        matches!(&qs[3].question.kind, QuestionKind::TrueFalseCluster { statements } if statements.iter().map(|s| s.truth) .eq([Some(true), Some(false), Some(true), Some(true)]))
    );
    assert!(
        matches!(&qs[4].question.kind, QuestionKind::TrueFalseCluster { statements } if statements.iter().map(|s| s.truth) .eq([Some(true), Some(false), Some(true), Some(false)]))
    );
    assert_eq!(
        qs[5].question.stem.as_str(),
        "Tính giá trị của $\\frac{5}{2}$ (viết dưới dạng số thập phân)."
    );
    assert_eq!(
        qs[5].question.kind,
        QuestionKind::ShortAnswer {
            key: Some(ShortKey::Numeric {
                value: 2.5,
                tolerance: 0.0
            })
        }
    );
    assert_eq!(qs[6].question.points, 2.0);
    assert_eq!(
        qs[6].question.kind,
        QuestionKind::Essay {
            rubric: vec![
                Criterion {
                    description: "Tính đúng biệt thức".into(),
                    max_points: 1.0
                },
                Criterion {
                    description: "Kết luận hai nghiệm x = 2, x = 3".into(),
                    max_points: 1.0
                },
            ]
        }
    );
}

pub(crate) fn sample_exam() -> Exam {
    let choice = |stem: &str, opts: &[&str], key| {
        let mut q = Question::new(
            stem,
            QuestionKind::SingleChoice {
                options: opts.iter().map(|o| Content::from(*o)).collect(),
                key: Some(key),
            },
        );
        q.points = 0.25;
        q
    };
    let mut multi = Question::new(
        "Những số nào là số nguyên tố?",
        QuestionKind::MultipleResponse {
            options: ["2", "4", "5", "9"].map(Content::from).to_vec(),
            keys: [0, 2].into(),
        },
    );
    multi.points = 0.25;
    let mut with_img = choice(
        "Quan sát hình {{img:hinh1.png}} và cho biết số cạnh",
        &["3", "4", "5", "6"],
        1,
    );
    with_img.explanation = Some("Hình vuông có 4 cạnh.\nChọn B.".into());
    with_img.passage = Some("p1".into());
    let tf = Question::new(
        "Cho $f(x)=x^{2}$.",
        QuestionKind::TrueFalseCluster {
            statements: [
                ("$f(1)=1$", true),
                ("$f$ lẻ", false),
                ("$f(-2)=4$", true),
                ("$f'(x)=x$", false),
            ]
            .iter()
            .map(|(t, v)| Statement {
                text: (*t).into(),
                truth: Some(*v),
            })
            .collect(),
        },
    );
    let mut short = Question::new(
        "Tính $\\frac{3}{4}$.",
        QuestionKind::ShortAnswer {
            key: Some(ShortKey::Numeric {
                value: 0.75,
                tolerance: 0.0,
            }),
        },
    );
    short.points = 0.25;
    let mut text = Question::new(
        "Thủ đô của Pháp?",
        QuestionKind::ShortAnswer {
            key: Some(ShortKey::Text {
                accepted: vec!["Paris".into(), "Pa-ri".into()],
            }),
        },
    );
    text.points = 0.25;
    let mut essay = Question::new(
        "Trình bày cách giải phương trình bậc hai.",
        QuestionKind::Essay {
            rubric: vec![Criterion {
                description: "Nêu công thức nghiệm".into(),
                max_points: 1.5,
            }],
        },
    );
    essay.points = 1.5;
    Exam {
        title: "ĐỀ KIỂM TRA".into(),
        sections: vec![
            Section {
                title: "PHẦN I. Câu trắc nghiệm nhiều phương án lựa chọn".into(),
                questions: vec![
                    choice("$1+1=$", &["1", "2", "3", "Tất cả đều sai"], 1),
                    multi,
                    with_img,
                ],
            },
            Section {
                title: "PHẦN II. Câu trắc nghiệm đúng sai".into(),
                questions: vec![tf],
            },
            Section {
                title: "PHẦN III. Câu trắc nghiệm trả lời ngắn".into(),
                questions: vec![short, text],
            },
            Section {
                title: "PHẦN IV. Tự luận".into(),
                questions: vec![essay],
            },
        ],
        passages: vec![Passage {
            id: "p1".into(),
            content: "Một hình vuông có cạnh 2 cm.\n{{img:hinh1.png}}".into(),
        }],
        assets: vec![Asset {
            id: "hinh1.png".into(),
            mime: "image/png".into(),
            bytes: PNG.to_vec(),
        }],
    }
}

#[test]
fn export_then_import_gives_the_same_questions() {
    let exam = sample_exam();
    let rep = import(&export_docx(&exam)).unwrap();
    assert_eq!(rep.errors, vec![]);
    let got: Vec<Question> = rep.questions.iter().map(|q| q.question.clone()).collect();
    let want: Vec<Question> = exam.questions().cloned().collect();
    assert_eq!(got, want);
    assert_eq!(rep.assets, exam.assets);
    assert_eq!(rep.passages, exam.passages);
}

#[test]
fn papers_hold_every_version_and_its_key() {
    let exam = sample_exam();
    let versions = make_versions(&exam, 2025, &[101, 102], ShuffleOptions::default());
    let header = PaperHeader {
        school: "TRƯỜNG THPT CHU VĂN AN".into(),
        title: "KIỂM TRA GIỮA KÌ I".into(),
        subject: "Môn: Toán 12".into(),
        minutes: 90,
    };
    let bytes = paper_docx(&header, &exam, &versions);
    let mut z = zip::ZipArchive::new(Cursor::new(bytes.as_slice())).unwrap();
    let mut doc = String::new();
    std::io::Read::read_to_string(&mut z.by_name("word/document.xml").unwrap(), &mut doc).unwrap();
    assert!(
        doc.contains(
            "Mã đề: </w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t xml:space=\"preserve\">101"
        )
    );
    assert!(doc.contains("PHIẾU TRẢ LỜI — Mã đề 102"));
    // Equations print as Word equations, not as LaTeX source.
    assert!(doc.contains("<m:oMath><m:f><m:num>"));
    assert!(!doc.contains("\\frac"));
    assert!(doc.contains("Mã đề 102"));
    // The paper is still a well-formed document the importer can open.
    assert!(import(&paper_docx(&header, &exam, &versions)).is_ok());
}

#[test]
fn word_list_numbering_becomes_labels() {
    // Questions numbered by a list "Câu %1." (numId 1); options by a lettered list "%1." that
    // restarts for each question (numId 2, then numId 3 overriding the start), as Word does.
    let numbering = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:numbering xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:abstractNum w:abstractNumId="0"><w:multiLevelType w:val="hybridMultilevel"/><w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="Câu %1."/><w:lvlJc w:val="left"/></w:lvl></w:abstractNum>
<w:abstractNum w:abstractNumId="1"><w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="upperLetter"/><w:lvlText w:val="%1."/></w:lvl></w:abstractNum>
<w:abstractNum w:abstractNumId="2"><w:lvl w:ilvl="0"><w:numFmt w:val="bullet"/><w:lvlText w:val=""/></w:lvl></w:abstractNum>
<w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num>
<w:num w:numId="2"><w:abstractNumId w:val="1"/></w:num>
<w:num w:numId="3"><w:abstractNumId w:val="1"/><w:lvlOverride w:ilvl="0"><w:startOverride w:val="1"/></w:lvlOverride></w:num>
<w:num w:numId="4"><w:abstractNumId w:val="2"/></w:num>
</w:numbering>"#;
    let listed = |num: u32, runs: &[String]| {
        format!(
            r#"<w:p><w:pPr><w:pStyle w:val="ListParagraph"/><w:numPr><w:ilvl w:val="0"/><w:numId w:val="{num}"/></w:numPr></w:pPr>{}</w:p>"#,
            runs.concat()
        )
    };
    let body = [
        listed(
            4,
            &[r("Ghi chú: đây là gạch đầu dòng, không phải câu hỏi.")],
        ),
        listed(1, &[r("Số nào là số chẵn?")]),
        listed(2, &[r("1")]),
        listed(2, &[ru("2")]),
        listed(2, &[r("3")]),
        listed(1, &[r("Số nào là số lẻ?")]),
        listed(3, &[rred("5")]),
        listed(3, &[r("6")]),
    ]
    .concat();
    let doc = document(&body);
    let file = zip_of(&[
        ("[Content_Types].xml", CT.as_bytes()),
        ("word/document.xml", doc.as_bytes()),
        ("word/numbering.xml", numbering.as_bytes()),
    ]);
    let rep = import(&file).unwrap();
    assert_eq!(rep.errors, vec![]);
    assert_eq!(rep.questions.len(), 2);
    assert_eq!((rep.questions[0].number, rep.questions[1].number), (1, 2));
    assert_eq!(
        rep.questions[0].question.stem.as_str(),
        "Số nào là số chẵn?"
    );
    assert!(
        matches!(&rep.questions[0].question.kind, QuestionKind::SingleChoice { options, key: Some(1) } if options.len() == 3)
    );
    assert!(
        matches!(&rep.questions[1].question.kind, QuestionKind::SingleChoice { options, key: Some(0) } if options[0].as_str() == "5")
    );
}

#[test]
fn an_import_becomes_an_exam_with_its_parts() {
    let exam = import(&template_docx()).unwrap().into_exam("Mẫu");
    let titles: Vec<&str> = exam.sections.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "PHẦN I. Câu trắc nghiệm nhiều phương án lựa chọn",
            "PHẦN II. Câu trắc nghiệm đúng sai",
            "PHẦN III. Câu trắc nghiệm trả lời ngắn",
            "PHẦN IV. Tự luận"
        ]
    );
    assert_eq!(
        exam.sections
            .iter()
            .map(|s| s.questions.len())
            .collect::<Vec<_>>(),
        [3, 2, 1, 1]
    );
    assert!(exam.validate().is_ok());
}

#[test]
fn passages_are_shared_by_the_questions_they_name() {
    let body = [
        p(&[rb("PHẦN I. Câu trắc nghiệm nhiều phương án lựa chọn")]),
        p(&[ri("Đọc đoạn văn sau và trả lời câu 1 và câu 2.")]),
        p(&[r("Năm 1010, vua Lý Thái Tổ dời đô từ Hoa Lư về Đại La, đổi tên là Thăng Long; 3 năm sau …")]),
        p(&[rb("Câu 1. "), r("Vua dời đô là ai?")]),
        p(&[r("A. Lý Thái Tổ"), tab(), r("B. Lý Thánh Tông")]),
        p(&[r("Chọn A")]),
        p(&[rb("Câu 2. "), r("Năm dời đô?")]),
        p(&[r("A. 1010"), tab(), r("B. 1945")]),
        p(&[r("Lời giải: Theo đoạn văn. Chọn đáp án A.")]),
        p(&[rb("Câu 3. "), r("Câu không dùng đoạn văn.")]),
        p(&[r("A. Có"), tab(), ru("B. Không")]),
    ]
    .concat();
    let rep = import(&docx(&body)).unwrap();
    assert_eq!(rep.errors, vec![]);
    assert_eq!(rep.passages.len(), 1);
    assert!(rep.passages[0].content.as_str().starts_with("Năm 1010"));
    let passages: Vec<Option<&str>> = rep
        .questions
        .iter()
        .map(|q| q.question.passage.as_deref())
        .collect();
    assert_eq!(passages, [Some("p1"), Some("p1"), None]);
    assert!(matches!(
        rep.questions[0].question.kind,
        QuestionKind::SingleChoice { key: Some(0), .. }
    ));
    assert!(matches!(
        rep.questions[1].question.kind,
        QuestionKind::SingleChoice { key: Some(0), .. }
    ));
    assert_eq!(
        rep.questions[1]
            .question
            .explanation
            .as_ref()
            .map(Content::as_str),
        Some("Theo đoạn văn. Chọn đáp án A.")
    );
}

fn ri(text: &str) -> String {
    format!(r#"<w:r><w:rPr><w:i/></w:rPr><w:t xml:space="preserve">{text}</w:t></w:r>"#)
}

#[test]
fn chosen_letters_in_solutions() {
    let body = [
        p(&[rb("Câu 1. "), r("Chọn số nguyên tố.")]),
        p(&[
            r("A. 4"),
            tab(),
            r("B. 6"),
            tab(),
            r("C. 7"),
            tab(),
            r("D. 9"),
        ]),
        p(&[r(
            "Lời giải: Đáp án A sai vì 4 = 2.2; đáp án B sai. Vậy chọn C.",
        )]),
    ]
    .concat();
    let rep = import(&docx(&body)).unwrap();
    assert!(matches!(
        rep.questions[0].question.kind,
        QuestionKind::SingleChoice { key: Some(2), .. }
    ));
}

#[test]
fn true_false_statements_in_a_ticked_table() {
    let body = [
        p(&[rb("PHẦN II. Câu trắc nghiệm đúng sai")]),
        p(&[rb("Câu 1. "), r("Cho tam giác ABC vuông tại A.")]),
        table(&[
            &["Mệnh đề", "Đúng", "Sai"],
            &["a) BC là cạnh huyền.", "X", ""],
            &["b) Góc B bằng 90°.", "", "X"],
            &["c) AB² + AC² = BC².", "x", ""],
            &["d) Góc C tù.", "", "X"],
        ]),
        p(&[rb("Câu 2. "), r("Tiếp theo.")]),
    ]
    .concat();
    let rep = import(&docx(&body)).unwrap();
    let QuestionKind::TrueFalseCluster { statements } = &rep.questions[0].question.kind else {
        panic!("{:?}", rep.questions[0])
    };
    assert_eq!(statements[0].text.as_str(), "BC là cạnh huyền.");
    assert_eq!(
        statements.iter().map(|s| s.truth).collect::<Vec<_>>(),
        [Some(true), Some(false), Some(true), Some(false)]
    );
}

#[test]
fn large_and_pathological_files_stay_fast() {
    let mut body = String::new();
    for n in 1..=600 {
        body.push_str(&p(&[
            rb(&format!("Câu {n}. ")),
            r(&format!("Câu hỏi số {n} có $x^{n}$?")),
        ]));
        body.push_str(&p(&[
            r("A. một"),
            tab(),
            ru("B. hai"),
            tab(),
            r("C. ba"),
            tab(),
            r("D. bốn"),
        ]));
    }
    // One long line full of option-like labels after a question start.
    body.push_str(&p(&[rb("Câu 601. "), r(&" A. x".repeat(20_000))]));
    let start = std::time::Instant::now();
    let rep = import(&docx(&body)).unwrap();
    assert_eq!(rep.questions.len() + rep.errors.len(), 601);
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
    let gift_flood = "::T:: x {=a\n".to_string() + &"y\n".repeat(100_000);
    let start = std::time::Instant::now();
    let rep = crate::gift::import(&gift_flood);
    assert_eq!(rep.errors.len(), 1);
    assert!(start.elapsed().as_secs() < 10, "{:?}", start.elapsed());
}

#[test]
fn underlined_equations_and_symbol_font_characters() {
    let frac_u = r#"<m:oMath><m:f><m:num><m:r><w:rPr><w:u w:val="single"/></w:rPr><m:t>1</m:t></m:r></m:num><m:den><m:r><w:rPr><w:u w:val="single"/></w:rPr><m:t>2</m:t></m:r></m:den></m:f></m:oMath>"#;
    let frac = r#"<m:oMath><m:f><m:num><m:r><m:t>1</m:t></m:r></m:num><m:den><m:r><m:t>3</m:t></m:r></m:den></m:f></m:oMath>"#;
    let body = [
        p(&[rb("Câu 1. "), r("Giá trị nào "), r("x "), r(r#"</w:t></w:r><w:r><w:sym w:font="Symbol" w:char="F0B3"/></w:r><w:r><w:t xml:space="preserve">"#), r(" 0,4?")]),
        p(&[r("A. "), frac.to_owned(), tab(), r("B. "), frac_u.to_owned()]),
    ]
    .concat();
    let rep = import(&docx(&body)).unwrap();
    let q = &rep.questions[0].question;
    assert_eq!(q.stem.as_str(), "Giá trị nào x ≥ 0,4?");
    let QuestionKind::SingleChoice { options, key } = &q.kind else {
        panic!()
    };
    assert_eq!(options[1].as_str(), "$\\frac{1}{2}$");
    assert_eq!(*key, Some(1));
}

#[test]
fn topic_lines_and_level_tags_become_metadata() {
    use crate::model::CognitiveLevel;
    let body = [
        p(&[rb("Chủ đề 1: Hàm số")]),
        p(&[
            rb("Câu 1 (NB)."),
            r(" Hàm số "),
            FRAC.to_owned(),
            r(" xác định khi"),
        ]),
        p(&[
            ru("A. x ≠ 1"),
            tab(),
            r("B. x ≠ 2"),
            tab(),
            r("C. x ≠ 0"),
            tab(),
            r("D. x ≠ −1"),
        ]),
        p(&[rb("Câu 2:"), r(" [TH] Đồ thị hàm số bậc nhất là")]),
        p(&[
            r("A. đường thẳng"),
            tab(),
            r("B. parabol"),
            tab(),
            r("C. đường tròn"),
            tab(),
            r("D. hypebol"),
        ]),
        p(&[r("Đáp án: A")]),
        p(&[rb("Chương II: Phương trình")]),
        p(&[
            rb("Câu 3."),
            r(" Chương trình: giải "),
            r("$x+1=2$"),
            r("."),
        ]),
        p(&[r("Mức độ: Vận dụng")]),
        p(&[
            r("A. 1"),
            tab(),
            r("B. 2"),
            tab(),
            r("C. 3"),
            tab(),
            r("D. 4"),
        ]),
        p(&[r("Đáp án: A")]),
        p(&[
            rb("Câu 4(VDC)"),
            r(" Câu không có mức độ hợp lệ (XYZ) vẫn đọc được."),
        ]),
        p(&[r("Đáp án: 5")]),
    ]
    .concat();
    let rep = import(&docx(&body)).unwrap();
    assert_eq!(rep.errors, vec![]);
    let meta: Vec<_> = rep
        .questions
        .iter()
        .map(|q| {
            (
                q.number,
                q.question.meta.topic.as_deref(),
                q.question.meta.level,
            )
        })
        .collect();
    assert_eq!(
        meta,
        [
            (1, Some("Hàm số"), Some(CognitiveLevel::NhanBiet)),
            (2, Some("Hàm số"), Some(CognitiveLevel::ThongHieu)),
            (3, Some("Phương trình"), Some(CognitiveLevel::VanDung)),
            (4, Some("Phương trình"), Some(CognitiveLevel::VanDungCao)),
        ]
    );
    // The tags are not part of the text; a "Chương trình:" sentence is not a topic heading.
    let q = |i: usize| rep.questions[i].question.stem.as_str().to_owned();
    assert_eq!(q(0), "Hàm số $y=\\frac{2x+1}{x-1}$ xác định khi");
    assert_eq!(q(1), "Đồ thị hàm số bậc nhất là");
    assert_eq!(q(2), "Chương trình: giải $x+1=2$.");
    assert!(q(3).starts_with("Câu không có mức độ"));
}
