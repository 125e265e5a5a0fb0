//! LaTeX to typst math, for the constructs of school mathematics that the Word importer emits
//! (fractions, roots, scripts, Greek letters, relations, arrows, accents, `\left…\right`,
//! `cases`, matrices, `\text`, `\mathbb`, operators, limits, sums and integrals).
//!
//! The output uses typst's structural functions (`frac`, `root`, `lr`, `cases`, `mat`, …) and
//! plain Unicode for symbols, so it does not depend on typst's symbol names, which change between
//! versions. Every punctuation character is escaped, so no LaTeX input can reach typst code.
//! Anything not understood gives `None`; [`math`] then prints the LaTeX source as text, because
//! a readable formula source beats a wrong formula.

use crate::escape;

/// Markup for an inline formula: typst math when the LaTeX converts, else the source between
/// dollars as plain text.
pub fn math(src: &str) -> String {
    match latex_to_typst(src) {
        Some(m) if m.trim().is_empty() => String::new(),
        Some(m) => format!("${}$", m.trim()),
        None => escape(&format!("${src}$")),
    }
}

/// Converts LaTeX (without dollars) to typst math (without dollars), or `None`.
pub fn latex_to_typst(src: &str) -> Option<String> {
    if src.len() > 20_000 {
        return None;
    }
    let mut p = Parser {
        chars: src.chars().collect(),
        pos: 0,
        depth: 0,
    };
    let out = p.seq(End::Eof)?;
    (p.pos == p.chars.len()).then_some(out)
}

/// What ends a sequence.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Eof,
    Brace,
    Bracket,
    /// `\right`, which the caller then reads.
    Right,
    /// `\end{name}` of an environment; the caller reads it.
    Env,
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

fn symbol(name: &str) -> Option<&'static str> {
    Some(match name {
        "alpha" => "α",
        "beta" => "β",
        "gamma" => "γ",
        "delta" => "δ",
        "epsilon" => "ϵ",
        "varepsilon" => "ε",
        "zeta" => "ζ",
        "eta" => "η",
        "theta" => "θ",
        "vartheta" => "ϑ",
        "iota" => "ι",
        "kappa" => "κ",
        "lambda" => "λ",
        "mu" => "μ",
        "nu" => "ν",
        "xi" => "ξ",
        "pi" => "π",
        "varpi" => "ϖ",
        "rho" => "ρ",
        "varrho" => "ϱ",
        "sigma" => "σ",
        "varsigma" => "ς",
        "tau" => "τ",
        "upsilon" => "υ",
        "phi" => "ϕ",
        "varphi" => "φ",
        "chi" => "χ",
        "psi" => "ψ",
        "omega" => "ω",
        "Gamma" => "Γ",
        "Delta" => "Δ",
        "Theta" => "Θ",
        "Lambda" => "Λ",
        "Xi" => "Ξ",
        "Pi" => "Π",
        "Sigma" => "Σ",
        "Upsilon" => "Υ",
        "Phi" => "Φ",
        "Psi" => "Ψ",
        "Omega" => "Ω",
        "le" | "leq" | "leqslant" => "≤",
        "ge" | "geq" | "geqslant" => "≥",
        "ne" | "neq" => "≠",
        "lt" => "<",
        "gt" => ">",
        "approx" => "≈",
        "equiv" => "≡",
        "sim" => "∼",
        "simeq" => "≃",
        "cong" => "≅",
        "propto" => "∝",
        "pm" => "±",
        "mp" => "∓",
        "times" => "×",
        "div" => "÷",
        "cdot" => "⋅",
        "ast" => "∗",
        "star" => "⋆",
        "circ" => "∘",
        "bullet" => "∙",
        "infty" => "∞",
        "to" | "rightarrow" => "→",
        "leftarrow" | "gets" => "←",
        "leftrightarrow" => "↔",
        "Rightarrow" | "implies" => "⇒",
        "Leftarrow" => "⇐",
        "Leftrightarrow" | "iff" => "⇔",
        "longrightarrow" => "⟶",
        "Longrightarrow" => "⟹",
        "Longleftrightarrow" => "⟺",
        "mapsto" => "↦",
        "uparrow" => "↑",
        "downarrow" => "↓",
        "in" => "∈",
        "notin" => "∉",
        "ni" => "∋",
        "subset" => "⊂",
        "subseteq" => "⊆",
        "supset" => "⊃",
        "supseteq" => "⊇",
        "not" => "¬",
        "neg" | "lnot" => "¬",
        "land" | "wedge" => "∧",
        "lor" | "vee" => "∨",
        "cup" => "∪",
        "cap" => "∩",
        "setminus" | "backslash" => "∖",
        "varnothing" | "emptyset" => "∅",
        "forall" => "∀",
        "exists" => "∃",
        "partial" => "∂",
        "nabla" => "∇",
        "angle" => "∠",
        "widehat" => "^",
        "perp" => "⊥",
        "parallel" => "∥",
        "mid" => "∣",
        "triangle" => "△",
        "square" => "□",
        "degree" => "°",
        "prime" => "′",
        "ldots" | "dots" => "…",
        "cdots" => "⋯",
        "vdots" => "⋮",
        "ddots" => "⋱",
        "langle" => "⟨",
        "rangle" => "⟩",
        "lfloor" => "⌊",
        "rfloor" => "⌋",
        "lceil" => "⌈",
        "rceil" => "⌉",
        "sum" => "∑",
        "prod" => "∏",
        "coprod" => "∐",
        "int" => "∫",
        "iint" => "∬",
        "iiint" => "∭",
        "oint" => "∮",
        "hbar" => "ℏ",
        "ell" => "ℓ",
        _ => return None,
    })
}

/// Operators written upright, with their limits below in display style for the second group.
const OPERATORS: &[&str] = &[
    "sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
    "log", "ln", "lg", "exp", "det", "gcd", "deg", "dim", "ker", "arg",
];
const LIMIT_OPERATORS: &[&str] = &["lim", "max", "min", "sup", "inf"];

fn blackboard(c: char) -> Option<char> {
    Some(match c {
        'R' => 'ℝ',
        'N' => 'ℕ',
        'Z' => 'ℤ',
        'Q' => 'ℚ',
        'C' => 'ℂ',
        'P' => 'ℙ',
        _ => return None,
    })
}

/// A string literal inside math (for `\text`), typst syntax.
fn text_literal(s: &str) -> String {
    crate::string_literal(s)
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn looking_at(&self, s: &str) -> bool {
        let mut i = self.pos;
        for c in s.chars() {
            if self.chars.get(i) != Some(&c) {
                return false;
            }
            i += 1;
        }
        // A command name must end there.
        !(s.starts_with('\\')
            && s[1..].chars().all(|c| c.is_ascii_alphabetic())
            && self.chars.get(i).is_some_and(|c| c.is_ascii_alphabetic()))
    }

    /// Atoms up to `end`, as typst math separated by spaces.
    fn seq(&mut self, end: End) -> Option<String> {
        self.depth += 1;
        if self.depth > 40 {
            return None;
        }
        let mut atoms: Vec<String> = Vec::new();
        loop {
            self.skip_spaces();
            let Some(c) = self.peek() else {
                if end != End::Eof {
                    return None;
                }
                break;
            };
            match (c, end) {
                ('}', End::Brace) | (']', End::Bracket) => {
                    self.pos += 1;
                    break;
                }
                ('}', _) => return None,
                _ => {}
            }
            if end == End::Right && self.looking_at("\\right") {
                break;
            }
            if end == End::Env && self.looking_at("\\end") {
                break;
            }
            if c == '^' || c == '_' {
                let base = atoms.pop().unwrap_or_else(|| "zws".into());
                self.pos += 1;
                let first = self.script()?;
                self.skip_spaces();
                let other = if c == '_' { '^' } else { '_' };
                let mut out = format!("{base}{c}({first})");
                if self.peek() == Some(other) {
                    self.pos += 1;
                    let second = self.script()?;
                    out.push_str(&format!("{other}({second})"));
                }
                atoms.push(out);
                continue;
            }
            if c == '\'' {
                // Primes attach to the previous atom.
                self.pos += 1;
                let base = atoms.pop().unwrap_or_else(|| "zws".into());
                atoms.push(format!("{base}'"));
                continue;
            }
            atoms.push(self.atom()?);
        }
        self.depth -= 1;
        Some(atoms.join(" "))
    }

    /// The argument of `^` or `_`: a group or one atom.
    fn script(&mut self) -> Option<String> {
        self.skip_spaces();
        if self.peek() == Some('{') {
            self.pos += 1;
            self.seq(End::Brace)
        } else {
            self.atom()
        }
    }

    /// A command argument: a group or one atom.
    fn arg(&mut self) -> Option<String> {
        self.script()
    }

    /// A raw group's text, for `\text{…}`, `\operatorname{…}` and environment names.
    fn raw_group(&mut self) -> Option<String> {
        self.skip_spaces();
        if self.peek() != Some('{') {
            return None;
        }
        self.pos += 1;
        let mut depth = 0usize;
        let mut out = String::new();
        loop {
            let c = self.peek()?;
            self.pos += 1;
            match c {
                '{' => {
                    depth += 1;
                    out.push(c);
                }
                '}' if depth == 0 => return Some(out),
                '}' => {
                    depth -= 1;
                    out.push(c);
                }
                '\\' => {
                    // Escaped characters inside text: \{ \} \% \_ \& \$ \#.
                    let d = self.peek()?;
                    if "{}%_&$#".contains(d) {
                        self.pos += 1;
                        out.push(d);
                    } else if d == ' ' || d == ',' || d == ';' {
                        self.pos += 1;
                        out.push(' ');
                    } else {
                        return None;
                    }
                }
                c => out.push(c),
            }
        }
    }

    /// A group wrapped so that it can carry scripts without showing brackets.
    fn grouped(inner: String) -> String {
        if inner.trim().is_empty() {
            "zws".into()
        } else if !inner.contains(' ') {
            inner
        } else {
            format!("class(\"normal\", {inner})")
        }
    }

    fn atom(&mut self) -> Option<String> {
        let c = self.peek()?;
        self.pos += 1;
        match c {
            '{' => Some(Self::grouped(self.seq(End::Brace)?)),
            '}' | '^' | '_' | '&' | '#' | '$' | '%' | '~' => {
                if c == '~' {
                    Some("space.nobreak".into())
                } else {
                    None
                }
            }
            '\\' => self.command(),
            c if c.is_ascii_digit() => {
                let mut n = c.to_string();
                let mut comma = false;
                loop {
                    match self.peek() {
                        Some(d) if d.is_ascii_digit() => n.push(d),
                        // A decimal point or the Vietnamese decimal comma, between digits.
                        Some(sep @ ('.' | ','))
                            if self
                                .chars
                                .get(self.pos + 1)
                                .is_some_and(char::is_ascii_digit) =>
                        {
                            comma |= sep == ',';
                            n.push(sep);
                        }
                        _ => break,
                    }
                    self.pos += 1;
                }
                // "1,5" is one number (no space after the comma), as Word shows it.
                Some(if comma { text_literal(&n) } else { n })
            }
            c if c.is_ascii_alphabetic() => Some(c.to_string()),
            c if c.is_ascii_punctuation() => Some(match c {
                '+' | '-' | '=' | '<' | '>' | '!' | '.' | '*' => c.to_string(),
                other => format!("\\{other}"),
            }),
            // Greek typed directly is a variable like \alpha; other letters are text.
            c if ('\u{370}'..='\u{3ff}').contains(&c) => Some(c.to_string()),
            c if c.is_alphabetic() => Some(text_literal(&c.to_string())),
            c if c.is_control() => None,
            // Unicode symbols (≤, ∞, α typed directly) are math already.
            c => Some(c.to_string()),
        }
    }

    /// A delimiter after `\left`, `\right`, `\big…`.
    fn delimiter(&mut self) -> Option<String> {
        self.skip_spaces();
        let c = self.peek()?;
        self.pos += 1;
        Some(match c {
            '.' => String::new(),
            '(' | ')' | '[' | ']' | '|' | '/' => format!("\\{c}"),
            '\\' => {
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                    self.pos += 1;
                }
                if self.pos == start {
                    let d = self.peek()?;
                    self.pos += 1;
                    match d {
                        '{' | '}' => format!("\\{d}"),
                        '|' => "‖".into(),
                        _ => return None,
                    }
                } else {
                    let name: String = self.chars[start..self.pos].iter().collect();
                    match name.as_str() {
                        "langle" | "rangle" | "lfloor" | "rfloor" | "lceil" | "rceil" => {
                            symbol(&name)?.to_owned()
                        }
                        "lbrace" => "\\{".into(),
                        "rbrace" => "\\}".into(),
                        "vert" => "\\|".into(),
                        "Vert" => "‖".into(),
                        _ => return None,
                    }
                }
            }
            _ => return None,
        })
    }

    /// Rows and cells of an environment body, up to `\end{name}`.
    fn env_body(&mut self, name: &str) -> Option<Vec<Vec<String>>> {
        let mut rows = vec![vec![]];
        loop {
            let cell = self.cell()?;
            rows.last_mut()?.push(cell);
            self.skip_spaces();
            if self.looking_at("&") {
                self.pos += 1;
            } else if self.looking_at("\\\\") {
                self.pos += 2;
                rows.push(vec![]);
            } else if self.looking_at("\\end") {
                self.pos += 4;
                let closing = self.raw_group()?;
                if closing != name {
                    return None;
                }
                break;
            } else {
                return None;
            }
        }
        // A trailing `\\` leaves an empty last row.
        if rows
            .last()
            .is_some_and(|r| r.len() == 1 && r[0].trim().is_empty())
            && rows.len() > 1
        {
            rows.pop();
        }
        Some(rows)
    }

    /// One cell: atoms up to `&`, `\\` or `\end`.
    fn cell(&mut self) -> Option<String> {
        self.depth += 1;
        if self.depth > 40 {
            return None;
        }
        let mut atoms: Vec<String> = Vec::new();
        loop {
            self.skip_spaces();
            self.peek()?;
            if self.looking_at("&") || self.looking_at("\\\\") || self.looking_at("\\end") {
                break;
            }
            // One atom at a time, scripts included, through a one-atom sequence.
            let c = self.peek()?;
            if c == '^' || c == '_' {
                let base = atoms.pop().unwrap_or_else(|| "zws".into());
                self.pos += 1;
                let first = self.script()?;
                self.skip_spaces();
                let other = if c == '_' { '^' } else { '_' };
                let mut out = format!("{base}{c}({first})");
                if self.peek() == Some(other) {
                    self.pos += 1;
                    let second = self.script()?;
                    out.push_str(&format!("{other}({second})"));
                }
                atoms.push(out);
                continue;
            }
            if c == '\'' {
                self.pos += 1;
                let base = atoms.pop().unwrap_or_else(|| "zws".into());
                atoms.push(format!("{base}'"));
                continue;
            }
            atoms.push(self.atom()?);
        }
        self.depth -= 1;
        Some(atoms.join(" "))
    }

    fn environment(&mut self) -> Option<String> {
        let name = self.raw_group()?;
        let delim = match name.as_str() {
            "cases" => {
                let rows = self.env_body(&name)?;
                let rows: Vec<String> = rows.into_iter().map(|r| r.join(" & ")).collect();
                return Some(format!("cases({})", rows.join(", ")));
            }
            "aligned" | "align" | "align*" | "gathered" | "array" | "split" => {
                if name == "array" {
                    // Column spec, ignored.
                    self.raw_group()?;
                }
                let rows = self.env_body(&name)?;
                let rows: Vec<String> = rows.into_iter().map(|r| r.join(" & ")).collect();
                return Some(rows.join(" \\ "));
            }
            "matrix" => "#none",
            "pmatrix" => "\"(\"",
            "bmatrix" => "\"[\"",
            "vmatrix" => "\"|\"",
            "Bmatrix" => "\"{\"",
            _ => return None,
        };
        let rows = self.env_body(&name)?;
        let rows: Vec<String> = rows
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .map(|c| if c.trim().is_empty() { "zws".into() } else { c })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .collect();
        Some(format!("mat(delim: {delim}, {})", rows.join("; ")))
    }

    fn command(&mut self) -> Option<String> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.pos += 1;
        }
        if self.pos == start {
            // A one-character command.
            let c = self.peek()?;
            self.pos += 1;
            return match c {
                '{' | '}' | '%' | '#' | '&' | '$' | '_' => Some(format!("\\{c}")),
                '|' => Some("‖".into()),
                ',' => Some("thin".into()),
                ':' | '>' => Some("med".into()),
                ';' => Some("thick".into()),
                ' ' => Some("space".into()),
                '!' => Some(String::new()),
                // A line break; never the last character, which would escape the closing `$`.
                '\\' => Some("\\ zws".into()),
                _ => None,
            };
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        let one = |p: &mut Parser, f: &str| -> Option<String> {
            let a = p.arg()?;
            Some(format!(
                "{f}({})",
                if a.is_empty() { "zws".into() } else { a }
            ))
        };
        match name.as_str() {
            "frac" | "dfrac" | "tfrac" | "cfrac" => {
                let num = self.arg()?;
                let den = self.arg()?;
                let f = format!("frac({}, {})", nonempty(num), nonempty(den));
                Some(match name.as_str() {
                    "dfrac" | "cfrac" => format!("display({f})"),
                    "tfrac" => format!("inline({f})"),
                    _ => f,
                })
            }
            "binom" | "dbinom" | "tbinom" => {
                let n = self.arg()?;
                let k = self.arg()?;
                Some(format!("binom({}, {})", nonempty(n), nonempty(k)))
            }
            "sqrt" => {
                self.skip_spaces();
                if self.peek() == Some('[') {
                    self.pos += 1;
                    let deg = self.seq(End::Bracket)?;
                    let body = self.arg()?;
                    Some(format!("root({}, {})", nonempty(deg), nonempty(body)))
                } else {
                    one(self, "sqrt")
                }
            }
            "overline" | "bar" => one(self, "overline"),
            "underline" => one(self, "underline"),
            "vec" | "overrightarrow" => one(self, "arrow"),
            "overleftarrow" => {
                let a = self.arg()?;
                Some(format!("accent({}, ←)", nonempty(a)))
            }
            "overleftrightarrow" => {
                let a = self.arg()?;
                Some(format!("accent({}, ↔)", nonempty(a)))
            }
            "hat" | "widehat" => one(self, "hat"),
            "tilde" | "widetilde" => one(self, "tilde"),
            "dot" => one(self, "dot"),
            "ddot" => one(self, "dot.double"),
            "overbrace" => one(self, "overbrace"),
            "underbrace" => one(self, "underbrace"),
            "boxed" => one(self, "#box(stroke: 0.5pt, inset: 3pt)"),
            "mathrm" | "rm" => one(self, "upright"),
            "mathbf" => {
                let a = self.arg()?;
                Some(format!("bold(upright({}))", nonempty(a)))
            }
            "boldsymbol" | "bm" => one(self, "bold"),
            "mathit" => one(self, "italic"),
            "mathcal" => one(self, "cal"),
            "mathbb" => {
                let a = self.arg()?;
                match a.chars().next().and_then(blackboard) {
                    Some(b) if a.chars().count() == 1 => Some(b.to_string()),
                    _ => Some(format!("bb({})", nonempty(a))),
                }
            }
            "text" | "textrm" | "mbox" | "textit" | "textbf" => {
                let t = self.raw_group()?;
                let lit = text_literal(&t);
                Some(match name.as_str() {
                    "textbf" => format!("bold(upright({lit}))"),
                    "textit" => format!("italic({lit})"),
                    _ => lit,
                })
            }
            "operatorname" => {
                let t = self.raw_group()?;
                if t.is_empty() || !t.chars().all(|c| c.is_alphanumeric() || c == ' ') {
                    return None;
                }
                Some(format!("op({})", text_literal(&t)))
            }
            "left" => {
                let open = self.delimiter()?;
                let body = self.seq(End::Right)?;
                // seq stopped at \right.
                self.pos += "\\right".len();
                let close = self.delimiter()?;
                Some(format!("lr({open} {body} {close})"))
            }
            "right" => None,
            "big" | "Big" | "bigg" | "Bigg" | "bigl" | "bigr" | "Bigl" | "Bigr" => self.delimiter(),
            "begin" => self.environment(),
            "quad" => Some("quad".into()),
            "qquad" => Some("wide".into()),
            "displaystyle" | "textstyle" | "limits" | "nolimits" => Some(String::new()),
            "lbrace" => Some("\\{".into()),
            "rbrace" => Some("\\}".into()),
            "vert" => Some("\\|".into()),
            "Vert" => Some("‖".into()),
            "percent" => Some("\\%".into()),
            n if OPERATORS.contains(&n) => Some(format!("op({})", text_literal(n))),
            n if LIMIT_OPERATORS.contains(&n) => {
                Some(format!("op({}, limits: #true)", text_literal(n)))
            }
            other => symbol(other).map(str::to_owned),
        }
    }
}

fn nonempty(s: String) -> String {
    if s.trim().is_empty() { "zws".into() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn school_constructs_convert() {
        let cases = [
            ("\\frac{3}{4}", "frac(3, 4)"),
            ("x^{2}", "x^(2)"),
            ("x^2", "x^(2)"),
            ("u_{n+1}", "u_(n + 1)"),
            ("x_{1}^{2}", "x_(1)^(2)"),
            ("\\sqrt{2}", "sqrt(2)"),
            ("\\sqrt[3]{x}", "root(3, x)"),
            ("\\Delta \\ge 0", "Δ ≥ 0"),
            ("2\\pi", "2 π"),
            ("a \\le b \\ne c", "a ≤ b ≠ c"),
            ("2 \\cdot 3 \\times 4 \\pm 1", "2 ⋅ 3 × 4 ± 1"),
            ("\\infty", "∞"),
            ("\\left( x \\right)", "lr(\\( x \\))"),
            ("f(x)=1", "f \\( x \\) = 1"),
            ("\\text{khi } x", "\"khi \" x"),
            ("x \\in \\mathbb{R}", "x ∈ ℝ"),
            ("\\overrightarrow{AB}", "arrow(A B)"),
            (
                "\\begin{cases} x+1 & x \\ge 0 \\\\ -x & x<0 \\end{cases}",
                "cases(x + 1 & x ≥ 0, - x & x < 0)",
            ),
            ("1,5", "\"1,5\""),
            ("x = 2,5 + 0.25", "x = \"2,5\" + 0.25"),
            ("a, b", "a \\, b"),
            ("a/b", "a \\/ b"),
            ("{(x+1)}^2", "class(\"normal\", \\( x + 1 \\))^(2)"),
            ("\\lim_{x \\to 0}", "op(\"lim\", limits: #true)_(x → 0)"),
            ("\\sin x", "op(\"sin\") x"),
        ];
        for (src, want) in cases {
            assert_eq!(latex_to_typst(src).as_deref(), Some(want), "{src}");
        }
    }

    #[test]
    fn broken_or_unknown_latex_falls_back_to_its_source() {
        for s in [
            "\\frac{1}",
            "\\unknowncommand",
            "x^",
            "{",
            "}",
            "a & b",
            "\\left( x",
            "\\begin{cases} a \\end{matrix}",
            "\\text{unclosed",
        ] {
            assert_eq!(latex_to_typst(s), None, "{s}");
        }
        // The fallback is the source, escaped for markup.
        assert_eq!(math("\\foo{x}"), "\\$\\\\foo\\{x\\}\\$");
    }

    /// The output with string literals removed and the converter's own code forms dropped.
    fn code_outside_strings(out: &str) -> String {
        let mut kept = String::new();
        let mut in_str = false;
        let mut escaped = false;
        for c in out.chars() {
            if in_str {
                match (escaped, c) {
                    (false, '\\') => escaped = true,
                    (false, '"') => in_str = false,
                    _ => escaped = false,
                }
            } else if c == '"' {
                in_str = true;
            } else {
                kept.push(c);
            }
        }
        kept.replace("#true", "")
            .replace("#none", "")
            .replace("#box(stroke: 0.5pt, inset: 3pt)", "")
    }

    #[test]
    fn no_latex_input_reaches_typst_code() {
        let mut converted = 0;
        for s in [
            "#sys.inputs",
            "\\text{\"); #read(\"/etc/passwd\")}",
            "\\text{a\\\\b}",
            "x\\# + \\$ y",
            "a\\\\",
            "\\operatorname{#x}",
            "\\text{\\#panic()} + 1",
            "\\mathbb{#x}",
        ] {
            if let Some(out) = latex_to_typst(s) {
                converted += 1;
                let code = code_outside_strings(&out);
                let mut prev = ' ';
                for c in code.chars() {
                    if c == '#' || c == '$' || c == '"' {
                        assert_eq!(prev, '\\', "{s} -> {out}");
                    }
                    prev = if prev == '\\' { ' ' } else { c };
                }
                assert!(!out.trim_end().ends_with('\\'), "{s} -> {out}");
            }
        }
        assert!(
            converted >= 4,
            "the hostile strings that are valid LaTeX convert"
        );
        // Deep nesting is refused, not a stack overflow.
        let deep = "{".repeat(10_000) + &"}".repeat(10_000);
        assert_eq!(latex_to_typst(&deep), None);
    }
}
