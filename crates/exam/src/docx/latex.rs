//! LaTeX to Word equations (OMML), for the common school constructs, so exported and printed
//! papers show real equations. Anything not understood returns `None` and the caller writes the
//! LaTeX source as text instead: a readable fallback beats a wrong equation.

use crate::xml::esc;

/// Converts LaTeX (without dollars) to the inside of an `m:oMath`.
pub(crate) fn to_omml(src: &str) -> Option<String> {
    let chars: Vec<char> = src.chars().collect();
    let mut p = Parser {
        chars,
        pos: 0,
        depth: 0,
    };
    let atoms = p.seq(None)?;
    (p.pos == p.chars.len()).then(|| render(&atoms))
}

enum Atom {
    Text(String),
    Xml(String),
}

fn render(atoms: &[Atom]) -> String {
    let mut out = String::new();
    let mut text = String::new();
    let flush = |text: &mut String, out: &mut String| {
        if !text.is_empty() {
            out.push_str(&format!(
                "<m:r><m:t xml:space=\"preserve\">{}</m:t></m:r>",
                esc(text)
            ));
            text.clear();
        }
    };
    for a in atoms {
        match a {
            Atom::Text(t) => text.push_str(t),
            Atom::Xml(x) => {
                flush(&mut text, &mut out);
                out.push_str(x);
            }
        }
    }
    flush(&mut text, &mut out);
    out
}

fn symbol(name: &str) -> Option<&'static str> {
    Some(match name {
        "alpha" => "α",
        "beta" => "β",
        "gamma" => "γ",
        "delta" => "δ",
        "varepsilon" | "epsilon" => "ε",
        "theta" => "θ",
        "lambda" => "λ",
        "mu" => "μ",
        "pi" => "π",
        "rho" => "ρ",
        "sigma" => "σ",
        "tau" => "τ",
        "varphi" | "phi" => "φ",
        "omega" => "ω",
        "Delta" => "Δ",
        "Omega" => "Ω",
        "Sigma" => "Σ",
        "Pi" => "Π",
        "le" | "leq" => "≤",
        "ge" | "geq" => "≥",
        "ne" | "neq" => "≠",
        "approx" => "≈",
        "pm" => "±",
        "times" => "×",
        "div" => "÷",
        "cdot" => "⋅",
        "infty" => "∞",
        "to" | "rightarrow" => "→",
        "Rightarrow" => "⇒",
        "Leftrightarrow" => "⇔",
        "in" => "∈",
        "notin" => "∉",
        "subset" => "⊂",
        "cup" => "∪",
        "cap" => "∩",
        "varnothing" | "emptyset" => "∅",
        "forall" => "∀",
        "exists" => "∃",
        "angle" => "∠",
        "perp" => "⊥",
        "parallel" => "∥",
        "triangle" => "△",
        "circ" => "°",
        _ => return None,
    })
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
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

    /// Atoms until `close` (or the end when `None`).
    fn seq(&mut self, close: Option<char>) -> Option<Vec<Atom>> {
        self.depth += 1;
        if self.depth > 50 {
            return None;
        }
        let mut atoms: Vec<Atom> = Vec::new();
        loop {
            self.skip_spaces();
            let Some(c) = self.peek() else {
                if close.is_some() {
                    return None;
                }
                break;
            };
            if Some(c) == close {
                self.pos += 1;
                break;
            }
            if c == '^' || c == '_' {
                self.pos += 1;
                let base = atoms.pop().map(|a| render(&[a])).unwrap_or_default();
                let first = render(&self.script()?);
                self.skip_spaces();
                let other = if c == '_' { '^' } else { '_' };
                let xml = if self.peek() == Some(other) {
                    self.pos += 1;
                    let second = render(&self.script()?);
                    let (sub, sup) = if c == '_' {
                        (first, second)
                    } else {
                        (second, first)
                    };
                    format!(
                        "<m:sSubSup><m:e>{base}</m:e><m:sub>{sub}</m:sub><m:sup>{sup}</m:sup></m:sSubSup>"
                    )
                } else if c == '^' {
                    format!("<m:sSup><m:e>{base}</m:e><m:sup>{first}</m:sup></m:sSup>")
                } else {
                    format!("<m:sSub><m:e>{base}</m:e><m:sub>{first}</m:sub></m:sSub>")
                };
                atoms.push(Atom::Xml(xml));
                continue;
            }
            atoms.push(self.atom()?);
        }
        self.depth -= 1;
        Some(atoms)
    }

    /// The argument of `^` or `_`: a group or one atom.
    fn script(&mut self) -> Option<Vec<Atom>> {
        self.skip_spaces();
        if self.peek() == Some('{') {
            self.pos += 1;
            self.seq(Some('}'))
        } else {
            Some(vec![self.atom()?])
        }
    }

    fn group(&mut self) -> Option<String> {
        self.skip_spaces();
        if self.peek() != Some('{') {
            return Some(render(&[self.atom()?]));
        }
        self.pos += 1;
        Some(render(&self.seq(Some('}'))?))
    }

    fn atom(&mut self) -> Option<Atom> {
        let c = self.peek()?;
        self.pos += 1;
        match c {
            '{' => Some(Atom::Xml(render(&self.seq(Some('}'))?))),
            '}' | '^' | '_' | '&' | '#' | '$' => None,
            '\\' => self.command(),
            other => Some(Atom::Text(other.to_string())),
        }
    }

    fn command(&mut self) -> Option<Atom> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.pos += 1;
        }
        if self.pos == start {
            // A one-character command: \{ \} \% \, \; \! and "\ ".
            let c = self.peek()?;
            self.pos += 1;
            return match c {
                '{' | '}' | '%' | '#' | '&' | '$' | '|' => Some(Atom::Text(c.to_string())),
                ',' | ';' | ' ' | '!' | ':' => Some(Atom::Text(String::new())),
                _ => None,
            };
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        match name.as_str() {
            "frac" | "dfrac" | "tfrac" => {
                let num = self.group()?;
                let den = self.group()?;
                Some(Atom::Xml(format!(
                    "<m:f><m:num>{num}</m:num><m:den>{den}</m:den></m:f>"
                )))
            }
            "sqrt" => {
                self.skip_spaces();
                let deg = if self.peek() == Some('[') {
                    self.pos += 1;
                    Some(render(&self.seq(Some(']'))?))
                } else {
                    None
                };
                let body = self.group()?;
                Some(Atom::Xml(match deg {
                    Some(d) => format!("<m:rad><m:deg>{d}</m:deg><m:e>{body}</m:e></m:rad>"),
                    None => format!(
                        "<m:rad><m:radPr><m:degHide m:val=\"1\"/></m:radPr><m:deg/><m:e>{body}</m:e></m:rad>"
                    ),
                }))
            }
            "overline" | "bar" => {
                let body = self.group()?;
                Some(Atom::Xml(format!(
                    "<m:bar><m:barPr><m:pos m:val=\"top\"/></m:barPr><m:e>{body}</m:e></m:bar>"
                )))
            }
            "vec" | "overrightarrow" | "hat" => {
                let chr = if name == "hat" {
                    "\u{0302}"
                } else {
                    "\u{20D7}"
                };
                let body = self.group()?;
                Some(Atom::Xml(format!(
                    "<m:acc><m:accPr><m:chr m:val=\"{chr}\"/></m:accPr><m:e>{body}</m:e></m:acc>"
                )))
            }
            "left" | "right" => {
                self.skip_spaces();
                let c = self.peek()?;
                self.pos += 1;
                match c {
                    '.' => Some(Atom::Text(String::new())),
                    '\\' => {
                        let d = self.peek()?;
                        self.pos += 1;
                        matches!(d, '{' | '}' | '|').then(|| Atom::Text(d.to_string()))
                    }
                    '(' | ')' | '[' | ']' | '|' => Some(Atom::Text(c.to_string())),
                    _ => None,
                }
            }
            "mathbb" => {
                let g = self.group()?;
                let letter = match g.as_str() {
                    x if x.contains(">R<") => "ℝ",
                    x if x.contains(">N<") => "ℕ",
                    x if x.contains(">Z<") => "ℤ",
                    x if x.contains(">Q<") => "ℚ",
                    _ => return None,
                };
                Some(Atom::Text(letter.into()))
            }
            "sin" | "cos" | "tan" | "cot" | "log" | "ln" | "lim" | "exp" | "max" | "min" => {
                Some(Atom::Text(name))
            }
            other => symbol(other).map(|s| Atom::Text(s.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docx::omml;
    use crate::xml::parse;

    /// LaTeX → OMML → LaTeX through the importer's converter.
    fn back(src: &str) -> String {
        let xml = format!(
            r#"<m:oMath xmlns:m="m">{}</m:oMath>"#,
            to_omml(src).unwrap()
        );
        omml::to_latex(&parse(&xml).unwrap())
    }

    #[test]
    fn common_constructs_survive_the_round_trip() {
        for s in [
            "\\frac{3}{4}",
            "x^{2}",
            "u_{n+1}",
            "x_{1}^{2}",
            "\\sqrt{2}",
            "\\sqrt[3]{x}",
            "f(-2)=4",
            "1+1=",
            "\\overline{z}",
            "\\overrightarrow{AB}",
            "\\Delta \\ge 0",
            "2\\pi",
        ] {
            assert_eq!(back(s), s);
        }
        assert_eq!(back("x^2"), "x^{2}");
        assert_eq!(back("\\frac12"), "\\frac{1}{2}");
        assert_eq!(back("x \\in \\mathbb{R}"), "x\\in \\mathbb{R}");
    }

    #[test]
    fn unknown_or_broken_latex_falls_back() {
        for s in ["\\frac{1}", "\\unknowncommand", "x^", "{", "}", "a & b"] {
            assert_eq!(to_omml(s), None, "{s}");
        }
    }
}
