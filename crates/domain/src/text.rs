//! Vietnamese text: accent folding for search and a collation key for sorting.
//!
//! `đ` is a letter of its own (not `d` plus a mark), so Unicode decomposition alone does not fold
//! it; the tables below handle precomposed letters, and combining marks (text pasted from some
//! Excel files arrives decomposed) are dropped.

/// Vowel families in Vietnamese alphabetical order, each with its six tones in dictionary order
/// (ngang, huyền, sắc, hỏi, ngã, nặng).
const VOWELS: [(char, &str); 12] = [
    ('a', "aàáảãạ"),
    ('ă', "ăằắẳẵặ"),
    ('â', "âầấẩẫậ"),
    ('e', "eèéẻẽẹ"),
    ('ê', "êềếểễệ"),
    ('i', "iìíỉĩị"),
    ('o', "oòóỏõọ"),
    ('ô', "ôồốổỗộ"),
    ('ơ', "ơờớởỡợ"),
    ('u', "uùúủũụ"),
    ('ư', "ưừứửữự"),
    ('y', "yỳýỷỹỵ"),
];

/// The Vietnamese alphabet order (29 letters) followed by the Latin letters it lacks.
const ALPHABET: &str = "aăâbcdđeêghiklmnoôơpqrstuưvxyfjwz";

fn is_combining(c: char) -> bool {
    ('\u{0300}'..='\u{036F}').contains(&c)
}

/// Splits a lowercase letter into (base letter with its hat/breve/horn, tone index 0–5).
fn split_tone(c: char) -> (char, u8) {
    for (base, family) in VOWELS {
        if let Some(i) = family.chars().position(|x| x == c) {
            return (base, i as u8);
        }
    }
    (c, 0)
}

/// Folds a letter to plain ASCII (`ậ` → `a`, `đ` → `d`, `Ư` → `u`), lowercased.
fn fold_char(c: char) -> char {
    let (base, _) = split_tone(c);
    match base {
        'ă' | 'â' => 'a',
        'ê' => 'e',
        'ô' | 'ơ' => 'o',
        'ư' => 'u',
        'đ' => 'd',
        other => other,
    }
}

/// Lowercases and removes every Vietnamese diacritic, for accent-insensitive search:
/// `fold("Đường Trần Hưng Đạo") == "duong tran hung dao"`. Whitespace runs become one space.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last_space = true;
    for c in s.chars().flat_map(char::to_lowercase) {
        if is_combining(c) {
            continue;
        }
        if c.is_whitespace() {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
            continue;
        }
        last_space = false;
        out.push(fold_char(c));
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Whether `query` occurs in `haystack`, ignoring case and accents.
pub fn contains_folded(haystack: &str, query: &str) -> bool {
    fold(haystack).contains(&fold(query))
}

/// A key that sorts words in Vietnamese dictionary order: letters first (a < ă < â < b … d < đ),
/// tones second.
pub fn collation_key(s: &str) -> Vec<u16> {
    let mut letters = Vec::new();
    let mut tones = Vec::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if is_combining(c) {
            continue;
        }
        let (base, tone) = split_tone(c);
        let rank = match ALPHABET.chars().position(|x| x == base) {
            Some(i) => 100 + i as u16,
            None if base == ' ' => 1,
            None => 200 + (base as u32 % 60000) as u16,
        };
        letters.push(rank);
        tones.push(tone as u16);
    }
    letters.push(0);
    letters.extend(tones);
    letters
}

/// The sort key for a Vietnamese person's name: given name (last word) first, then the rest,
/// as class lists are ordered ("Nguyễn Văn An" before "Lê Thị Bình").
pub fn name_sort_key(full_name: &str) -> Vec<u16> {
    let words: Vec<&str> = full_name.split_whitespace().collect();
    let reordered = match words.split_last() {
        Some((given, rest)) => format!("{given} {}", rest.join(" ")),
        None => String::new(),
    };
    collation_key(&reordered)
}

/// Trims and collapses inner whitespace (names typed in Excel often carry double spaces).
pub fn normalize_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_all_vietnamese_letters_including_d_bar() {
        assert_eq!(fold("Đường Trần  Hưng Đạo"), "duong tran hung dao");
        assert_eq!(fold("Nguyễn Thị Hằng"), "nguyen thi hang");
        assert_eq!(fold("ỨNG HOÀ"), "ung hoa");
        // decomposed input: "e" + combining circumflex + combining acute
        assert_eq!(fold("Nguye\u{302}\u{303}n"), "nguyen");
    }

    #[test]
    fn contains_is_accent_insensitive() {
        assert!(contains_folded("Trường THCS Lê Quý Đôn", "le quy don"));
        assert!(!contains_folded("Trường THCS Lê Quý Đôn", "tran"));
    }

    #[test]
    fn collation_orders_vietnamese_letters() {
        let mut words = vec!["Đào", "Dung", "Ánh", "Ân", "An", "Bình", "Ăn"];
        words.sort_by_key(|w| collation_key(w));
        assert_eq!(words, vec!["An", "Ánh", "Ăn", "Ân", "Bình", "Dung", "Đào"]);
    }

    #[test]
    fn names_sort_by_given_name() {
        let mut names = vec!["Lê Thị Bình", "Nguyễn Văn An", "Trần Đức Anh"];
        names.sort_by_key(|n| name_sort_key(n));
        assert_eq!(names, vec!["Nguyễn Văn An", "Trần Đức Anh", "Lê Thị Bình"]);
    }
}
