//! YAML text → a small tree of nodes that remember where they came from.
//!
//! Built from `saphyr-parser`'s event stream (pulled one event at a time, so a problem
//! stops the parse at once) rather than from saphyr's own loader, because the loader
//! reports only one line for a duplicate key and has no depth limit. Here:
//! - duplicate keys in one mapping are an error naming both positions;
//! - nesting deeper than [`MAX_DEPTH`] is refused (no deep recursion later);
//! - alias expansion is capped at [`ALIAS_NODE_BUDGET`] nodes ("billion laughs");
//! - scalars resolve by the YAML 1.2 core schema (`yes` is text, `0001` is 1).
//!
//! Positions are 1-based lines and 1-based columns counted in characters.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr::{Scalar, ScalarStyle, Tag};
use saphyr_parser::{Event, Marker, Parser, Span};

/// The deepest nesting of mappings and sequences accepted.
pub const MAX_DEPTH: usize = 64;
/// The most nodes that alias expansion may produce in one file.
pub const ALIAS_NODE_BUDGET: usize = 100_000;

/// A position in the text: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
    /// Character offset from the start of the text.
    pub index: usize,
}

impl From<Marker> for Pos {
    fn from(m: Marker) -> Self {
        Pos {
            line: m.line(),
            column: m.col() + 1,
            index: m.index(),
        }
    }
}

/// A YAML node and the span of text it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub start: Pos,
    pub end: Pos,
    pub value: Value,
}

/// The resolved value of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// One `key: value` pair of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_pos: Pos,
    pub value: Node,
}

/// A problem that stopped the parse.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    pub pos: Pos,
    pub message: String,
    pub hint: Option<String>,
}

/// The documents read before the parse ended, and the error that ended it early, if any.
#[derive(Debug, Default)]
pub struct Parsed {
    pub documents: Vec<Node>,
    pub error: Option<YamlError>,
}

/// Parse every document in `text`. Never panics; stops at the first problem.
pub fn parse(text: &str) -> Parsed {
    let mut parser = Parser::new_from_str(text);
    let mut builder = Builder::default();
    let mut out = Parsed::default();
    while let Some(next) = parser.next_event() {
        match next {
            Ok((event, span)) => {
                if let Err(e) = builder.on_event(event, span, &mut out.documents) {
                    out.error = Some(e);
                    break;
                }
            }
            Err(e) => {
                out.error = Some(scan_error(text, e.marker(), e.info()));
                break;
            }
        }
    }
    out
}

fn scan_error(text: &str, marker: &Marker, info: &str) -> YamlError {
    let pos = Pos::from(*marker);
    let line = text.lines().nth(pos.line.saturating_sub(1)).unwrap_or("");
    let indent_has_tab = line
        .chars()
        .take_while(|c| c.is_whitespace())
        .any(|c| c == '\t');
    let hint = if info.contains("tab") || indent_has_tab {
        Some("YAML indentation must use spaces, not tabs".to_string())
    } else {
        None
    };
    YamlError {
        pos,
        message: format!("YAML syntax error: {info}"),
        hint,
    }
}

enum Frame {
    Seq {
        start: Pos,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        start: Pos,
        anchor: usize,
        entries: Vec<Entry>,
        key: Option<(String, Pos)>,
        /// The keys so far, for the duplicate check once the mapping is large
        /// ([`SMALL_MAP`] entries or more); a small one is searched directly.
        seen: Option<HashMap<String, Pos>>,
    },
}

/// Up to this many entries a mapping's duplicate-key check scans its entries (cheaper
/// than hashing every key of every document); beyond, it keeps a hash map.
const SMALL_MAP: usize = 16;

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    alias_budget_used: usize,
}

impl Builder {
    fn on_event(
        &mut self,
        event: Event<'_>,
        span: Span,
        docs: &mut Vec<Node>,
    ) -> Result<(), YamlError> {
        let start = Pos::from(span.start);
        match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd => {}
            Event::DocumentStart(_) => {
                self.anchors.clear();
                self.root = None;
            }
            Event::DocumentEnd => {
                let root = self.root.take().unwrap_or(Node {
                    start,
                    end: start,
                    value: Value::Null,
                });
                docs.push(root);
            }
            Event::SequenceStart(anchor, _) => {
                self.check_depth(start)?;
                self.stack.push(Frame::Seq {
                    start,
                    anchor,
                    items: Vec::new(),
                });
            }
            Event::MappingStart(anchor, _) => {
                self.check_depth(start)?;
                self.stack.push(Frame::Map {
                    start,
                    anchor,
                    entries: Vec::new(),
                    key: None,
                    seen: None,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq {
                        start,
                        anchor,
                        items,
                    }) => (
                        Node {
                            start,
                            end: Pos::from(span.end),
                            value: Value::Seq(items),
                        },
                        anchor,
                    ),
                    Some(Frame::Map {
                        start,
                        anchor,
                        entries,
                        ..
                    }) => (
                        Node {
                            start,
                            end: Pos::from(span.end),
                            value: Value::Map(entries),
                        },
                        anchor,
                    ),
                    None => return Ok(()),
                };
                self.complete(node, anchor)?;
            }
            Event::Scalar(text, style, anchor, tag) => {
                // A scalar in key position is a key: keep its text as written.
                if let Some(Frame::Map {
                    key: key @ None, ..
                }) = self.stack.last_mut()
                {
                    if anchor > 0 {
                        let node = scalar_node(text.clone(), style, tag.as_ref(), span)?;
                        self.anchors.insert(anchor, node);
                    }
                    *key = Some((text.into_owned(), start));
                    return Ok(());
                }
                let node = scalar_node(text, style, tag.as_ref(), span)?;
                self.complete(node, anchor)?;
            }
            Event::Alias(id) => {
                let Some(target) = self.anchors.get(&id) else {
                    return Err(YamlError {
                        pos: start,
                        message: "alias to an unknown anchor".into(),
                        hint: None,
                    });
                };
                let remaining = ALIAS_NODE_BUDGET.saturating_sub(self.alias_budget_used);
                let Some(size) = size_within(target, remaining) else {
                    return Err(YamlError {
                        pos: start,
                        message: format!(
                            "YAML aliases expand to more than {ALIAS_NODE_BUDGET} nodes (a \"billion laughs\" document?)"
                        ),
                        hint: Some(
                            "manifests need no anchors or aliases; write the values out".into(),
                        ),
                    });
                };
                self.alias_budget_used += size;
                let mut node = target.clone();
                node.start = start;
                node.end = Pos::from(span.end);
                if let Some(Frame::Map {
                    key: key @ None, ..
                }) = self.stack.last_mut()
                {
                    return match node.value {
                        Value::Str(s) => {
                            *key = Some((s, start));
                            Ok(())
                        }
                        _ => Err(complex_key(start)),
                    };
                }
                self.complete(node, 0)?;
            }
        }
        Ok(())
    }

    fn check_depth(&self, pos: Pos) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(YamlError {
                pos,
                message: format!("YAML nested deeper than {MAX_DEPTH} levels"),
                hint: None,
            });
        }
        Ok(())
    }

    /// Attach a finished node to its parent (or make it the document's root).
    fn complete(&mut self, node: Node, anchor: usize) -> Result<(), YamlError> {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries, key, seen, ..
            }) => match key.take() {
                None => return Err(complex_key(node.start)),
                Some((k, key_pos)) => {
                    if seen.is_none() && entries.len() >= SMALL_MAP {
                        *seen = Some(entries.iter().map(|e| (e.key.clone(), e.key_pos)).collect());
                    }
                    let first = match seen {
                        Some(seen) => seen.get(&k).copied(),
                        None => entries.iter().find(|e| e.key == k).map(|e| e.key_pos),
                    };
                    if let Some(first) = first {
                        return Err(YamlError {
                            pos: key_pos,
                            message: format!(
                                "duplicate key `{k}` (first at line {}, column {})",
                                first.line, first.column
                            ),
                            hint: Some(format!(
                                "remove one of the two `{k}` lines (line {} and line {})",
                                first.line, key_pos.line
                            )),
                        });
                    }
                    if let Some(seen) = seen {
                        seen.insert(k.clone(), key_pos);
                    }
                    entries.push(Entry {
                        key: k,
                        key_pos,
                        value: node,
                    });
                }
            },
        }
        Ok(())
    }
}

fn complex_key(pos: Pos) -> YamlError {
    YamlError {
        pos,
        message: "mapping keys must be plain text, not mappings or sequences".into(),
        hint: None,
    }
}

fn scalar_node(
    text: Cow<'_, str>,
    style: ScalarStyle,
    tag: Option<&Cow<'_, Tag>>,
    span: Span,
) -> Result<Node, YamlError> {
    let start = Pos::from(span.start);
    let tag_name = tag.map(|t| t.to_string());
    let value = match Scalar::parse_from_cow_and_metadata(text, style, tag) {
        Some(Scalar::Null) => Value::Null,
        Some(Scalar::Boolean(b)) => Value::Bool(b),
        Some(Scalar::Integer(i)) => Value::Int(i),
        Some(Scalar::FloatingPoint(f)) => Value::Float(f.into_inner()),
        Some(Scalar::String(s)) => Value::Str(s.into_owned()),
        None => {
            return Err(YamlError {
                pos: start,
                message: format!(
                    "the value does not match its tag `{}`",
                    tag_name.unwrap_or_default()
                ),
                hint: None,
            });
        }
    };
    Ok(Node {
        start,
        end: Pos::from(span.end),
        value,
    })
}

/// The node count of `node`, or `None` when it exceeds `budget`.
fn size_within(node: &Node, budget: usize) -> Option<usize> {
    fn walk(node: &Node, left: &mut usize) -> bool {
        if *left == 0 {
            return false;
        }
        *left -= 1;
        match &node.value {
            Value::Seq(items) => items.iter().all(|n| walk(n, left)),
            Value::Map(entries) => entries.iter().all(|e| walk(&e.value, left)),
            _ => true,
        }
    }
    let mut left = budget;
    walk(node, &mut left).then_some(budget - left)
}

impl Node {
    /// The node as JSON, for the schema check and the typed model. Whole floats become
    /// integers (`30.0` → `30`); infinities and NaN become text (and fail a type check).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => {
                if f.fract() == 0.0 && f.abs() < 9.0e15 {
                    J::from(*f as i64)
                } else {
                    serde_json::Number::from_f64(*f)
                        .map(J::Number)
                        .unwrap_or_else(|| J::String(f.to_string()))
                }
            }
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }

    /// The entry `key` of a mapping node.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    /// Walk `path` (object keys and array indexes). Returns the deepest node reached, the
    /// position of the last key passed on the way, and whether the whole path was found.
    pub fn locate<'a, S: AsRef<str>>(&'a self, path: &[S]) -> Located<'a> {
        let mut here = Located {
            node: self,
            key_pos: None,
            complete: true,
        };
        for seg in path {
            let seg = seg.as_ref();
            let next = match &here.node.value {
                Value::Map(entries) => entries
                    .iter()
                    .find(|e| e.key == seg)
                    .map(|e| (&e.value, Some(e.key_pos))),
                Value::Seq(items) => seg
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i))
                    .map(|n| (n, None)),
                _ => None,
            };
            match next {
                Some((node, key_pos)) => {
                    here.node = node;
                    here.key_pos = key_pos;
                }
                None => {
                    here.complete = false;
                    break;
                }
            }
        }
        here
    }
}

/// Where a path led inside a document.
#[derive(Debug, Clone, Copy)]
pub struct Located<'a> {
    pub node: &'a Node,
    pub key_pos: Option<Pos>,
    pub complete: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let p = parse(text);
        assert!(p.error.is_none(), "{:?}", p.error);
        assert_eq!(p.documents.len(), 1);
        p.documents.into_iter().next().unwrap()
    }

    #[test]
    fn spans_point_at_values_and_keys() {
        let doc = one("name: Acme\nfeatures:\n  agent: 3\nlist:\n  - a\n  - bee\n");
        let found = doc.locate(&["features", "agent"]);
        assert!(found.complete);
        assert_eq!((found.node.start.line, found.node.start.column), (3, 10));
        let key = found.key_pos.unwrap();
        assert_eq!((key.line, key.column), (3, 3));
        let item = doc.locate(&["list", "1"]);
        assert_eq!((item.node.start.line, item.node.start.column), (6, 5));
        let missing = doc.locate(&["features", "device"]);
        assert!(!missing.complete);
        assert_eq!(missing.node.start.line, 3);
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let doc = one("name: \"Café Zoë\"\ndescription: x\n");
        let d = doc.locate(&["description"]);
        assert_eq!((d.node.start.line, d.node.start.column), (2, 14));
        let doc = one("name: Zoë\nreference: R1\n");
        let r = doc.locate(&["reference"]);
        assert_eq!(r.node.start.column, 12);
    }

    #[test]
    fn yaml_1_2_core_schema() {
        let doc = one("a: yes\nb: 0001\nc: true\nd: ~\ne: '1'\nf: 30.0\ng: 1.5\n");
        let j = doc.to_json();
        assert_eq!(
            j,
            serde_json::json!({"a": "yes", "b": 1, "c": true, "d": null, "e": "1", "f": 30, "g": 1.5})
        );
    }

    #[test]
    fn duplicate_keys_name_both_lines() {
        let p = parse("name: A\nreference: R\nname: B\n");
        let e = p.error.unwrap();
        assert_eq!(e.pos.line, 3);
        assert!(e.message.contains("first at line 1"), "{}", e.message);
    }

    #[test]
    fn duplicates_in_large_mappings_are_found_either_side_of_the_switch() {
        // A key repeated before, at and after the point where the check keeps a hash map.
        for (first, again) in [
            (0, 3),
            (2, SMALL_MAP - 1),
            (5, SMALL_MAP),
            (SMALL_MAP + 2, 40),
        ] {
            let mut text = String::new();
            for i in 0..50 {
                let k = if i == again { first } else { i };
                text.push_str(&format!("k{k}: {i}\n"));
            }
            let e = parse(&text).error.unwrap();
            assert_eq!(e.pos.line, again + 1, "{first} {again}");
            let want = format!(
                "duplicate key `k{first}` (first at line {}, column 1)",
                first + 1
            );
            assert_eq!(e.message, want);
        }
        let unique: String = (0..50).map(|i| format!("k{i}: {i}\n")).collect();
        assert!(parse(&unique).error.is_none());
    }

    #[test]
    fn nested_duplicates_are_found_too() {
        let p = parse("features:\n  agent: 1\n  agent: 2\n");
        assert_eq!(p.error.unwrap().pos.line, 3);
    }

    #[test]
    fn billion_laughs_is_refused_quickly() {
        let mut text = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        let names = ["b", "c", "d", "e", "f", "g", "h", "i"];
        let mut prev = "a";
        for n in names {
            text.push_str(&format!(
                "{n}: &{n} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
            ));
            prev = n;
        }
        let p = parse(&text);
        let e = p.error.unwrap();
        assert!(e.message.contains("billion laughs"), "{}", e.message);
    }

    #[test]
    fn small_aliases_are_fine() {
        let doc = one("a: &x {agent: 1}\nb: *x\n");
        assert_eq!(
            doc.to_json(),
            serde_json::json!({"a": {"agent": 1}, "b": {"agent": 1}})
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        // The parser's own flow-level limit or ours, whichever comes first.
        let text = "[".repeat(10_000) + &"]".repeat(10_000);
        let e = parse(&text).error.unwrap();
        assert!(
            e.message.contains("deeper than") || e.message.contains("recursion limit"),
            "{}",
            e.message
        );
        let block: String = (0..200).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        let e = parse(&block).error.unwrap();
        assert!(e.message.contains("deeper than"), "{}", e.message);
        let text = "a: ".to_string() + &"[".repeat(MAX_DEPTH - 1) + &"]".repeat(MAX_DEPTH - 1);
        assert!(parse(&text).error.is_none());
    }

    #[test]
    fn multi_document_and_empty() {
        let p = parse("a: 1\n---\nb: 2\n");
        assert_eq!(p.documents.len(), 2);
        assert_eq!(p.documents[1].start.line, 3);
        assert!(parse("").documents.is_empty());
        assert!(parse("# only a comment\n").documents.is_empty());
        let p = parse("---\n");
        assert_eq!(p.documents.len(), 1);
        assert_eq!(p.documents[0].value, Value::Null);
    }

    #[test]
    fn syntax_errors_keep_earlier_documents() {
        let p = parse("a: 1\n---\nb: [1, 2\n");
        assert_eq!(p.documents.len(), 1);
        let e = p.error.unwrap();
        assert!(e.message.starts_with("YAML syntax error"), "{}", e.message);
    }

    #[test]
    fn tabs_get_a_hint() {
        let p = parse("features:\n\tagent: 1\n");
        let e = p.error.unwrap();
        assert_eq!(e.pos.line, 2);
        assert!(e.hint.unwrap().contains("tabs"));
    }
}
