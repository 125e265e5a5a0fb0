//! Word equations (OMML, `m:oMath`) to LaTeX, for the constructs teachers actually use.
//!
//! Unknown elements fall back to their children's LaTeX, so an exotic construct loses its
//! layout but never its symbols.

use crate::xml::{Element, Node};

/// Converts an `m:oMath` (or `m:oMathPara`) element to LaTeX without the dollar signs.
pub(crate) fn to_latex(e: &Element) -> String {
    let s = children(e);
    tidy(&s)
}

fn tidy(s: &str) -> String {
    // Collapse runs of spaces left by symbol commands; keep one so "\alpha x" stays apart.
    let mut out = String::with_capacity(s.len());
    let mut last_space = false;
    for c in s.chars() {
        if c == ' ' {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(c);
            last_space = false;
        }
    }
    out.trim().to_owned()
}

fn children(e: &Element) -> String {
    e.elements().map(convert).collect()
}

fn part(e: &Element, name: &str) -> String {
    e.child(name)
        .map(|c| tidy(&children(c)))
        .unwrap_or_default()
}

/// The `m:val` of a property child, e.g. `m:dPr/m:begChr`.
fn prop<'a>(e: &'a Element, pr: &str, name: &str) -> Option<&'a str> {
    e.child(pr)?.child(name)?.attr("m:val")
}

fn braced(s: &str) -> String {
    if s.chars().count() == 1 {
        s.to_owned()
    } else {
        format!("{{{s}}}")
    }
}

fn convert(e: &Element) -> String {
    match e.name.as_str() {
        // Properties carry no content.
        n if n.ends_with("Pr") => String::new(),
        "m:r" => e
            .children_named("m:t")
            .map(|t| run_text(&t.text()))
            .collect(),
        "m:f" => {
            let (num, den) = (part(e, "m:num"), part(e, "m:den"));
            match prop(e, "m:fPr", "m:type") {
                Some("lin") => format!("{num}/{den}"),
                Some("noBar") => format!("\\genfrac{{}}{{}}{{0pt}}{{}}{{{num}}}{{{den}}}"),
                _ => format!("\\frac{{{num}}}{{{den}}}"),
            }
        }
        "m:sSup" => format!("{}^{{{}}}", braced(&part(e, "m:e")), part(e, "m:sup")),
        "m:sSub" => format!("{}_{{{}}}", braced(&part(e, "m:e")), part(e, "m:sub")),
        "m:sSubSup" => format!(
            "{}_{{{}}}^{{{}}}",
            braced(&part(e, "m:e")),
            part(e, "m:sub"),
            part(e, "m:sup")
        ),
        "m:sPre" => format!(
            "{{}}_{{{}}}^{{{}}}{}",
            part(e, "m:sub"),
            part(e, "m:sup"),
            part(e, "m:e")
        ),
        "m:rad" => {
            let deg = part(e, "m:deg");
            let hidden = prop(e, "m:radPr", "m:degHide")
                .is_some_and(|v| v == "1" || v == "on" || v == "true");
            if deg.is_empty() || hidden {
                format!("\\sqrt{{{}}}", part(e, "m:e"))
            } else {
                format!("\\sqrt[{deg}]{{{}}}", part(e, "m:e"))
            }
        }
        "m:d" => {
            let beg = prop(e, "m:dPr", "m:begChr").unwrap_or("(");
            let end = prop(e, "m:dPr", "m:endChr").unwrap_or(")");
            let sep = prop(e, "m:dPr", "m:sepChr").unwrap_or("|");
            let inner: Vec<String> = e
                .children_named("m:e")
                .map(|c| tidy(&children(c)))
                .collect();
            let sep = format!(" {} ", delimiter(sep).trim_start_matches('.'));
            format!(
                "\\left{} {} \\right{}",
                delimiter(beg),
                inner.join(&sep),
                delimiter(end)
            )
        }
        "m:nary" => {
            let chr = prop(e, "m:naryPr", "m:chr").unwrap_or("∫");
            let op = match chr {
                "∑" => "\\sum",
                "∏" => "\\prod",
                "∐" => "\\coprod",
                "∫" => "\\int",
                "∬" => "\\iint",
                "∭" => "\\iiint",
                "∮" => "\\oint",
                "⋃" => "\\bigcup",
                "⋂" => "\\bigcap",
                "⋁" => "\\bigvee",
                "⋀" => "\\bigwedge",
                _ => "\\int",
            };
            let (sub, sup) = (part(e, "m:sub"), part(e, "m:sup"));
            let mut s = op.to_owned();
            if !sub.is_empty() {
                s.push_str(&format!("_{{{sub}}}"));
            }
            if !sup.is_empty() {
                s.push_str(&format!("^{{{sup}}}"));
            }
            format!("{s} {}", part(e, "m:e"))
        }
        "m:func" => {
            let name = part(e, "m:fName");
            let name = match name.as_str() {
                "sin" | "cos" | "tan" | "cot" | "log" | "ln" | "lg" | "exp" | "lim" | "max"
                | "min" | "sup" | "inf" | "sinh" | "cosh" | "tanh" | "arcsin" | "arccos"
                | "arctan" | "det" | "gcd" => format!("\\{name}"),
                // Vietnamese textbooks write tg and cotg.
                "tg" | "cotg" => format!("\\operatorname{{{name}}}"),
                _ => name,
            };
            format!("{name} {}", part(e, "m:e"))
        }
        "m:limLow" => {
            let base = part(e, "m:e");
            let base = if base == "lim" {
                "\\lim".to_owned()
            } else {
                braced(&base)
            };
            format!("{base}_{{{}}}", part(e, "m:lim"))
        }
        "m:limUpp" => format!("{}^{{{}}}", braced(&part(e, "m:e")), part(e, "m:lim")),
        "m:acc" => {
            let chr = prop(e, "m:accPr", "m:chr").unwrap_or("\u{0302}");
            let body = part(e, "m:e");
            let cmd = match chr {
                "\u{0302}" | "^" => "\\hat",
                "\u{0303}" | "~" => "\\tilde",
                "\u{0304}" | "\u{0305}" | "¯" => "\\bar",
                "\u{0307}" => "\\dot",
                "\u{0308}" => "\\ddot",
                "\u{20D6}" | "\u{2190}" => "\\overleftarrow",
                "\u{20E1}" | "\u{2194}" => "\\overleftrightarrow",
                // A vector over two letters (AB) reads better as a long arrow.
                "\u{20D7}" | "\u{2192}" if body.chars().count() > 1 => "\\overrightarrow",
                "\u{20D7}" | "\u{2192}" => "\\vec",
                _ => "\\hat",
            };
            format!("{cmd}{{{body}}}")
        }
        "m:bar" => {
            let body = part(e, "m:e");
            if prop(e, "m:barPr", "m:pos") == Some("bot") {
                format!("\\underline{{{body}}}")
            } else {
                format!("\\overline{{{body}}}")
            }
        }
        "m:groupChr" => {
            let body = part(e, "m:e");
            match prop(e, "m:groupChrPr", "m:pos") {
                Some("top") => format!("\\overbrace{{{body}}}"),
                _ => format!("\\underbrace{{{body}}}"),
            }
        }
        "m:m" => {
            let rows: Vec<String> = e
                .children_named("m:mr")
                .map(|r| {
                    r.children_named("m:e")
                        .map(|c| tidy(&children(c)))
                        .collect::<Vec<_>>()
                        .join(" & ")
                })
                .collect();
            format!("\\begin{{matrix}} {} \\end{{matrix}}", rows.join(" \\\\ "))
        }
        "m:eqArr" => {
            let rows: Vec<String> = e
                .children_named("m:e")
                .map(|c| tidy(&children(c)))
                .collect();
            format!(
                "\\begin{{array}}{{l}} {} \\end{{array}}",
                rows.join(" \\\\ ")
            )
        }
        "m:oMath" => children(e),
        "m:oMathPara" => e
            .children_named("m:oMath")
            .map(to_latex)
            .collect::<Vec<_>>()
            .join(" \\\\ "),
        // w:r inside math (rare) and every container (m:e, m:num, m:box…) just give their text.
        "w:r" => e
            .children_named("w:t")
            .map(|t| run_text(&t.text()))
            .collect(),
        _ => e
            .children
            .iter()
            .map(|n| match n {
                Node::Element(c) => convert(c),
                Node::Text(_) => String::new(),
            })
            .collect(),
    }
}

fn delimiter(c: &str) -> &str {
    match c {
        "" => ".",
        "{" => "\\{",
        "}" => "\\}",
        "‖" => "\\|",
        "⌊" => "\\lfloor",
        "⌋" => "\\rfloor",
        "⌈" => "\\lceil",
        "⌉" => "\\rceil",
        "⟨" | "〈" => "\\langle",
        "⟩" | "〉" => "\\rangle",
        _ => c,
    }
}

/// Maps the characters of a math run to LaTeX (Greek, operators), escaping LaTeX specials.
pub(crate) fn run_text(t: &str) -> String {
    let mut out = String::new();
    for c in t.chars() {
        let mapped = match c {
            'α' => "\\alpha ",
            'β' => "\\beta ",
            'γ' => "\\gamma ",
            'δ' => "\\delta ",
            'ε' => "\\varepsilon ",
            'ζ' => "\\zeta ",
            'η' => "\\eta ",
            'θ' => "\\theta ",
            'λ' => "\\lambda ",
            'μ' => "\\mu ",
            'ν' => "\\nu ",
            'ξ' => "\\xi ",
            'π' => "\\pi ",
            'ρ' => "\\rho ",
            'σ' => "\\sigma ",
            'τ' => "\\tau ",
            'φ' | 'ϕ' => "\\varphi ",
            'χ' => "\\chi ",
            'ψ' => "\\psi ",
            'ω' => "\\omega ",
            'Γ' => "\\Gamma ",
            'Δ' => "\\Delta ",
            'Θ' => "\\Theta ",
            'Λ' => "\\Lambda ",
            'Π' => "\\Pi ",
            'Σ' => "\\Sigma ",
            'Φ' => "\\Phi ",
            'Ψ' => "\\Psi ",
            'Ω' => "\\Omega ",
            '≤' | '⩽' => "\\le ",
            '≥' | '⩾' => "\\ge ",
            '≠' => "\\ne ",
            '≈' => "\\approx ",
            '≡' => "\\equiv ",
            '±' => "\\pm ",
            '∓' => "\\mp ",
            '×' => "\\times ",
            '÷' => "\\div ",
            '⋅' | '·' => "\\cdot ",
            '∞' => "\\infty ",
            '→' => "\\to ",
            '⇒' => "\\Rightarrow ",
            '⇔' => "\\Leftrightarrow ",
            '∈' => "\\in ",
            '∉' => "\\notin ",
            '⊂' => "\\subset ",
            '⊆' => "\\subseteq ",
            '∪' => "\\cup ",
            '∩' => "\\cap ",
            '∅' => "\\varnothing ",
            '∀' => "\\forall ",
            '∃' => "\\exists ",
            '∠' => "\\angle ",
            '⊥' => "\\perp ",
            '∥' => "\\parallel ",
            '°' => "^{\\circ}",
            '△' | '∆' => "\\triangle ",
            'ℝ' => "\\mathbb{R}",
            'ℕ' => "\\mathbb{N}",
            'ℤ' => "\\mathbb{Z}",
            'ℚ' => "\\mathbb{Q}",
            '−' => "-",
            '∗' => "*",
            '′' => "'",
            '%' => "\\%",
            '#' => "\\#",
            '&' => "\\&",
            '$' => "\\$",
            '{' => "\\{",
            '}' => "\\}",
            '\u{00A0}' => " ",
            _ => {
                out.push(c);
                continue;
            }
        };
        out.push_str(mapped);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::parse;

    fn latex(inner: &str) -> String {
        let xml = format!(
            r#"<m:oMath xmlns:m="http://schemas.openxmlformats.org/officeDocument/2006/math">{inner}</m:oMath>"#
        );
        to_latex(&parse(&xml).unwrap())
    }

    fn r(t: &str) -> String {
        format!("<m:r><w:rPr><w:rFonts w:ascii=\"Cambria Math\"/></w:rPr><m:t>{t}</m:t></m:r>")
    }

    #[test]
    fn fractions_powers_and_roots() {
        assert_eq!(
            latex(&format!(
                "<m:f><m:fPr><m:ctrlPr/></m:fPr><m:num>{}</m:num><m:den>{}</m:den></m:f>",
                r("1"),
                r("2")
            )),
            "\\frac{1}{2}"
        );
        assert_eq!(
            latex(&format!(
                "<m:sSup><m:e>{}</m:e><m:sup>{}</m:sup></m:sSup>",
                r("x"),
                r("2")
            )),
            "x^{2}"
        );
        assert_eq!(
            latex(&format!(
                "<m:sSub><m:e>{}</m:e><m:sub>{}</m:sub></m:sSub>",
                r("u"),
                r("n+1")
            )),
            "u_{n+1}"
        );
        assert_eq!(
            latex(&format!(
                "<m:sSubSup><m:e>{}</m:e><m:sub>{}</m:sub><m:sup>{}</m:sup></m:sSubSup>",
                r("x"),
                r("1"),
                r("2")
            )),
            "x_{1}^{2}"
        );
        assert_eq!(
            latex(&format!(
                "<m:rad><m:radPr><m:degHide m:val=\"1\"/></m:radPr><m:deg/><m:e>{}</m:e></m:rad>",
                r("2")
            )),
            "\\sqrt{2}"
        );
        assert_eq!(
            latex(&format!(
                "<m:rad><m:deg>{}</m:deg><m:e>{}</m:e></m:rad>",
                r("3"),
                r("x")
            )),
            "\\sqrt[3]{x}"
        );
    }

    #[test]
    fn delimiters_sums_functions_and_accents() {
        assert_eq!(
            latex(&format!("<m:d><m:e>{}</m:e></m:d>", r("x+1"))),
            "\\left( x+1 \\right)"
        );
        assert_eq!(
            latex(&format!(
                "<m:d><m:dPr><m:begChr m:val=\"[\"/><m:endChr m:val=\"]\"/></m:dPr><m:e>{}</m:e><m:e>{}</m:e></m:d>",
                r("a"),
                r("b")
            )),
            "\\left[ a | b \\right]"
        );
        assert_eq!(
            latex(&format!(
                "<m:nary><m:naryPr><m:chr m:val=\"∑\"/></m:naryPr><m:sub>{}</m:sub><m:sup>{}</m:sup><m:e>{}</m:e></m:nary>",
                r("k=1"),
                r("n"),
                r("k")
            )),
            "\\sum_{k=1}^{n} k"
        );
        assert_eq!(
            latex(&format!(
                "<m:nary><m:sub>{}</m:sub><m:sup>{}</m:sup><m:e>{}</m:e></m:nary>",
                r("0"),
                r("1"),
                r("f(x)dx")
            )),
            "\\int_{0}^{1} f(x)dx"
        );
        assert_eq!(
            latex(&format!(
                "<m:func><m:fName>{}</m:fName><m:e>{}</m:e></m:func>",
                r("sin"),
                r("α")
            )),
            "\\sin \\alpha"
        );
        assert_eq!(
            latex(&format!(
                "<m:acc><m:accPr><m:chr m:val=\"⃗\"/></m:accPr><m:e>{}</m:e></m:acc>",
                r("AB")
            )),
            "\\overrightarrow{AB}"
        );
        assert_eq!(
            latex(&format!(
                "<m:bar><m:barPr><m:pos m:val=\"top\"/></m:barPr><m:e>{}</m:e></m:bar>",
                r("z")
            )),
            "\\overline{z}"
        );
        assert_eq!(
            latex(&format!(
                "<m:func><m:fName><m:limLow><m:e>{}</m:e><m:lim>{}</m:lim></m:limLow></m:fName><m:e>{}</m:e></m:func>",
                r("lim"),
                r("x→0"),
                r("f(x)")
            )),
            "\\lim_{x\\to 0} f(x)"
        );
    }

    #[test]
    fn symbols_and_matrices() {
        assert_eq!(
            latex(&r("Δ≥0, x∈ℝ, 30°")),
            "\\Delta \\ge 0, x\\in \\mathbb{R}, 30^{\\circ}"
        );
        assert_eq!(
            latex(&format!(
                "<m:m><m:mr><m:e>{}</m:e><m:e>{}</m:e></m:mr><m:mr><m:e>{}</m:e><m:e>{}</m:e></m:mr></m:m>",
                r("1"),
                r("2"),
                r("3"),
                r("4")
            )),
            "\\begin{matrix} 1 & 2 \\\\ 3 & 4 \\end{matrix}"
        );
        // A system of equations as Word builds it: a brace delimiter around an equation array.
        assert_eq!(
            latex(&format!(
                "<m:d><m:dPr><m:begChr m:val=\"{{\"/><m:endChr m:val=\"\"/></m:dPr><m:e><m:eqArr><m:e>{}</m:e><m:e>{}</m:e></m:eqArr></m:e></m:d>",
                r("x+y=3"),
                r("x-y=1")
            )),
            "\\left\\{ \\begin{array}{l} x+y=3 \\\\ x-y=1 \\end{array} \\right."
        );
    }
}
