//! CLIXML writer (MS-PSRP 2.2.5): `PsValue`s to XML text the way PowerShell writes them.
//!
//! Every `<Obj>` gets the next `RefId` (from 0 per message); a type-name list is written once as
//! `<TN RefId="n">` and then as `<TNRef RefId="n"/>`. Values are trees, so no `<Ref>` is written.

use base64::Engine as _;
use rustc_hash::FxHashMap;

use crate::clixml::escape;
use crate::clixml::value::{Container, PsObject, PsValue};

/// Writes the values of one PSRP message (or one document). RefIds restart per writer.
#[derive(Default)]
pub struct ClixmlWriter {
    out: String,
    next_object_ref_id: u32,
    type_name_ref_ids: FxHashMap<Vec<String>, u32>,
}

/// The CLIXML text of one value (one PSRP message's data).
pub fn write_value(value: &PsValue) -> String {
    let mut writer = ClixmlWriter::new();
    writer.write(None, value);
    writer.finish()
}

impl ClixmlWriter {
    pub fn new() -> ClixmlWriter {
        ClixmlWriter::default()
    }

    /// The XML written so far.
    pub fn finish(self) -> String {
        self.out
    }

    /// Writes `value`, with `N="name"` when it is a member of an object or a dictionary entry.
    pub fn write(&mut self, name: Option<&str>, value: &PsValue) {
        match value {
            PsValue::Null => self.empty_element("Nil", name),
            PsValue::Bool(value) => self.element(name, "B", if *value { "true" } else { "false" }),
            PsValue::Char(value) => self.element(name, "C", &value.to_string()),
            PsValue::U8(value) => self.element(name, "By", &value.to_string()),
            PsValue::I8(value) => self.element(name, "SB", &value.to_string()),
            PsValue::U16(value) => self.element(name, "U16", &value.to_string()),
            PsValue::I16(value) => self.element(name, "I16", &value.to_string()),
            PsValue::U32(value) => self.element(name, "U32", &value.to_string()),
            PsValue::I32(value) => self.element(name, "I32", &value.to_string()),
            PsValue::U64(value) => self.element(name, "U64", &value.to_string()),
            PsValue::I64(value) => self.element(name, "I64", &value.to_string()),
            PsValue::F32(value) => self.element(name, "Sg", &float_text(f64::from(*value), format!("{value:?}"))),
            PsValue::F64(value) => self.element(name, "Db", &float_text(*value, format!("{value:?}"))),
            PsValue::Decimal(text) => self.text_element(name, "D", text),
            PsValue::String(text) => self.text_element(name, "S", text),
            PsValue::DateTime(text) => self.text_element(name, "DT", text),
            PsValue::Duration(text) => self.text_element(name, "TS", text),
            PsValue::Guid(guid) => self.element(name, "G", &guid.hyphenated().to_string()),
            PsValue::Uri(text) => self.text_element(name, "URI", text),
            PsValue::Version(text) => self.text_element(name, "Version", text),
            PsValue::Bytes(bytes) => self.element(name, "BA", &base64::engine::general_purpose::STANDARD.encode(bytes)),
            PsValue::XmlDocument(text) => self.text_element(name, "XD", text),
            PsValue::ScriptBlock(text) => self.text_element(name, "SBK", text),
            PsValue::SecureString(bytes) => {
                self.element(name, "SS", &base64::engine::general_purpose::STANDARD.encode(bytes))
            }
            PsValue::Object(object) => self.object(name, object),
        }
    }

    fn open_tag(&mut self, tag: &str, name: Option<&str>) {
        self.out.push('<');
        self.out.push_str(tag);
        if let Some(name) = name {
            self.out.push_str(" N=\"");
            escape::encode_into(name, &mut self.out);
            self.out.push('"');
        }
    }

    fn empty_element(&mut self, tag: &str, name: Option<&str>) {
        self.open_tag(tag, name);
        self.out.push_str(" />");
    }

    /// An element whose content needs no escaping (numbers, base64, GUIDs).
    fn element(&mut self, name: Option<&str>, tag: &str, content: &str) {
        self.open_tag(tag, name);
        self.out.push('>');
        self.out.push_str(content);
        self.close_tag(tag);
    }

    fn text_element(&mut self, name: Option<&str>, tag: &str, text: &str) {
        self.open_tag(tag, name);
        self.out.push('>');
        escape::encode_into(text, &mut self.out);
        self.close_tag(tag);
    }

    fn close_tag(&mut self, tag: &str) {
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
    }

    fn object(&mut self, name: Option<&str>, object: &PsObject) {
        self.open_tag("Obj", name);
        let ref_id = self.next_object_ref_id;
        self.next_object_ref_id += 1;
        self.out.push_str(" RefId=\"");
        self.out.push_str(&ref_id.to_string());
        self.out.push_str("\">");
        self.type_names(&object.type_names);
        if let Some(text) = &object.to_string {
            self.text_element(None, "ToString", text);
        }
        if let Some(value) = &object.value {
            self.write(None, value);
        }
        if let Some(container) = &object.container {
            self.container(container);
        }
        self.members("Props", &object.properties);
        self.members("MS", &object.members);
        self.close_tag("Obj");
    }

    fn type_names(&mut self, type_names: &[String]) {
        if type_names.is_empty() {
            return;
        }
        if let Some(ref_id) = self.type_name_ref_ids.get(type_names) {
            self.out.push_str("<TNRef RefId=\"");
            self.out.push_str(&ref_id.to_string());
            self.out.push_str("\" />");
            return;
        }
        let ref_id = self.type_name_ref_ids.len() as u32;
        self.type_name_ref_ids.insert(type_names.to_vec(), ref_id);
        self.out.push_str("<TN RefId=\"");
        self.out.push_str(&ref_id.to_string());
        self.out.push_str("\">");
        for type_name in type_names {
            self.text_element(None, "T", type_name);
        }
        self.close_tag("TN");
    }

    fn members(&mut self, tag: &str, members: &[(String, PsValue)]) {
        if members.is_empty() {
            return;
        }
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push('>');
        for (name, value) in members {
            self.write(Some(name), value);
        }
        self.close_tag(tag);
    }

    fn container(&mut self, container: &Container) {
        let (tag, items) = match container {
            Container::List(items) => ("LST", items),
            Container::Enumerable(items) => ("IE", items),
            Container::Queue(items) => ("QUE", items),
            Container::Stack(items) => ("STK", items),
            Container::Dictionary(entries) => {
                self.out.push_str("<DCT>");
                for (key, value) in entries {
                    self.out.push_str("<En>");
                    self.write(Some("Key"), key);
                    self.write(Some("Value"), value);
                    self.out.push_str("</En>");
                }
                self.out.push_str("</DCT>");
                return;
            }
        };
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push('>');
        for item in items {
            self.write(None, item);
        }
        self.close_tag(tag);
    }
}

/// A float as .NET's XmlConvert writes it: `INF`, `-INF`, `NaN`, else the shortest exact text.
fn float_text(value: f64, shortest: String) -> String {
    if value.is_nan() {
        "NaN".to_string()
    } else if value == f64::INFINITY {
        "INF".to_string()
    } else if value == f64::NEG_INFINITY {
        "-INF".to_string()
    } else {
        shortest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enum_object(type_name: &str, text: &str, number: i32) -> PsValue {
        PsValue::Object(Box::new(PsObject {
            type_names: vec![type_name.to_string(), "System.Enum".to_string()].into(),
            to_string: Some(text.to_string()),
            value: Some(PsValue::I32(number)),
            ..PsObject::default()
        }))
    }

    #[test]
    fn writes_ref_ids_and_type_name_references_like_powershell() {
        let value = PsValue::Object(Box::new(PsObject {
            members: vec![
                ("MergeMyResult".to_string(), enum_object("PipelineResultTypes", "None", 0)),
                ("MergeToResult".to_string(), enum_object("PipelineResultTypes", "None", 0)),
            ],
            ..PsObject::default()
        }));
        expect_test::expect![[r#"<Obj RefId="0"><MS><Obj N="MergeMyResult" RefId="1"><TN RefId="0"><T>PipelineResultTypes</T><T>System.Enum</T></TN><ToString>None</ToString><I32>0</I32></Obj><Obj N="MergeToResult" RefId="2"><TNRef RefId="0" /><ToString>None</ToString><I32>0</I32></Obj></MS></Obj>"#]]
        .assert_eq(&write_value(&value));
    }

    #[test]
    fn strings_are_escaped_for_xml_and_powershell() {
        let value = PsValue::string("x\"; Remove-Mailbox -Identity *; \"<&>_x\r\n");
        assert_eq!(
            write_value(&value),
            "<S>x&quot;; Remove-Mailbox -Identity *; &quot;&lt;&amp;&gt;_x005F_x_x000D__x000A_</S>"
        );
    }
}
