//! Reading type-name lists (`<TN>`, `<TNRef>`), shared between the objects that carry them.
//!
//! A reply of 100,000 Exchange objects sends the same few lists 100,000 times, one PSRP message
//! per object, and they are about half of each message's bytes. Each thread keeps the lists it
//! read recently, keyed by their raw XML content; a `<TN>` whose content is byte for byte one of
//! them is stepped over and its list shared instead of being read and allocated again.

use std::cell::RefCell;
use std::sync::{Arc, LazyLock};

use quick_xml::events::BytesStart;
use rustc_hash::FxHashMap;

use super::{ClixmlError, Item, Parser};
use crate::clixml::value::TypeNames;

/// How many distinct lists a thread keeps. A reply carries a handful (the object's type and one
/// per enum); when a stream of odd lists fills the cache it is emptied and starts again.
const MAX_CACHED_LISTS: usize = 256;

/// Lists whose raw content is longer are read every time: real ones are a few hundred bytes.
const MAX_CACHED_CONTENT_BYTES: usize = 4096;

/// The start of the closing tag that ends a `<TN>`'s content.
const CLOSING_TAG_START: &str = "</TN";

/// Finds [`CLOSING_TAG_START`]; built once, as building a finder costs more than a search.
static CLOSING_TAG_FINDER: LazyLock<memchr::memmem::Finder<'static>> =
    LazyLock::new(|| memchr::memmem::Finder::new(CLOSING_TAG_START));

thread_local! {
    static CACHED_LISTS: RefCell<FxHashMap<Box<str>, TypeNames>> = RefCell::new(FxHashMap::default());
}

/// The list read earlier on this thread from exactly this raw `<TN>` content.
fn cached(raw_content: &str) -> Option<TypeNames> {
    CACHED_LISTS.with(|lists| lists.borrow().get(raw_content).cloned())
}

/// Remembers the list read from this raw `<TN>` content.
fn remember(raw_content: &str, type_names: &TypeNames) {
    CACHED_LISTS.with(|lists| {
        let mut lists = lists.borrow_mut();
        if lists.len() >= MAX_CACHED_LISTS {
            lists.clear();
        }
        lists.insert(raw_content.into(), Arc::clone(type_names));
    });
}

impl<'x> Parser<'x> {
    /// Reads a `<TN>` (its opening tag consumed) and registers it for `<TNRef>`.
    pub(super) fn read_type_names(&mut self, start: &BytesStart<'x>, empty: bool) -> Result<TypeNames, ClixmlError> {
        let ref_id = self.attributes(start)?.ref_id;
        let content_start = self.offset() as usize;
        let raw_content = if empty { None } else { self.type_names_content(content_start) };
        let type_names = match raw_content.and_then(cached) {
            Some(type_names) => {
                self.skip_known_content(raw_content.map_or(0, str::len))?;
                type_names
            }
            None => {
                let type_names = self.read_type_name_list(empty)?;
                // Remembered only when the list really ended where the content was cut off
                // (not, say, at a `</TN` inside a comment).
                if let Some(raw_content) = raw_content
                    && self.closed_at(content_start + raw_content.len())
                {
                    remember(raw_content, &type_names);
                }
                type_names
            }
        };
        if let (Some(type_names_by_ref), Some(ref_id)) = (self.type_names_by_ref.as_mut(), ref_id) {
            type_names_by_ref.insert(ref_id, Arc::clone(&type_names));
        }
        Ok(type_names)
    }

    /// The `<T>`s of a `<TN>` up to its closing tag.
    fn read_type_name_list(&mut self, empty: bool) -> Result<TypeNames, ClixmlError> {
        let mut type_names = std::mem::take(&mut self.type_name_buffer);
        type_names.clear();
        if !empty {
            // Bounded by the input.
            loop {
                match self.next_item("<TN>")? {
                    Item::Start(child) if child.local_name().as_ref() == "T" => {
                        type_names.push(self.read_text(&child, false)?.into_owned())
                    }
                    Item::Empty(child) if child.local_name().as_ref() == "T" => type_names.push(String::new()),
                    Item::Start(child) | Item::Empty(child) => {
                        return Err(ClixmlError::UnexpectedElement {
                            element: child.local_name().as_ref().to_string(),
                            context: "<TN>",
                            offset: self.offset(),
                        });
                    }
                    Item::End => break,
                    Item::Eof => {
                        return Err(ClixmlError::Truncated { element: "TN".to_string(), offset: self.offset() });
                    }
                }
            }
        }
        // Drained into a list of exactly the right size; the buffer keeps its capacity.
        let exact: TypeNames = type_names.drain(..).collect();
        self.type_name_buffer = type_names;
        Ok(exact)
    }

    /// Resolves a `<TNRef>` to the list its `<TN>` declared earlier in this text.
    pub(super) fn resolve_type_names(&mut self, start: &BytesStart<'x>, empty: bool) -> Result<TypeNames, ClixmlError> {
        let offset = self.offset();
        let ref_id = self.attributes(start)?.ref_id.unwrap_or_default();
        let known =
            self.type_names_by_ref.as_ref().and_then(|type_names_by_ref| type_names_by_ref.get(ref_id.as_str()));
        let type_names = known.cloned().ok_or_else(|| ClixmlError::UnknownRef {
            element: "TNRef",
            ref_id: ref_id.to_string(),
            offset,
        })?;
        if !empty {
            self.skip_to_end(start)?;
        }
        Ok(type_names)
    }

    /// The text from byte `from` up to the first `</TN`, if that comes within the cacheable length.
    fn type_names_content(&self, from: usize) -> Option<&'x str> {
        let rest = self.xml.get(from..)?;
        let window = &rest.as_bytes()[..rest.len().min(MAX_CACHED_CONTENT_BYTES + CLOSING_TAG_START.len())];
        rest.get(..CLOSING_TAG_FINDER.find(window)?)
    }

    /// Steps over `length` bytes of `<TN>` content known to be well-formed (it equals content
    /// read before), then over the closing tag. Reading through quick-xml's stream keeps its
    /// byte offsets right.
    fn skip_known_content(&mut self, length: usize) -> Result<(), ClixmlError> {
        std::io::BufRead::consume(&mut self.reader.stream(), length);
        match self.next_item("<TN>")? {
            Item::End => Ok(()),
            Item::Start(child) | Item::Empty(child) => Err(ClixmlError::UnexpectedElement {
                element: child.local_name().as_ref().to_string(),
                context: "<TN>",
                offset: self.offset(),
            }),
            Item::Eof => Err(ClixmlError::Truncated { element: "TN".to_string(), offset: self.offset() }),
        }
    }

    /// Whether the element just closed had its closing tag (`</TN`, optional whitespace, `>`)
    /// start at byte `at`.
    fn closed_at(&self, at: usize) -> bool {
        let end = self.offset() as usize;
        self.xml
            .get(at..end)
            .and_then(|tag| tag.strip_prefix(CLOSING_TAG_START))
            .and_then(|tail| tail.strip_suffix('>'))
            .is_some_and(|between| between.trim_ascii().is_empty())
    }
}

#[cfg(test)]
mod tests {
    use crate::clixml::read::parse_value;

    fn type_names_of(xml: &str) -> Vec<String> {
        parse_value(xml).unwrap().as_object().unwrap().type_names.to_vec()
    }

    #[test]
    fn a_list_seen_before_is_shared_and_reads_the_same() {
        let xml = r#"<Obj RefId="0"><TN RefId="0"><T>A_x005F_x</T><T>B &amp; C</T><T/></TN><I32>1</I32></Obj>"#;
        let first = parse_value(xml).unwrap();
        let second = parse_value(xml).unwrap();
        assert_eq!(first, second);
        assert_eq!(type_names_of(xml), vec!["A_x", "B & C", ""]);
        let (first, second) = (first.as_object().unwrap(), second.as_object().unwrap());
        assert!(std::sync::Arc::ptr_eq(&first.type_names, &second.type_names), "the second read shares the list");
    }

    #[test]
    fn a_closing_tag_inside_a_comment_does_not_cut_a_list_short() {
        let xml = r#"<Obj><TN RefId="0"><T>A</T><!-- </TN> --><T>B</T></TN></Obj>"#;
        for _ in 0..2 {
            assert_eq!(type_names_of(xml), vec!["A", "B"]);
        }
        let prefix_only = r#"<Obj><TN RefId="0"><T>A</T></TN></Obj>"#;
        assert_eq!(type_names_of(prefix_only), vec!["A"]);
    }

    #[test]
    fn a_text_that_starts_with_a_byte_order_mark_reads_the_same() {
        let xml = r#"<Obj RefId="0"><TN RefId="0"><T>Bom.First</T><T>System.Object</T></TN><S>x</S></Obj>"#;
        let with_mark = format!("\u{FEFF}{xml}");
        for _ in 0..2 {
            assert_eq!(parse_value(&with_mark).unwrap(), parse_value(xml).unwrap());
            assert_eq!(type_names_of(&with_mark), vec!["Bom.First", "System.Object"]);
        }
    }

    #[test]
    fn content_seen_before_followed_by_more_is_still_checked() {
        let good = r#"<Obj><TN RefId="0"><T>A</T></TN></Obj>"#;
        assert_eq!(type_names_of(good), vec!["A"]);
        // The same content, then a closing tag of another element: still malformed.
        assert!(parse_value(r#"<Obj><TN RefId="0"><T>A</T></TNX></Obj>"#).is_err());
        assert!(parse_value(r#"<Obj><TN RefId="0"><T>A</T>"#).is_err());
    }
}
