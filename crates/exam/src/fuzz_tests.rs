//! Thousands of pseudo-random mutations of valid files fed to every importer: none may panic.
//!
//! This is the always-on counterpart of the cargo-fuzz targets: cheap enough for every test run,
//! reproducible from the printed seed.

use std::io::{Cursor, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::docx::tests::{sample_exam, teacher_file, zip_of};
use crate::{aiken, docx, gift, moodle_xml};

/// Fragments that matter to the parsers, so mutations reach deep code paths.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "=",
    "~",
    "#",
    "::",
    "\\",
    "\n\n",
    "\n",
    "$CATEGORY: a/b",
    "A.",
    "B)",
    "a)",
    "ANSWER: ",
    "Câu 1.",
    "Câu 99999999999:",
    "PHẦN II",
    "BẢNG ĐÁP ÁN",
    "Đáp án: ",
    "Đ S",
    "<",
    ">",
    "&",
    "&amp;",
    "&#xFFFFFF;",
    "]]>",
    "<![CDATA[",
    "ấ",
    "Đ",
    "%50%",
    "..",
    ":",
    "$",
    "<w:p>",
    "</w:p>",
    "<w:r><w:t>",
    "</w:t></w:r>",
    "<m:oMath><m:f><m:num>",
    "</m:num></m:f>",
    "<w:tab/>",
    "<w:u/>",
    "<m:d><m:e>",
    "<w:tbl><w:tr><w:tc>",
    "r:embed=\"rId5\"",
    "<a:blip r:embed=\"rIdX\"/>",
    "<question type=\"truefalse\">",
    "</question>",
    "<answer fraction=\"1e400\">",
    "@@PLUGINFILE@@/x",
];

fn mutate_str(rng: &mut ChaCha8Rng, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    for _ in 0..rng.gen_range(1..6) {
        let len = chars.len();
        let at = if len == 0 { 0 } else { rng.gen_range(0..=len) };
        match rng.gen_range(0..5) {
            0 if len > 0 => {
                let end = (at + rng.gen_range(1..40)).min(len);
                chars.drain(at.min(len)..end);
            }
            1 => {
                let t = TOKENS[rng.gen_range(0..TOKENS.len())];
                chars.splice(at..at, t.chars());
            }
            2 if len > 0 => {
                let start = rng.gen_range(0..len);
                let end = (start + rng.gen_range(1..80)).min(len);
                let piece: Vec<char> = chars[start..end].to_vec();
                chars.splice(at..at, piece);
            }
            3 if at < len => chars[at] = char::from_u32(rng.gen_range(0..0x3000)).unwrap_or('?'),
            _ => chars.truncate(at),
        }
    }
    chars.into_iter().collect()
}

fn mutate_bytes(rng: &mut ChaCha8Rng, b: &[u8]) -> Vec<u8> {
    let mut v = b.to_vec();
    for _ in 0..rng.gen_range(1..8) {
        if v.is_empty() {
            break;
        }
        let at = rng.gen_range(0..v.len());
        match rng.gen_range(0..3) {
            0 => v[at] = rng.r#gen(),
            1 => v.truncate(at),
            _ => {
                let end = (at + rng.gen_range(1..64)).min(v.len());
                v.drain(at..end);
            }
        }
    }
    v
}

fn check<T>(what: &str, seed: u64, i: usize, f: impl FnOnce() -> T) {
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        panic!("{what} panicked on mutation {i} of seed {seed}");
    }
}

fn entries(docx_bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(Cursor::new(docx_bytes)).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut b = Vec::new();
            f.read_to_end(&mut b).unwrap();
            (f.name().unwrap().into_owned(), b)
        })
        .collect()
}

#[test]
fn text_importers_survive_mutations() {
    let seed = 20_251_201;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let moodle = moodle_xml::export_exam(&sample_exam(), moodle_xml::ExportOptions::default());
    for i in 0..1500 {
        let g = mutate_str(&mut rng, gift::tests::FILE);
        check("gift", seed, i, || gift::import(&g));
        let a = mutate_str(&mut rng, aiken::tests::FILE);
        check("aiken", seed, i, || aiken::import(&a));
        let base = if i % 2 == 0 {
            moodle_xml::tests::FILE
        } else {
            moodle.as_str()
        };
        let m = mutate_str(&mut rng, base);
        check("moodle_xml", seed, i, || moodle_xml::import(&m));
    }
}

#[test]
fn docx_importer_survives_mutations() {
    let seed = 4_725;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let bases = [
        teacher_file(),
        docx::template_docx(),
        docx::export_docx(&sample_exam()),
    ];
    let unpacked: Vec<Vec<(String, Vec<u8>)>> = bases.iter().map(|b| entries(b)).collect();
    for i in 0..1200 {
        let which = i % bases.len();
        // Raw byte damage to the archive itself.
        let raw = mutate_bytes(&mut rng, &bases[which]);
        check("docx (bytes)", seed, i, || docx::import(&raw));
        // Damage to the XML inside a well-formed archive, which reaches the parsers.
        let mut files = unpacked[which].clone();
        for (name, bytes) in files.iter_mut() {
            if (name.ends_with(".xml") || name.ends_with(".rels"))
                && (name == "word/document.xml" || rng.gen_bool(0.2))
            {
                let s = String::from_utf8_lossy(bytes).into_owned();
                *bytes = mutate_str(&mut rng, &s).into_bytes();
            }
        }
        let refs: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        let rezipped = zip_of(&refs);
        check("docx (xml)", seed, i, || docx::import(&rezipped));
    }
}
