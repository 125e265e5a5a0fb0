//! The `lophoc` command line, run as a real process on a temporary data directory.

use std::path::Path;
use std::process::{Command, Output};

fn lophoc(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lophoc"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env("LOPHOC_LOG_LEVEL", "warn")
        .env_remove("LOPHOC_DATABASE_URL")
        .output()
        .expect("run lophoc")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn roster(rows: &[[&str; 6]]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in [
        "Lớp",
        "Mã học sinh",
        "Họ và tên",
        "Ngày sinh",
        "Giới tính",
        "SĐT mẹ",
    ]
    .iter()
    .enumerate()
    {
        ws.write(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write(1 + r as u32, c as u16, *v).unwrap();
        }
    }
    wb.save_to_buffer().unwrap()
}

#[test]
fn the_command_line_covers_set_up_import_export_admin_and_backup() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    let o = lophoc(&data, &["demo"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("ht.thcs"));
    let o = lophoc(&data, &["admin", "schools"]);
    assert!(text(&o).contains("37THCSGV") && text(&o).contains("Trường THPT Lương Văn Tụy"));

    // Bad rows: non-zero exit, every error with its row, nothing written.
    let bad = dir.path().join("bad.xlsx");
    std::fs::write(
        &bad,
        roster(&[
            [
                "7A9",
                "CLI00001",
                "Phan Thị Hoa",
                "12/03/2013",
                "Nữ",
                "0901234567",
            ],
            [
                "7A9",
                "CLI00002",
                "Vũ Văn Nam",
                "30/02/2013",
                "Nam",
                "0901234568",
            ],
            [
                "7A9",
                "CLI00003",
                "Lò Thị Bích",
                "01/01/2013",
                "Nữ",
                "12345",
            ],
        ]),
    )
    .unwrap();
    let o = lophoc(
        &data,
        &[
            "import",
            "roster",
            "--school",
            "37THCSGV",
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("Dòng 3") && out.contains("30/02/2013"),
        "{out}"
    );
    assert!(out.contains("Dòng 4") && out.contains("12345"), "{out}");

    let good = dir.path().join("good.xlsx");
    std::fs::write(
        &good,
        roster(&[
            [
                "7A9",
                "CLI00001",
                "Phan Thị Hoa",
                "12/03/2013",
                "Nữ",
                "0901234567",
            ],
            [
                "7A9",
                "CLI00002",
                "Vũ Văn Nam",
                "28/02/2013",
                "Nam",
                "0901234568",
            ],
        ]),
    )
    .unwrap();
    let o = lophoc(
        &data,
        &[
            "import",
            "roster",
            "--school",
            "37THCSGV",
            good.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("2 học sinh mới"), "{}", text(&o));
    let o = lophoc(
        &data,
        &[
            "import",
            "roster",
            "--school",
            "37THCSGV",
            good.to_str().unwrap(),
        ],
    );
    assert!(
        text(&o).contains("0 học sinh mới, 2 cập nhật"),
        "{}",
        text(&o)
    );

    // Unknown school, missing file, a file that is not Excel.
    let o = lophoc(
        &data,
        &[
            "import",
            "roster",
            "--school",
            "KHONGCO",
            good.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success() && text(&o).contains("KHONGCO"));
    let junk = dir.path().join("junk.xlsx");
    std::fs::write(&junk, b"hello").unwrap();
    let o = lophoc(
        &data,
        &[
            "import",
            "roster",
            "--school",
            "37THCSGV",
            junk.to_str().unwrap(),
        ],
    );
    assert!(
        !o.status.success() && text(&o).contains("không phải bảng tính"),
        "{}",
        text(&o)
    );

    // Export reads back.
    let out_file = dir.path().join("export.xlsx");
    let o = lophoc(
        &data,
        &[
            "export",
            "roster",
            "--school",
            "37THCSGV",
            out_file.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(std::fs::metadata(&out_file).unwrap().len() > 1000);

    // Accounts.
    let o = lophoc(
        &data,
        &[
            "admin",
            "create-user",
            "--username",
            "gv.moi",
            "--name",
            "Trịnh Văn Mới",
            "--role",
            "teacher",
            "--school",
            "37THCSGV",
        ],
    );
    assert!(
        o.status.success() && text(&o).contains("mật khẩu tạm thời"),
        "{}",
        text(&o)
    );
    let o = lophoc(
        &data,
        &[
            "admin",
            "create-user",
            "--username",
            "gv.moi",
            "--name",
            "Trịnh Văn Mới",
            "--role",
            "teacher",
            "--school",
            "37THCSGV",
        ],
    );
    assert!(
        !o.status.success() && text(&o).contains("đã được dùng"),
        "{}",
        text(&o)
    );
    let o = lophoc(&data, &["admin", "reset-password", "gv.toan"]);
    assert!(
        o.status.success() && text(&o).contains("gv.toan"),
        "{}",
        text(&o)
    );

    // Backup: a consistent copy, never over an existing file.
    let backup = dir.path().join("backup.db");
    let o = lophoc(&data, &["backup", backup.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(std::fs::metadata(&backup).unwrap().len() > 10_000);
    let o = lophoc(&data, &["backup", backup.to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("đã tồn tại"));
}

#[test]
fn configuration_errors_name_the_value_and_its_source() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_lophoc"))
        .args(["--data", dir.path().to_str().unwrap(), "migrate"])
        .env("LOPHOC_COOKIE_SECURE", "co-le")
        .output()
        .unwrap();
    assert!(!o.status.success());
    let out = text(&o);
    assert!(
        out.contains("cookie_secure") && out.contains("LOPHOC_COOKIE_SECURE"),
        "{out}"
    );
    let o = Command::new(env!("CARGO_BIN_EXE_lophoc"))
        .args(["--data", dir.path().to_str().unwrap(), "migrate"])
        .env("LOPHOC_DATABASE_URL", "mysql://x")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(text(&o).contains("sqlite://"), "{}", text(&o));
}

fn bank_docx(questions: Vec<exam::model::Question>) -> Vec<u8> {
    exam::docx::export_docx(&exam::model::Exam {
        title: "Kiểm tra".into(),
        sections: vec![exam::model::Section {
            title: "PHẦN I. Câu trắc nghiệm nhiều phương án lựa chọn".into(),
            questions,
        }],
        ..exam::model::Exam::default()
    })
}

fn choice(stem: &str, key: Option<usize>) -> exam::model::Question {
    exam::model::Question::new(
        stem,
        exam::model::QuestionKind::SingleChoice {
            options: ["3", "4", "5", "6"]
                .iter()
                .map(|o| exam::model::Content::from(*o))
                .collect(),
            key,
        },
    )
}

#[test]
fn questions_are_imported_into_a_bank_or_refused_with_every_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let o = lophoc(&data, &["demo"]);
    assert!(o.status.success(), "{}", text(&o));
    let import = |bank: &str, file: &Path, extra: &[&str]| {
        let mut args = vec![
            "import",
            "questions",
            "--bank",
            bank,
            "--school",
            "37THCSGV",
        ];
        args.extend_from_slice(extra);
        args.push(file.to_str().unwrap());
        lophoc(&data, &args)
    };

    // The template: counts per kind; a second run skips what is already there.
    let template = dir.path().join("mau.docx");
    std::fs::write(&template, exam::docx::template_docx()).unwrap();
    let o = import("Toán 9 CLI", &template, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(
            "Đã nhập 7 câu: 3 trắc nghiệm một lựa chọn, 2 đúng/sai, 1 trả lời ngắn, 1 tự luận"
        ),
        "{}",
        text(&o)
    );
    let o = import("toan 9 cli", &template, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("Đã nhập 0 câu") && text(&o).contains("bỏ qua 7 câu"),
        "{}",
        text(&o)
    );

    // A question without a key: exit code 2, the question named, nothing saved.
    let bad = dir.path().join("thieu.docx");
    std::fs::write(
        &bad,
        bank_docx(vec![
            choice("Số cạnh của tam giác là", Some(0)),
            choice("Số cạnh của hình vuông là", None),
        ]),
    )
    .unwrap();
    let o = import("Hình học CLI", &bad, &["--owner", "gv.toan"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("Câu 2: không có đáp án đúng"),
        "{}",
        text(&o)
    );
    let good = dir.path().join("du.docx");
    std::fs::write(
        &good,
        bank_docx(vec![choice("Số cạnh của tam giác là", Some(0))]),
    )
    .unwrap();
    let o = import("Hình học CLI", &good, &["--owner", "gv.toan"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("Đã nhập 1 câu: 1 trắc nghiệm một lựa chọn")
            && !text(&o).contains("bỏ qua"),
        "{}",
        text(&o)
    );

    // Not a Word file, an unknown school, an unknown owner.
    let junk = dir.path().join("junk.docx");
    std::fs::write(&junk, b"hello").unwrap();
    let o = import("Toán 9 CLI", &junk, &[]);
    assert!(
        !o.status.success() && text(&o).contains("không phải tệp Word"),
        "{}",
        text(&o)
    );
    let o = lophoc(
        &data,
        &[
            "import",
            "questions",
            "--bank",
            "X",
            "--school",
            "KHONGCO",
            template.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success() && text(&o).contains("KHONGCO"));
    let o = import("Mới", &template, &["--owner", "khong.co"]);
    assert!(
        !o.status.success() && text(&o).contains("khong.co"),
        "{}",
        text(&o)
    );
}

/// The durability promise of online exams: the server process is killed with SIGKILL in the
/// middle of a storm of answer saves and restarted; every answer it had acknowledged is there.
#[test]
fn acknowledged_answers_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let out = lophoc(
        dir.path(),
        &["bench", "exam-storm", "--students", "120", "--kill"],
    );
    let text = text(&out);
    assert!(out.status.success(), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("exam-storm: students="))
        .unwrap_or_else(|| panic!("no summary line in: {text}"));
    assert!(line.contains("server_killed=1"), "{line}");
    assert!(line.contains("lost_answers=0"), "{line}");
    assert!(line.contains("submit_errors=0"), "{line}");
    assert!(text.contains("killed with SIGKILL"), "{text}");
}
