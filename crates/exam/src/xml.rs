//! A small element tree over quick-xml, shared by the Word and Moodle readers.
//!
//! Office and Moodle files are small once size-capped, and a tree makes recursive structures
//! (OMML equations, nested tables) far simpler to read than a streaming state machine.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::{Reader, XmlVersion};

use crate::Error;

/// Nesting deeper than this is refused: real documents stay far below, and it bounds recursion.
pub(crate) const MAX_DEPTH: usize = 200;

/// An element with its qualified name as written (`w:p`, `m:f`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
}

/// A child of an element.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Element(Element),
    Text(String),
}

impl Element {
    /// The value of an attribute by qualified name.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Child elements.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// The first child element with this name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.name == name)
    }

    /// Child elements with this name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.elements().filter(move |e| e.name == name)
    }

    /// The first descendant (depth-first) with this name.
    pub fn find(&self, name: &str) -> Option<&Element> {
        for e in self.elements() {
            if e.name == name {
                return Some(e);
            }
            if let Some(found) = e.find(name) {
                return Some(found);
            }
        }
        None
    }

    /// All text below this element, concatenated.
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.collect_text(&mut out);
        out
    }

    fn collect_text(&self, out: &mut String) {
        for n in &self.children {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Element(e) => e.collect_text(out),
            }
        }
    }
}

fn bad(msg: impl std::fmt::Display) -> Error {
    Error::BadFile(format!("XML lỗi: {msg}"))
}

/// Parses a document into its root element. Malformed XML is an error, never a panic.
pub(crate) fn parse(xml: &str) -> Result<Element, Error> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Element> = vec![Element::default()];
    loop {
        let event = reader.read_event().map_err(bad)?;
        match event {
            Event::Start(e) => {
                if stack.len() > MAX_DEPTH {
                    return Err(bad("lồng quá sâu"));
                }
                stack.push(element(&e)?);
            }
            Event::Empty(e) => {
                let el = element(&e)?;
                push(&mut stack, Node::Element(el));
            }
            Event::End(_) => {
                if stack.len() < 2 {
                    return Err(bad("thẻ đóng thừa"));
                }
                let done = stack.pop().unwrap_or_default();
                push(&mut stack, Node::Element(done));
            }
            Event::Text(t) => push_text(&mut stack, &t.xml10_content()),
            Event::CData(t) => push_text(&mut stack, &t.into_inner()),
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref().map_err(bad)?.map(String::from)
                } else {
                    resolve_predefined_entity(&r).map(str::to_owned)
                };
                // Unknown entities are not expanded (no DTD processing, so no entity bombs).
                push_text(&mut stack, &resolved.unwrap_or_default());
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if stack.len() != 1 {
        return Err(bad("tài liệu kết thúc khi còn thẻ chưa đóng"));
    }
    let root = stack.pop().unwrap_or_default();
    // Take the root element by value: cloning would double the memory of a large document.
    root.children
        .into_iter()
        .find_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
        .ok_or_else(|| bad("tài liệu rỗng"))
}

fn element(e: &quick_xml::events::BytesStart<'_>) -> Result<Element, Error> {
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(bad)?;
        let v = a.normalized_value(XmlVersion::Implicit1_0).map_err(bad)?;
        attrs.push((a.key.as_ref().to_owned(), v.into_owned()));
    }
    Ok(Element {
        name: e.name().as_ref().to_owned(),
        attrs,
        children: Vec::new(),
    })
}

fn push(stack: &mut [Element], node: Node) {
    if let Some(top) = stack.last_mut() {
        top.children.push(node);
    }
}

fn push_text(stack: &mut [Element], t: &str) {
    if let Some(top) = stack.last_mut() {
        if let Some(Node::Text(prev)) = top.children.last_mut() {
            prev.push_str(t);
        } else {
            top.children.push(Node::Text(t.to_owned()));
        }
    }
}

/// Escapes text for XML content and attributes.
pub(crate) fn esc(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entities_and_structure() {
        let root = parse(r#"<?xml version="1.0"?><w:p a="x &amp; y"><w:t>Tom &amp; Jerry &#7845;</w:t><w:br/></w:p>"#).unwrap();
        assert_eq!(root.name, "w:p");
        assert_eq!(root.attr("a"), Some("x & y"));
        assert_eq!(root.child("w:t").unwrap().text(), "Tom & Jerry ấ");
        assert!(root.child("w:br").is_some());
    }

    #[test]
    fn malformed_xml_is_an_error() {
        for bad in ["<a><b></a>", "<a>", "", "<a></a></b>", "<a x='1></a>"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let deep = "<a>".repeat(500) + &"</a>".repeat(500);
        assert!(parse(&deep).is_err());
    }
}
