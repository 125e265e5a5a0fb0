//! Reading a teacher's Word file into questions.
//!
//! The layout is the one Vietnamese teachers share: "PHẦN I/II/III" headings, "Câu 1." starting a
//! question, options "A." … "D." (several per line with tabs, or in a table), statements "a)" … "d)",
//! keys marked by underline or red, by an "Đáp án:" line, or in a "BẢNG ĐÁP ÁN" table at the end.

use std::collections::{BTreeSet, HashMap};
use std::io::{Cursor, Read};

use domain::text::fold;
use zip::ZipArchive;

use super::omml;
use crate::Error;
use crate::import::ImportReport;
use crate::model::{
    Asset, CognitiveLevel, Content, Criterion, Passage, Question, QuestionKind, ShortKey,
    Statement, option_index, parse_number,
};
use crate::xml::{self, Element};

/// Caps that keep a hostile upload from exhausting memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Total bytes unpacked from the archive.
    pub max_total: u64,
    /// Entries in the archive.
    pub max_entries: usize,
    /// Largest unpacked/packed ratio for an entry over 1 MB (deflate rarely exceeds 20 on text).
    pub max_ratio: u64,
    /// Largest image kept; bigger ones are dropped with a warning.
    pub max_image: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_total: 50 * 1024 * 1024,
            max_entries: 2000,
            max_ratio: 200,
            max_image: 5 * 1024 * 1024,
        }
    }
}

/// An opened, checked package.
pub(crate) struct Package<'a> {
    zip: ZipArchive<Cursor<&'a [u8]>>,
    limits: Limits,
    read_total: u64,
}

fn corrupt() -> Error {
    Error::BadFile("không phải tệp Word (.docx) hợp lệ".into())
}

impl<'a> Package<'a> {
    /// Opens the archive and checks it before unpacking anything.
    pub(crate) fn open(bytes: &'a [u8], limits: Limits) -> Result<Self, Error> {
        let mut zip = ZipArchive::new(Cursor::new(bytes)).map_err(|_| corrupt())?;
        if zip.len() > limits.max_entries {
            return Err(Error::TooLarge(format!(
                "tệp có {} thành phần, tối đa {}",
                zip.len(),
                limits.max_entries
            )));
        }
        let mut declared: u64 = 0;
        for i in 0..zip.len() {
            let f = zip.by_index_raw(i).map_err(|_| corrupt())?;
            let name = f.name().map_err(|_| corrupt())?.to_ascii_lowercase();
            if name.ends_with("vbaproject.bin") || name.ends_with("vbadata.xml") {
                return Err(Error::MacroEnabled);
            }
            let (size, packed) = (f.size(), f.compressed_size().max(1));
            if size > 1024 * 1024 && size / packed > limits.max_ratio {
                return Err(Error::TooLarge(format!(
                    "thành phần {name} nén bất thường (có thể là zip bomb)"
                )));
            }
            declared = declared.saturating_add(size);
        }
        // Declared sizes can lie, so `read` also counts the bytes actually unpacked.
        if declared > limits.max_total {
            return Err(Error::TooLarge(format!(
                "giải nén ra {} MB, tối đa {} MB",
                declared >> 20,
                limits.max_total >> 20
            )));
        }
        Ok(Package {
            zip,
            limits,
            read_total: 0,
        })
    }

    /// Reads an entry, at most `cap` bytes; `Ok(None)` when absent, `TooLarge` when over `cap`.
    pub(crate) fn read(&mut self, name: &str, cap: u64) -> Result<Option<Vec<u8>>, Error> {
        let Some(i) = self.zip.index_for_name(name) else {
            return Ok(None);
        };
        let f = self.zip.by_index(i).map_err(|_| corrupt())?;
        let mut buf = Vec::new();
        f.take(cap.saturating_add(1))
            .read_to_end(&mut buf)
            .map_err(|_| corrupt())?;
        self.read_total = self.read_total.saturating_add(buf.len() as u64);
        if buf.len() as u64 > cap || self.read_total > self.limits.max_total {
            return Err(Error::TooLarge(format!("thành phần {name} quá lớn")));
        }
        Ok(Some(buf))
    }

    fn read_xml(&mut self, name: &str) -> Result<Option<Element>, Error> {
        let cap = self.limits.max_total;
        match self.read(name, cap)? {
            None => Ok(None),
            Some(bytes) => {
                let text = String::from_utf8(bytes)
                    .map_err(|_| Error::BadFile(format!("{name} không phải UTF-8")))?;
                xml::parse(&text).map(Some)
            }
        }
    }
}

/// A character with whether it is marked as a key (underlined or red).
type Line = Vec<(char, bool)>;

fn line_text(l: &[(char, bool)]) -> String {
    l.iter().map(|(c, _)| *c).collect()
}

fn line_marked(l: &[(char, bool)]) -> bool {
    l.iter()
        .any(|(c, m)| *m && !c.is_whitespace() && !matches!(c, '.' | ')' | ':'))
}

fn trim(l: &[(char, bool)]) -> &[(char, bool)] {
    let start = l
        .iter()
        .position(|(c, _)| !c.is_whitespace())
        .unwrap_or(l.len());
    let end = l
        .iter()
        .rposition(|(c, _)| !c.is_whitespace())
        .map_or(start, |e| e + 1);
    &l[start..end.max(start)]
}

/// A paragraph or table cell read from the document, split into lines at `w:br`.
#[derive(Default)]
struct Para {
    lines: Vec<Line>,
    warnings: Vec<String>,
}

enum Block {
    Para(Para),
    Table(Vec<Vec<Para>>),
}

/// Reads runs with their formatting and resolves images and equations.
struct Walker<'p, 'a> {
    pkg: &'p mut Package<'a>,
    rels: HashMap<String, String>,
    assets: Vec<Asset>,
    asset_by_path: HashMap<String, String>,
    numbering: Numbering,
}

/// One level of a Word list: its label pattern ("Câu %1.") and format.
#[derive(Debug, Clone)]
struct Level {
    text: String,
    format: String,
    start: u32,
}

/// Word's automatic numbering (word/numbering.xml). Many teachers number "Câu 1." and the
/// options "A." with lists, so the labels exist only here and must be rendered back into text.
#[derive(Debug, Default)]
struct Numbering {
    /// numId → (abstractNumId, start overrides per level).
    nums: HashMap<String, (String, HashMap<usize, u32>)>,
    /// (abstractNumId, level) → level.
    levels: HashMap<(String, usize), Level>,
    /// Counters per numId and level; keyed by numId because Word restarts a list by giving it
    /// a new numId.
    counters: HashMap<String, [Option<u32>; 9]>,
}

fn roman(mut n: u32) -> String {
    const TABLE: [(u32, &str); 13] = [
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    let mut out = String::new();
    for (v, s) in TABLE {
        while n >= v {
            out.push_str(s);
            n -= v;
        }
    }
    out
}

fn letters(n: u32) -> String {
    // Word repeats the letter after Z: AA, BB…
    let n = n.max(1) - 1;
    let c = (b'A' + (n % 26) as u8) as char;
    std::iter::repeat_n(c, (n / 26 + 1).min(10) as usize).collect()
}

impl Numbering {
    fn parse(root: &Element) -> Self {
        let mut n = Numbering::default();
        let val = |e: &Element, name: &str| {
            e.child(name)
                .and_then(|c| c.attr("w:val"))
                .map(str::to_owned)
        };
        for a in root.children_named("w:abstractNum") {
            let Some(id) = a.attr("w:abstractNumId") else {
                continue;
            };
            for l in a.children_named("w:lvl") {
                let Some(ilvl) = l
                    .attr("w:ilvl")
                    .and_then(|v| v.parse::<usize>().ok())
                    .filter(|v| *v < 9)
                else {
                    continue;
                };
                let level = Level {
                    text: val(l, "w:lvlText").unwrap_or_default(),
                    format: val(l, "w:numFmt").unwrap_or_else(|| "decimal".into()),
                    start: val(l, "w:start").and_then(|v| v.parse().ok()).unwrap_or(1),
                };
                n.levels.insert((id.to_owned(), ilvl), level);
            }
        }
        for num in root.children_named("w:num") {
            let (Some(id), Some(abs)) = (num.attr("w:numId"), val(num, "w:abstractNumId")) else {
                continue;
            };
            let mut starts = HashMap::new();
            for o in num.children_named("w:lvlOverride") {
                if let (Some(l), Some(s)) = (
                    o.attr("w:ilvl").and_then(|v| v.parse().ok()),
                    val(o, "w:startOverride").and_then(|v| v.parse().ok()),
                ) {
                    starts.insert(l, s);
                }
            }
            n.nums.insert(id.to_owned(), (abs, starts));
        }
        n
    }

    /// The label of the next paragraph in list `num_id` at `ilvl`, or `None` for bullets.
    fn label(&mut self, num_id: &str, ilvl: usize) -> Option<String> {
        let ilvl = ilvl.min(8);
        let (abs, starts) = self.nums.get(num_id)?;
        let start_of = |l: usize| {
            starts
                .get(&l)
                .copied()
                .or_else(|| self.levels.get(&(abs.clone(), l)).map(|v| v.start))
                .unwrap_or(1)
        };
        let level = self.levels.get(&(abs.clone(), ilvl))?.clone();
        if matches!(level.format.as_str(), "bullet" | "none") {
            return None;
        }
        let starts_all: Vec<u32> = (0..9).map(start_of).collect();
        let formats: Vec<String> = (0..9)
            .map(|l| {
                self.levels
                    .get(&(abs.clone(), l))
                    .map(|v| v.format.clone())
                    .unwrap_or_else(|| "decimal".into())
            })
            .collect();
        let counters = self.counters.entry(num_id.to_owned()).or_default();
        counters[ilvl] = Some(counters[ilvl].map_or(starts_all[ilvl], |c| c.saturating_add(1)));
        for c in counters.iter_mut().skip(ilvl + 1) {
            *c = None;
        }
        let mut text = level.text;
        for l in (0..9).rev() {
            let pat = format!("%{}", l + 1);
            if text.contains(&pat) {
                let v = counters[l].unwrap_or(starts_all[l]);
                let shown = match formats[l].as_str() {
                    "upperLetter" => letters(v),
                    "lowerLetter" => letters(v).to_lowercase(),
                    "upperRoman" => roman(v),
                    "lowerRoman" => roman(v).to_lowercase(),
                    _ => v.to_string(),
                };
                text = text.replace(&pat, &shown);
            }
        }
        Some(text)
    }
}

fn is_red(hex: &str) -> bool {
    let Ok(v) = u32::from_str_radix(hex, 16) else {
        return false;
    };
    if hex.len() != 6 {
        return false;
    }
    let (r, g, b) = (v >> 16, (v >> 8) & 0xFF, v & 0xFF);
    r >= 0xB0 && g <= 0x60 && b <= 0x60
}

/// Whether any run of an equation is underlined or red.
fn math_marked(e: &Element) -> bool {
    e.elements().any(|c| {
        if c.name == "m:r" {
            run_marked(c.child("w:rPr"))
        } else {
            math_marked(c)
        }
    })
}

/// Characters of the Symbol font (`w:sym`), used by older Vietnamese files for maths signs.
fn symbol_font_char(code: u32) -> Option<char> {
    // Word stores Symbol characters in the private area F000–F0FF.
    let c = match code.checked_sub(0xF000).unwrap_or(code) {
        0x61 => 'α',
        0x62 => 'β',
        0x67 => 'γ',
        0x64 => 'δ',
        0x44 => 'Δ',
        0x70 => 'π',
        0x6A => 'φ',
        0x77 => 'ω',
        0xA3 => '≤',
        0xB3 => '≥',
        0xB9 => '≠',
        0xBB => '≈',
        0xB1 => '±',
        0xB4 => '×',
        0xB8 => '÷',
        0xA5 => '∞',
        0xAE => '→',
        0xDE => '⇒',
        0xDB => '⇔',
        0xCE => '∈',
        0xCF => '∉',
        0xCC => '⊂',
        0xC7 => '∩',
        0xC8 => '∪',
        0xC6 => '∅',
        0xB0 => '°',
        0xD0 => '∠',
        0x5E => '⊥',
        0x2D => '−',
        0xD6 => '√',
        _ => return None,
    };
    Some(c)
}

fn run_marked(rpr: Option<&Element>) -> bool {
    let Some(rpr) = rpr else { return false };
    let underline = rpr
        .child("w:u")
        .is_some_and(|u| !matches!(u.attr("w:val"), Some("none") | Some("0")));
    let red = rpr
        .child("w:color")
        .and_then(|c| c.attr("w:val"))
        .is_some_and(is_red);
    let red_highlight = rpr
        .child("w:highlight")
        .and_then(|h| h.attr("w:val"))
        .is_some_and(|v| v == "red");
    underline || red || red_highlight
}

impl Walker<'_, '_> {
    fn para(&mut self, p: &Element) -> Para {
        let mut out = Para {
            lines: vec![Vec::new()],
            warnings: Vec::new(),
        };
        let num = p.child("w:pPr").and_then(|pr| pr.child("w:numPr"));
        if let Some(num) = num {
            let id = num
                .child("w:numId")
                .and_then(|e| e.attr("w:val"))
                .unwrap_or("0");
            let ilvl = num
                .child("w:ilvl")
                .and_then(|e| e.attr("w:val"))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if let Some(label) = self.numbering.label(id, ilvl) {
                Self::push(&mut out, &format!("{label} "), false);
            }
        }
        self.inline(p, &mut out, false);
        out
    }

    fn push(out: &mut Para, s: &str, marked: bool) {
        for c in s.chars() {
            if c == '\n' {
                out.lines.push(Vec::new());
            } else if let Some(l) = out.lines.last_mut() {
                l.push((c, marked));
            }
        }
    }

    fn inline(&mut self, e: &Element, out: &mut Para, inherited: bool) {
        for c in e.elements() {
            match c.name.as_str() {
                "w:pPr" | "w:rPr" | "w:del" | "w:moveFrom" | "w:proofErr" | "w:bookmarkStart"
                | "w:bookmarkEnd" => {}
                "w:r" => {
                    let marked = inherited || run_marked(c.child("w:rPr"));
                    for part in c.elements() {
                        match part.name.as_str() {
                            "w:t" => Self::push(out, &part.text(), marked),
                            "w:tab" | "w:ptab" => Self::push(out, "\t", marked),
                            "w:br" | "w:cr" if part.attr("w:type") != Some("page") => {
                                Self::push(out, "\n", false)
                            }
                            "w:drawing" | "w:pict" | "w:object" | "mc:AlternateContent" => {
                                self.image(part, out)
                            }
                            "w:sym" => {
                                let code = part
                                    .attr("w:char")
                                    .and_then(|c| u32::from_str_radix(c, 16).ok());
                                if let Some(c) = code.and_then(symbol_font_char) {
                                    Self::push(out, &c.to_string(), marked);
                                }
                            }
                            _ => {}
                        }
                    }
                }
                "m:oMath" | "m:oMathPara" => {
                    let latex = omml::to_latex(c);
                    if !latex.is_empty() {
                        // An option that is only an equation is keyed by underlining the equation.
                        Self::push(out, &format!("${latex}$"), inherited || math_marked(c));
                    }
                }
                "mc:AlternateContent" => {
                    // Choice and Fallback hold the same content; reading both would duplicate it.
                    if let Some(first) = c.elements().next() {
                        self.inline(first, out, inherited);
                    }
                }
                _ => self.inline(c, out, inherited),
            }
        }
    }

    fn image(&mut self, e: &Element, out: &mut Para) {
        let e = if e.name == "mc:AlternateContent" {
            e.elements().next().unwrap_or(e)
        } else {
            e
        };
        let rid = e
            .find("a:blip")
            .and_then(|b| b.attr("r:embed"))
            .or_else(|| e.find("v:imagedata").and_then(|v| v.attr("r:id")))
            .map(str::to_owned);
        let Some(rid) = rid else { return };
        if e.find("o:OLEObject").is_some() {
            out.warnings
                .push("công thức/đối tượng nhúng (MathType, OLE) được giữ dưới dạng ảnh".into());
        }
        let Some(target) = self.rels.get(&rid).cloned() else {
            out.warnings.push(format!("không tìm thấy ảnh {rid}"));
            return;
        };
        if let Some(id) = self.asset_by_path.get(&target) {
            Self::push(out, &Content::image_ref(id), false);
            return;
        }
        let cap = self.pkg.limits.max_image;
        match self.pkg.read(&target, cap) {
            Ok(Some(bytes)) => {
                let id = target.rsplit('/').next().unwrap_or(&target).to_owned();
                let id = if self.assets.iter().any(|a| a.id == id) {
                    target.replace('/', "_")
                } else {
                    id
                };
                self.assets.push(Asset {
                    mime: Asset::mime_from_name(&id).to_owned(),
                    id: id.clone(),
                    bytes,
                });
                self.asset_by_path.insert(target, id.clone());
                Self::push(out, &Content::image_ref(&id), false);
            }
            Ok(None) => out.warnings.push(format!("thiếu tệp ảnh {target}")),
            Err(_) => out
                .warnings
                .push(format!("ảnh {target} lớn hơn {} MB, đã bỏ qua", cap >> 20)),
        }
    }

    fn blocks(&mut self, body: &Element, out: &mut Vec<Block>) {
        for c in body.elements() {
            match c.name.as_str() {
                "w:p" => out.push(Block::Para(self.para(c))),
                "w:tbl" => {
                    let rows = c
                        .children_named("w:tr")
                        .map(|tr| {
                            tr.children_named("w:tc")
                                .map(|tc| {
                                    let mut cell = Para::default();
                                    self.cell(tc, &mut cell);
                                    cell
                                })
                                .collect()
                        })
                        .collect();
                    out.push(Block::Table(rows));
                }
                "w:sdt" | "w:sdtContent" | "w:customXml" | "w:ins" => self.blocks(c, out),
                _ => {}
            }
        }
    }

    fn cell(&mut self, tc: &Element, cell: &mut Para) {
        for p in tc.elements() {
            match p.name.as_str() {
                "w:p" => {
                    let para = self.para(p);
                    cell.lines.extend(para.lines);
                    cell.warnings.extend(para.warnings);
                }
                // A nested table is flattened into the cell's lines.
                "w:tbl" => {
                    for tc2 in p
                        .children_named("w:tr")
                        .flat_map(|tr| tr.children_named("w:tc"))
                    {
                        self.cell(tc2, cell);
                    }
                }
                "w:sdt" | "w:sdtContent" => self.cell(p, cell),
                _ => {}
            }
        }
    }
}

fn parse_rels(root: &Element) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for r in root.children_named("Relationship") {
        if r.attr("TargetMode") == Some("External") {
            continue;
        }
        let (Some(id), Some(target)) = (r.attr("Id"), r.attr("Target")) else {
            continue;
        };
        // Targets are relative to word/; a few writers use absolute package paths.
        let path = if let Some(abs) = target.strip_prefix('/') {
            abs.to_owned()
        } else {
            format!("word/{target}")
        };
        let mut parts: Vec<&str> = Vec::new();
        for seg in path.split('/') {
            match seg {
                ".." => {
                    parts.pop();
                }
                "." | "" => {}
                s => parts.push(s),
            }
        }
        map.insert(id.to_owned(), parts.join("/"));
    }
    map
}

/// Reads a `.docx` with the default [`Limits`].
pub fn import(bytes: &[u8]) -> Result<ImportReport, Error> {
    import_with(bytes, Limits::default())
}

/// Reads a `.docx`. File-level problems (not a docx, zip bomb, macros, malformed XML) are an
/// `Err`; problems of single questions are in the report.
pub fn import_with(bytes: &[u8], limits: Limits) -> Result<ImportReport, Error> {
    let mut pkg = Package::open(bytes, limits)?;
    if let Some(ct) = pkg.read("[Content_Types].xml", 1024 * 1024)? {
        let ct = String::from_utf8_lossy(&ct);
        if ct.contains("macroEnabled") || ct.contains("vbaProject") {
            return Err(Error::MacroEnabled);
        }
    }
    let rels = match pkg.read_xml("word/_rels/document.xml.rels")? {
        Some(root) => parse_rels(&root),
        None => HashMap::new(),
    };
    let doc = pkg
        .read_xml("word/document.xml")?
        .ok_or_else(|| Error::BadFile("tệp không có word/document.xml".into()))?;
    let body = doc
        .child("w:body")
        .ok_or_else(|| Error::BadFile("word/document.xml không có w:body".into()))?;
    let numbering = match pkg.read_xml("word/numbering.xml")? {
        Some(root) => Numbering::parse(&root),
        None => Numbering::default(),
    };
    let mut walker = Walker {
        numbering,
        pkg: &mut pkg,
        rels,
        assets: Vec::new(),
        asset_by_path: HashMap::new(),
    };
    let mut blocks = Vec::new();
    walker.blocks(body, &mut blocks);
    let assets = std::mem::take(&mut walker.assets);
    let mut report = build(blocks);
    // Keep only images some question shows, in first-use order.
    let used: BTreeSet<String> = report
        .questions
        .iter()
        .flat_map(|q| all_content(&q.question))
        .flat_map(|c| {
            c.image_ids()
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .chain(report.passages.iter().flat_map(|p| {
            p.content
                .image_ids()
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        }))
        .collect();
    report.assets = assets
        .into_iter()
        .filter(|a| used.contains(&a.id))
        .collect();
    Ok(report.finish())
}

/// Every piece of content of a question, for finding images.
pub(crate) fn all_content(q: &Question) -> Vec<&Content> {
    let mut v = vec![&q.stem];
    if let Some(e) = &q.explanation {
        v.push(e);
    }
    match &q.kind {
        QuestionKind::SingleChoice { options, .. }
        | QuestionKind::MultipleResponse { options, .. } => v.extend(options.iter()),
        QuestionKind::TrueFalseCluster { statements } => {
            v.extend(statements.iter().map(|s| &s.text))
        }
        _ => {}
    }
    v
}

/// The kind a "PHẦN" heading announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hint {
    Choice,
    TrueFalse,
    Short,
    Essay,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Stem,
    Options,
    Statements,
    Explanation,
    Rubric,
}

struct Draft {
    number: usize,
    section: Option<String>,
    hint: Option<Hint>,
    points: Option<f64>,
    passage: Option<String>,
    stem: Vec<String>,
    options: Vec<(String, bool)>,
    statements: Vec<(String, bool)>,
    answer: Option<String>,
    explanation: Vec<String>,
    rubric: Vec<Criterion>,
    stage: Stage,
    warnings: Vec<String>,
    /// Topic of the "Chủ đề:" line in force when the question started.
    topic: Option<String>,
    /// Level from a tag after the number ("Câu 1 (NB).", "[TH]") or a "Mức độ:" line.
    level: Option<CognitiveLevel>,
}

/// "Chủ đề: Hàm số" / "Chủ đề 2: Hàm số" / "Chương 1: Hàm số" → "Hàm số": the topic of the
/// questions that follow, as banks and matrix exams (topic × level) use it.
fn topic_line(text: &str, folded: &str) -> Option<String> {
    let after = folded
        .strip_prefix("chu de")
        .or_else(|| folded.strip_prefix("chuong"))?;
    if text.chars().count() > 150 {
        return None;
    }
    // Only a heading: "Chủ đề:", "Chủ đề 2:", "Chương IV:"; not "Chương trình: …".
    let (label, _) = after.split_once(':')?;
    let label = label.trim();
    let numbered = label.is_empty()
        || label.chars().all(|c| c.is_ascii_digit())
        || label.chars().all(|c| matches!(c, 'i' | 'v' | 'x' | 'l'));
    if !numbered || !after.starts_with([' ', ':']) {
        return None;
    }
    let (_, topic) = text.split_once(':')?;
    let topic = topic.trim().trim_end_matches('.').trim();
    (!topic.is_empty()).then(|| topic.to_owned())
}

/// "Mức độ: Nhận biết" → the level.
fn level_line(folded: &str) -> Option<CognitiveLevel> {
    let rest = folded
        .strip_prefix("muc do")
        .or_else(|| folded.strip_prefix("muc"))?;
    let rest = rest.trim_start().strip_prefix(':')?;
    CognitiveLevel::from_label(rest.trim().trim_end_matches('.'))
}

/// A level tag at the start of a question's text: "(NB)", "[TH]", "(Vận dụng)", followed by
/// an optional "." or ":". Returns the level and the characters it takes.
fn level_tag(l: &[(char, bool)]) -> Option<(CognitiveLevel, usize)> {
    let close = match l.first()?.0 {
        '(' => ')',
        '[' => ']',
        _ => return None,
    };
    let end = l.iter().take(16).position(|c| c.0 == close)?;
    let inside: String = l[1..end].iter().map(|c| c.0).collect();
    let level = CognitiveLevel::from_label(inside.trim())?;
    let mut n = end + 1;
    while n < l.len() && l[n].0 == ' ' {
        n += 1;
    }
    if n < l.len() && matches!(l[n].0, '.' | ':') {
        n += 1;
    }
    Some((level, n))
}

fn section_heading(folded: &str) -> Option<Option<Hint>> {
    let rest = folded.strip_prefix("phan ")?;
    let token: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let roman = match token.as_str() {
        "i" | "1" => Some(Hint::Choice),
        "ii" | "2" => Some(Hint::TrueFalse),
        "iii" | "3" => Some(Hint::Short),
        "iv" | "4" => Some(Hint::Essay),
        _ => return None,
    };
    let by_words = if folded.contains("dung sai") || folded.contains("dung/sai") {
        Some(Hint::TrueFalse)
    } else if folded.contains("tra loi ngan") {
        Some(Hint::Short)
    } else if folded.contains("tu luan") {
        Some(Hint::Essay)
    } else if folded.contains("lua chon") || folded.contains("trac nghiem") {
        Some(Hint::Choice)
    } else {
        None
    };
    Some(by_words.or(roman))
}

/// "Câu 12." → (12, chars consumed, points written as "(0,5 điểm)").
fn question_start(l: &[(char, bool)]) -> Option<(usize, usize, Option<f64>)> {
    let text = line_text(l);
    let folded_prefix: String = text.chars().take(9).collect();
    let f = fold(&folded_prefix);
    let word = ["cau", "bai", "question"]
        .into_iter()
        .find(|w| f.starts_with(w))?;
    let chars: Vec<char> = text.chars().collect();
    let mut i = word.chars().count();
    while i < chars.len() && chars[i] == ' ' {
        i += 1;
    }
    let start = i;
    while i < chars.len() && chars[i].is_ascii_digit() {
        i += 1;
    }
    if i == start || i - start > 4 {
        return None;
    }
    let number: usize = chars[start..i].iter().collect::<String>().parse().ok()?;
    let mut points = None;
    let mut j = i;
    while j < chars.len() && chars[j] == ' ' {
        j += 1;
    }
    if j < chars.len()
        && chars[j] == '('
        && let Some(close) = chars[j..].iter().position(|c| *c == ')')
    {
        let inside: String = chars[j + 1..j + close].iter().collect();
        let fi = fold(&inside);
        if let Some(num) = fi.strip_suffix("diem") {
            points = parse_number(num);
            if points.is_some() {
                j += close + 1;
            }
        }
    }
    while j < chars.len() && chars[j] == ' ' {
        j += 1;
    }
    if j < chars.len() && matches!(chars[j], '.' | ':' | ')' | '-') {
        j += 1;
    } else if j < chars.len() && j == i && !matches!(chars[j], '(' | '[') {
        // "Câu 1x" is text, not a question start ("Câu 1(NB)" is one, with its level).
        return None;
    }
    Some((number, j, points))
}

/// Splits a line of options ("A. 1\tB. 2\tC. 3\tD. 4") starting at letter `first`.
fn split_labels(l: &[(char, bool)], first: char, upper: bool) -> Option<Vec<(String, bool)>> {
    let l = trim(l);
    let is_label = |i: usize, letter: char| {
        i + 1 < l.len()
            && l[i].0 == letter
            && matches!(l[i + 1].0, '.' | ')' | ':')
            && (i == 0 || l[i - 1].0.is_whitespace())
            && (upper || l[i + 1].0 == ')' || i == 0)
    };
    if !is_label(0, first) {
        return None;
    }
    let mut starts = vec![0];
    let mut next = (first as u8 + 1) as char;
    for i in 1..l.len() {
        if is_label(i, next) {
            starts.push(i);
            next = (next as u8 + 1) as char;
        }
    }
    starts.push(l.len());
    Some(
        starts
            .windows(2)
            .map(|w| {
                let seg = &l[w[0]..w[1]];
                let body = trim(&seg[2..]);
                (line_text(body), line_marked(seg))
            })
            .collect(),
    )
}

fn is_answer_line(folded: &str) -> Option<usize> {
    for p in ["dap an dung", "dap an", "dap so", "tra loi"] {
        if let Some(rest) = folded.strip_prefix(p) {
            let rest_trim = rest.trim_start();
            if rest_trim.starts_with(':') || rest_trim.starts_with('.') {
                return Some(p.chars().count() + (rest.len() - rest_trim.len()) + 1);
            }
        }
    }
    None
}

/// Parses "Đ S Đ S", "ĐSĐS", "a) Đúng b) Sai …", "T F T F" into four truths.
pub(crate) fn parse_truths(s: &str) -> Option<Vec<bool>> {
    let f = fold(s);
    let mut out = Vec::new();
    let tokens: Vec<&str> = f
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '-' | '|' | '.' | ':'))
        .filter(|t| !t.is_empty())
        .collect();
    for t in tokens {
        let t = if t.len() >= 2 && t.as_bytes()[1] == b')' {
            &t[2..]
        } else {
            t
        };
        match t {
            "" => {}
            "dung" | "true" | "t" | "d" | "đ" => out.push(true),
            "sai" | "false" | "f" | "s" => out.push(false),
            w if w.chars().all(|c| matches!(c, 'd' | 's')) => {
                out.extend(w.chars().map(|c| c == 'd'))
            }
            _ => return None,
        }
    }
    (!out.is_empty()).then_some(out)
}

fn parse_letters(s: &str) -> Option<BTreeSet<usize>> {
    let t: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, ',' | ';' | '.' | '&'))
        .collect();
    let t = t.replace("va", "").replace("và", "");
    if t.is_empty() || t.chars().count() > 8 {
        return None;
    }
    t.chars()
        .map(|c| {
            (c.is_ascii_uppercase() && c <= 'H')
                .then(|| option_index(c))
                .flatten()
        })
        .collect()
}

struct Builder {
    report: ImportReport,
    drafts: Vec<Draft>,
    current: Option<Draft>,
    section: Option<String>,
    hint: Option<Hint>,
    /// The topic of the last "Chủ đề:" line (until the next one).
    topic: Option<String>,
    answer_mode: bool,
    answers: Vec<(usize, String)>,
    pending_passage: Vec<String>,
    pending_first: Option<String>,
    passage_for: Option<(String, usize, usize)>,
}

impl Builder {
    fn finish_current(&mut self) {
        if let Some(d) = self.current.take() {
            self.drafts.push(d);
        }
    }

    fn start_passage_if_any(&mut self, number: usize) -> Option<String> {
        if !self.pending_passage.is_empty() {
            self.pending_first = self.pending_passage.first().cloned();
            // An instruction line naming the questions ("Đọc … trả lời câu 1 đến câu 3.") is
            // not part of the passage when text follows it.
            let first = fold(self.pending_first.as_deref().unwrap_or(""));
            let instruction = self.pending_passage.len() > 1
                && first.contains("cau ")
                && first.chars().any(|c| c.is_ascii_digit());
            let text = self.pending_passage[usize::from(instruction)..].join("\n");
            self.pending_passage.clear();
            let f = fold(&format!("{first}\n{text}"));
            let looks_shared = [
                "doc ",
                "dung thong tin",
                "su dung",
                "thong tin sau",
                "doan van",
                "doan tho",
                "bai tho",
                "tra loi cac cau",
                "cho doan",
                "cho bang",
            ]
            .iter()
            .any(|k| f.contains(k));
            if looks_shared {
                // Only the instruction line says which questions share it ("… câu 1 đến câu 3");
                // numbers inside the passage (years, quantities) must not widen the range.
                let first_line = fold(self.pending_first.as_deref().unwrap_or(""));
                let nums: Vec<usize> = first_line
                    .split(|c: char| !c.is_ascii_digit())
                    .filter_map(|t| t.parse().ok())
                    .filter(|n| *n >= number && *n < number + 50)
                    .collect();
                let last = nums.iter().copied().max().unwrap_or(number).max(number);
                let id = format!("p{}", self.report.passages.len() + 1);
                self.report.passages.push(Passage {
                    id: id.clone(),
                    content: Content(text),
                });
                self.passage_for = Some((id, number, last));
            }
        }
        match &self.passage_for {
            Some((id, a, b)) if (*a..=*b).contains(&number) => Some(id.clone()),
            _ => {
                self.passage_for = None;
                None
            }
        }
    }

    fn line(&mut self, l: &[(char, bool)], warnings: &[String]) {
        let l = trim(l);
        if l.is_empty() {
            // An image dropped for its size leaves an empty line, but its warning still counts.
            if let Some(d) = self.current.as_mut() {
                let number = d.number;
                d.warnings
                    .extend(warnings.iter().map(|w| format!("Câu {number}: {w}")));
            }
            return;
        }
        let text = line_text(l);
        let folded = fold(&text);
        if text.chars().count() < 200 {
            if let Some(hint) = section_heading(&folded) {
                self.finish_current();
                self.pending_passage.clear();
                self.passage_for = None;
                self.section = Some(text);
                self.hint = hint;
                self.answer_mode = false;
                return;
            }
            if folded.starts_with("bang dap an")
                || folded == "dap an"
                || folded.starts_with("dap an va huong dan")
            {
                self.finish_current();
                self.answer_mode = true;
                return;
            }
        }
        if self.answer_mode {
            // Lines like "1. A  2. B  3. C" under a BẢNG ĐÁP ÁN heading.
            self.answers.extend(inline_answers(&text));
            return;
        }
        if let Some(topic) = topic_line(&text, &folded) {
            self.finish_current();
            self.pending_passage.clear();
            self.passage_for = None;
            self.topic = Some(topic);
            return;
        }
        if let Some((number, consumed, points)) = question_start(l) {
            self.finish_current();
            let passage = self.start_passage_if_any(number);
            let mut rest = trim(&l[consumed.min(l.len())..]);
            let mut level = None;
            if let Some((lv, n)) = level_tag(rest) {
                level = Some(lv);
                rest = trim(&rest[n..]);
            }
            let mut d = Draft {
                number,
                section: self.section.clone(),
                hint: self.hint,
                points,
                passage,
                stem: Vec::new(),
                options: Vec::new(),
                statements: Vec::new(),
                answer: None,
                explanation: Vec::new(),
                rubric: Vec::new(),
                stage: Stage::Stem,
                warnings: warnings
                    .iter()
                    .map(|w| format!("Câu {number}: {w}"))
                    .collect(),
                topic: self.topic.clone(),
                level,
            };
            // Short stems sometimes carry their options on the same line: "Câu 1. 2+2 = ? A. 3 B. 4 …".
            if let Some(a) = find_inline_options(rest) {
                d.stem.push(line_text(trim(&rest[..a])));
                if let Some(opts) = split_labels(&rest[a..], 'A', true) {
                    d.options = opts;
                    d.stage = Stage::Options;
                }
            } else if !rest.is_empty() {
                d.stem.push(line_text(rest));
            }
            self.current = Some(d);
            return;
        }
        let Some(d) = self.current.as_mut() else {
            // Text before any question of a section: instructions, or a passage for what follows.
            self.pending_passage.push(text);
            return;
        };
        let number = d.number;
        d.warnings
            .extend(warnings.iter().map(|w| format!("Câu {number}: {w}")));
        if let Some(level) = level_line(&folded) {
            d.level = Some(level);
            return;
        }
        if let Some(skip) = is_answer_line(&folded) {
            let value: String = text.chars().skip(skip).collect();
            d.answer = Some(value.trim().to_owned());
            return;
        }
        // Solution files say "Chọn B" or "Chọn đáp án B" (often inside the worked solution).
        if !d.options.is_empty()
            && d.answer.is_none()
            && let Some(letter) = chosen_letter(&text)
        {
            d.answer = Some(letter);
            // A bare "Chọn B" line is only the key; a solution line is kept as explanation.
            if folded.starts_with("chon ") && d.stage != Stage::Explanation {
                return;
            }
        }
        if ["loi giai", "huong dan giai", "giai:", "giai chi tiet"]
            .iter()
            .any(|p| folded.starts_with(p))
        {
            d.stage = Stage::Explanation;
            let after = text
                .split_once(':')
                .map(|(_, r)| r.trim().to_owned())
                .unwrap_or_default();
            if !after.is_empty() {
                d.explanation.push(after);
            }
            return;
        }
        if folded.starts_with("huong dan cham") {
            d.stage = Stage::Rubric;
            return;
        }
        if d.stage == Stage::Explanation {
            d.explanation.push(text);
            return;
        }
        if d.stage == Stage::Rubric {
            if let Some(c) = rubric_line(&text) {
                d.rubric.push(c);
            }
            return;
        }
        if d.statements.is_empty() {
            let next = option_letter_char(d.options.len());
            if let Some(opts) = split_labels(l, next, true) {
                d.options.extend(opts);
                d.stage = Stage::Options;
                return;
            }
        }
        if d.options.is_empty() {
            let next = (b'a' + d.statements.len() as u8) as char;
            if d.statements.len() < 8
                && let Some(sts) = split_labels(l, next, false)
            {
                d.statements.extend(sts);
                d.stage = Stage::Statements;
                return;
            }
        }
        if d.stage == Stage::Stem
            && d.hint != Some(Hint::Essay)
            && d.options.is_empty()
            && d.statements.is_empty()
            && starts_shared(&folded)
            && !d.stem.is_empty()
            && d.answer.is_some()
        {
            self.finish_current();
            self.pending_passage.push(text);
            return;
        }
        match d.stage {
            Stage::Stem => d.stem.push(text),
            Stage::Options => {
                if d.answer.is_some() || starts_shared(&folded) {
                    self.finish_current();
                    self.pending_passage.push(text);
                } else if let Some(last) = d.options.last_mut() {
                    join(&mut last.0, &text);
                    last.1 |= line_marked(l);
                }
            }
            Stage::Statements => {
                if d.answer.is_some() || starts_shared(&folded) {
                    self.finish_current();
                    self.pending_passage.push(text);
                } else if let Some(last) = d.statements.last_mut() {
                    join(&mut last.0, &text);
                    last.1 |= line_marked(l);
                }
            }
            Stage::Explanation | Stage::Rubric => {}
        }
    }

    /// Statements in a table with "Đúng" / "Sai" columns ticked (| a) … | X | |), a common
    /// Part II layout. Returns whether the table was one.
    fn true_false_table(&mut self, rows: &[Vec<Para>], texts: &[Vec<String>]) -> bool {
        let Some(header) = texts.iter().position(|r| {
            r.iter().any(|c| fold(c) == "dung") && r.iter().any(|c| fold(c) == "sai")
        }) else {
            return false;
        };
        let (Some(dung), Some(sai)) = (
            texts[header].iter().position(|c| fold(c) == "dung"),
            texts[header].iter().position(|c| fold(c) == "sai"),
        ) else {
            return false;
        };
        if self.current.is_none() {
            return false;
        }
        let mut key = String::new();
        for (row, text) in rows.iter().zip(texts).skip(header + 1) {
            let Some(first) = row.first() else { continue };
            for l in &first.lines {
                self.line(l, &first.warnings);
            }
            let ticked = |i: usize| text.get(i).is_some_and(|c| !c.trim().is_empty());
            key.push(match (ticked(dung), ticked(sai)) {
                (true, false) => 'Đ',
                (false, true) => 'S',
                _ => '?',
            });
        }
        if let Some(d) = self.current.as_mut()
            && !key.contains('?')
            && d.answer.is_none()
        {
            d.answer = Some(key);
        }
        true
    }

    fn table(&mut self, rows: &[Vec<Para>]) {
        let texts: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| {
                        c.lines
                            .iter()
                            .map(|l| line_text(trim(l)))
                            .collect::<Vec<_>>()
                            .join(" ")
                            .trim()
                            .to_owned()
                    })
                    .collect()
            })
            .collect();
        if self.true_false_table(rows, &texts) {
            return;
        }
        let pairs = table_answers(&texts);
        let looks_like_key = !pairs.is_empty()
            && (self.answer_mode
                || pairs.len() * 2 >= texts.iter().map(Vec::len).sum::<usize>() / 2);
        if looks_like_key
            && (self.answer_mode || self.current.as_ref().is_none_or(|d| d.stage != Stage::Stem))
        {
            self.finish_current();
            self.answers.extend(pairs);
            return;
        }
        // Options or statements laid out in a grid, or a data table inside a stem.
        let in_stem = self
            .current
            .as_ref()
            .is_some_and(|d| d.stage == Stage::Stem);
        let starts_labels = rows.iter().flatten().any(|c| {
            c.lines.first().is_some_and(|l| {
                let t = trim(l);
                t.len() > 1
                    && matches!(t[1].0, '.' | ')')
                    && (t[0].0.is_ascii_uppercase() || t[0].0.is_ascii_lowercase())
            })
        });
        if starts_labels || !in_stem {
            for cell in rows.iter().flatten() {
                for l in &cell.lines {
                    self.line(l, &cell.warnings);
                }
            }
        } else if let Some(d) = self.current.as_mut() {
            for r in &texts {
                d.stem.push(r.join(" | "));
            }
        }
    }
}

fn option_letter_char(i: usize) -> char {
    (b'A' + i.min(25) as u8) as char
}

fn join(into: &mut String, more: &str) {
    if into.is_empty() {
        into.push_str(more);
    } else {
        into.push('\n');
        into.push_str(more);
    }
}

/// The last "Chọn B" / "chọn đáp án B" in a line (solutions end with it), or a line starting
/// "Đáp án B" → "B".
fn chosen_letter(text: &str) -> Option<String> {
    let f = fold(text);
    let mut found = None;
    for (i, _) in f.match_indices("chon ").chain(f.match_indices("dap an ")) {
        if i > 0
            && f[..i]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric)
        {
            continue;
        }
        // "Đáp án A sai vì …" inside a solution is not a key; only a line starting so is.
        if i > 0 && f[i..].starts_with("dap an ") {
            continue;
        }
        let rest = &f[i..];
        let rest = rest
            .strip_prefix("chon ")
            .or_else(|| rest.strip_prefix("dap an "))
            .unwrap_or(rest);
        let rest = ["dap an dung la ", "dap an ", "phuong an ", "la "]
            .iter()
            .find_map(|p| rest.strip_prefix(p))
            .unwrap_or(rest);
        let mut chars = rest.chars();
        let Some(c) = chars.next() else { continue };
        let after_ok = chars.next().is_none_or(|n| !n.is_alphanumeric());
        if ('a'..='h').contains(&c) && after_ok && found.as_ref().is_none_or(|(j, _)| *j < i) {
            found = Some((i, c.to_ascii_uppercase().to_string()));
        }
    }
    found.map(|(_, l)| l)
}

fn starts_shared(folded: &str) -> bool {
    [
        "doc doan",
        "doc bai",
        "doc van ban",
        "doc thong tin",
        "cho doan",
        "dung thong tin",
        "su dung cac thong tin",
        "su dung thong tin",
    ]
    .iter()
    .any(|p| folded.starts_with(p))
}

/// "A. " found after the stem on the same line, with B. following.
fn find_inline_options(rest: &[(char, bool)]) -> Option<usize> {
    // The last "B." label, found once, so a pathological line stays linear.
    let last_b = (1..rest.len().saturating_sub(1))
        .rev()
        .find(|&i| rest[i].0 == 'B' && rest[i + 1].0 == '.' && rest[i - 1].0.is_whitespace())?;
    (1..last_b).find(|&i| rest[i].0 == 'A' && rest[i + 1].0 == '.' && rest[i - 1].0.is_whitespace())
}

pub(crate) fn rubric_line(text: &str) -> Option<Criterion> {
    let t = text.trim().trim_start_matches(['-', '+', '•', '*']).trim();
    let open = t.rfind('(')?;
    let inside = t[open + 1..].trim_end_matches(')');
    let f = fold(inside);
    let points = parse_number(f.strip_suffix("diem")?)?;
    Some(Criterion {
        description: t[..open].trim().to_owned(),
        max_points: points,
    })
}

/// "1. A 2. B" or "1A 2B" or "1-A; 2-B" on a line.
fn inline_answers(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let cleaned: String = text
        .chars()
        .map(|c| {
            if matches!(c, '.' | '-' | ':' | ';' | ',' | '|' | '\t') {
                ' '
            } else {
                c
            }
        })
        .collect();
    let mut tokens = cleaned.split_whitespace().peekable();
    while let Some(t) = tokens.next() {
        let t = t
            .trim_start_matches(|c: char| c.is_alphabetic() && fold(&c.to_string()) == "c")
            .to_owned();
        let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
        let Ok(n) = digits.parse::<usize>() else {
            continue;
        };
        let rest: String = t.chars().skip(digits.len()).collect();
        if !rest.is_empty() {
            out.push((n, rest));
        } else if let Some(v) = tokens.peek()
            && !v.chars().next().is_some_and(|c| c.is_ascii_digit())
        {
            out.push((n, tokens.next().unwrap_or_default().to_owned()));
        }
    }
    out
}

fn cell_number(s: &str) -> Option<usize> {
    let f = fold(s);
    let f = f
        .strip_prefix("cau")
        .unwrap_or(&f)
        .trim()
        .trim_end_matches(['.', ':']);
    (!f.is_empty() && f.len() <= 4 && f.chars().all(|c| c.is_ascii_digit()))
        .then(|| f.parse().ok())
        .flatten()
}

/// Reads an answer table: "Câu | 1 | 2 …" over "Đáp án | A | B …", or rows of number/answer pairs.
fn table_answers(rows: &[Vec<String>]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let r = &rows[i];
        let head = r.first().map(|c| fold(c)).unwrap_or_default();
        if (head == "cau" || head == "cau hoi") && i + 1 < rows.len() {
            let next = &rows[i + 1];
            if next.first().is_some_and(|c| fold(c).starts_with("dap an")) {
                for (n, a) in r.iter().zip(next).skip(1) {
                    if let Some(n) = cell_number(n)
                        && !a.trim().is_empty()
                    {
                        out.push((n, a.trim().to_owned()));
                    }
                }
                i += 2;
                continue;
            }
        }
        let mut j = 0;
        while j + 1 < r.len() {
            if let Some(n) = cell_number(&r[j]) {
                if !r[j + 1].trim().is_empty() && cell_number(&r[j + 1]).is_none() {
                    out.push((n, r[j + 1].trim().to_owned()));
                }
                j += 2;
            } else {
                j += 1;
            }
        }
        i += 1;
    }
    out
}

/// Which kind of draft an answer from a table fits.
fn answer_fits(d: &Draft, answer: &str) -> bool {
    if !d.options.is_empty() {
        parse_letters(answer).is_some()
    } else if !d.statements.is_empty() {
        parse_truths(answer).is_some()
    } else {
        parse_letters(answer).is_none()
    }
}

fn build(blocks: Vec<Block>) -> ImportReport {
    let mut b = Builder {
        report: ImportReport::default(),
        drafts: Vec::new(),
        current: None,
        section: None,
        hint: None,
        topic: None,
        answer_mode: false,
        answers: Vec::new(),
        pending_passage: Vec::new(),
        pending_first: None,
        passage_for: None,
    };
    for block in &blocks {
        match block {
            Block::Para(p) => {
                for (i, l) in p.lines.iter().enumerate() {
                    let w = if i == 0 { p.warnings.as_slice() } else { &[] };
                    b.line(l, w);
                }
            }
            Block::Table(rows) => b.table(rows),
        }
    }
    b.finish_current();
    let Builder {
        mut report,
        mut drafts,
        answers,
        ..
    } = b;
    for (n, answer) in answers {
        let target = drafts
            .iter_mut()
            .filter(|d| d.number == n && answer_fits(d, &answer))
            .find(|d| d.answer.is_none() && !has_marks(d));
        match target {
            Some(d) => d.answer = Some(answer),
            None => {
                if let Some(d) = drafts
                    .iter_mut()
                    .find(|d| d.number == n && answer_fits(d, &answer))
                {
                    let marked = draft_marked_key(d);
                    if d.answer.as_deref().map(str::trim) != Some(answer.trim())
                        && marked.as_deref() != Some(answer.trim())
                    {
                        d.warnings.push(format!(
                            "Câu {n}: bảng đáp án ghi {answer}, khác đáp án trong câu"
                        ));
                    }
                }
            }
        }
    }
    for d in drafts {
        let (number, section, question, warnings) = finish_draft(d);
        report.push(number, section, question, warnings);
    }
    report
}

fn has_marks(d: &Draft) -> bool {
    d.options.iter().any(|o| o.1) || d.statements.iter().any(|s| s.1)
}

fn draft_marked_key(d: &Draft) -> Option<String> {
    if d.options.iter().any(|o| o.1) {
        return Some(
            d.options
                .iter()
                .enumerate()
                .filter(|(_, o)| o.1)
                .map(|(i, _)| option_letter_char(i))
                .collect(),
        );
    }
    None
}

fn finish_draft(d: Draft) -> (usize, Option<String>, Question, Vec<String>) {
    let mut warnings = d.warnings;
    let number = d.number;
    let stem = Content(d.stem.join("\n"));
    let kind = if !d.options.is_empty() {
        let mut keys: BTreeSet<usize> = d
            .options
            .iter()
            .enumerate()
            .filter(|(_, o)| o.1)
            .map(|(i, _)| i)
            .collect();
        if let Some(a) = &d.answer {
            match parse_letters(a) {
                Some(letters) => {
                    if !keys.is_empty() && keys != letters {
                        warnings.push(format!(
                            "Câu {number}: dòng đáp án khác phương án được đánh dấu"
                        ));
                    }
                    keys = letters;
                }
                None => warnings.push(format!("Câu {number}: không hiểu đáp án \"{a}\"")),
            }
        }
        let options: Vec<Content> = d.options.into_iter().map(|o| Content(o.0)).collect();
        if keys.len() > 1 {
            QuestionKind::MultipleResponse { options, keys }
        } else {
            QuestionKind::SingleChoice {
                options,
                key: keys.into_iter().next(),
            }
        }
    } else if !d.statements.is_empty() {
        let any_marked = d.statements.iter().any(|s| s.1);
        let truths = d.answer.as_deref().and_then(parse_truths);
        if d.answer.is_some() && truths.is_none() {
            warnings.push(format!("Câu {number}: không hiểu đáp án Đúng/Sai"));
        }
        let statements = d
            .statements
            .into_iter()
            .enumerate()
            .map(|(i, (text, marked))| Statement {
                text: Content(text),
                truth: match &truths {
                    Some(t) => t.get(i).copied(),
                    // With marks, the marked statements are the true ones and the rest false.
                    None if any_marked => Some(marked),
                    None => None,
                },
            })
            .collect();
        QuestionKind::TrueFalseCluster { statements }
    } else if let Some(a) = d
        .answer
        .filter(|_| d.hint != Some(Hint::Essay) && d.rubric.is_empty())
    {
        let key = match parse_number(&a) {
            Some(value) => ShortKey::Numeric {
                value,
                tolerance: 0.0,
            },
            None => ShortKey::Text {
                accepted: a
                    .split(';')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect(),
            },
        };
        QuestionKind::ShortAnswer { key: Some(key) }
    } else {
        match d.hint {
            Some(Hint::Short) => QuestionKind::ShortAnswer { key: None },
            Some(Hint::Choice) if d.rubric.is_empty() => QuestionKind::SingleChoice {
                options: Vec::new(),
                key: None,
            },
            Some(Hint::TrueFalse) if d.rubric.is_empty() => QuestionKind::TrueFalseCluster {
                statements: Vec::new(),
            },
            _ => QuestionKind::Essay { rubric: d.rubric },
        }
    };
    let default_points = match (&kind, d.hint) {
        (QuestionKind::SingleChoice { .. }, Some(Hint::Choice)) => 0.25,
        (QuestionKind::ShortAnswer { .. }, Some(Hint::Short)) => 0.25,
        _ => 1.0,
    };
    let mut q = Question::new(String::new(), kind);
    q.stem = stem;
    q.passage = d.passage;
    q.points = d.points.unwrap_or(default_points);
    q.explanation = (!d.explanation.is_empty()).then(|| Content(d.explanation.join("\n")));
    q.meta.topic = d.topic;
    q.meta.level = d.level;
    (number, d.section, q, warnings)
}
