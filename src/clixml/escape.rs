//! Text encoding for CLIXML: XML character escaping plus PowerShell's `_xHHHH_` encoding of
//! characters XML cannot carry (MS-PSRP 2.2.5.3.2), in one pass each way.
//!
//! PowerShell strings are UTF-16. The serializer writes control characters, C1 controls, the
//! non-characters U+FFFE/U+FFFF and unpaired surrogates as `_xHHHH_` (one UTF-16 code unit
//! each), and escapes a literal `_` that is followed by `x` as `_x005F_` so that `_x` in the
//! original text survives (`_x` -> `_x005F_x`). A character outside the BMP arrives as two
//! escapes (`_xD83D__xDE00_`) and decodes to one `char`; an unpaired surrogate cannot live in a
//! Rust `String` and decodes to U+FFFD.

use std::borrow::Cow;

/// Appends `text` to `out` escaped for XML element content or a double-quoted attribute, with
/// PowerShell's `_xHHHH_` encoding applied.
pub fn encode_into(text: &str, out: &mut String) {
    let bytes = text.as_bytes();
    let mut copied_up_to = 0;
    for (index, character) in text.char_indices() {
        let replacement: Option<&str> = match character {
            '&' => Some("&amp;"),
            '<' => Some("&lt;"),
            '>' => Some("&gt;"),
            '"' => Some("&quot;"),
            '_' if matches!(bytes.get(index + 1), Some(b'x') | Some(b'X')) => Some("_x005F_"),
            _ => None,
        };
        let needs_code_unit_escape = replacement.is_none() && needs_escape(character);
        if replacement.is_none() && !needs_code_unit_escape {
            continue;
        }
        out.push_str(&text[copied_up_to..index]);
        match replacement {
            Some(replacement) => out.push_str(replacement),
            None => push_code_unit_escape(character as u32 as u16, out),
        }
        copied_up_to = index + character.len_utf8();
    }
    out.push_str(&text[copied_up_to..]);
}

/// `text` encoded (see [`encode_into`]).
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    encode_into(text, &mut out);
    out
}

/// Whether PowerShell writes this character as `_xHHHH_`. Only BMP characters qualify, so the
/// cast to one UTF-16 code unit in [`encode_into`] is exact.
fn needs_escape(character: char) -> bool {
    matches!(character, '\u{0}'..='\u{1F}' | '\u{7F}'..='\u{9F}' | '\u{FFFE}' | '\u{FFFF}')
}

fn push_code_unit_escape(code_unit: u16, out: &mut String) {
    const HEX_DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    out.push_str("_x");
    for shift in [12u16, 8, 4, 0] {
        out.push(HEX_DIGITS[usize::from((code_unit >> shift) & 0xF)] as char);
    }
    out.push('_');
}

/// Decodes `_xHHHH_` sequences (hex digits and the `x` in either case). Text that merely looks
/// similar (`_x12_`, `_xZZZZ_`) is kept as written, as .NET's `XmlConvert.DecodeName` does.
pub fn decode(text: &str) -> Cow<'_, str> {
    let Some(first) = find_escape(text.as_bytes(), 0) else {
        return Cow::Borrowed(text);
    };
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..first]);
    let mut position = first;
    let mut copied_up_to = first;
    // Each iteration consumes at least one escape (7 bytes), so the loop is bounded by the text.
    while let Some(start) = find_escape(bytes, position) {
        out.push_str(&text[copied_up_to..start]);
        let code_unit = escape_code_unit(bytes, start);
        let mut consumed = 7;
        let character = if (0xD800..0xDC00).contains(&code_unit) {
            match find_escape(bytes, start + 7).filter(|next| *next == start + 7) {
                Some(next) if (0xDC00..0xE000).contains(&escape_code_unit(bytes, next)) => {
                    consumed = 14;
                    let low = escape_code_unit(bytes, next);
                    char::from_u32(0x10000 + ((u32::from(code_unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00))
                }
                _ => None,
            }
        } else {
            char::from_u32(u32::from(code_unit))
        };
        out.push(character.unwrap_or(char::REPLACEMENT_CHARACTER));
        position = start + consumed;
        copied_up_to = position;
    }
    out.push_str(&text[copied_up_to..]);
    Cow::Owned(out)
}

/// The byte offset of the next well-formed `_xHHHH_` at or after `from`.
fn find_escape(bytes: &[u8], from: usize) -> Option<usize> {
    let mut position = from;
    while position + 7 <= bytes.len() {
        let offset = memchr::memchr(b'_', &bytes[position..])?;
        let start = position + offset;
        if start + 7 <= bytes.len()
            && matches!(bytes[start + 1], b'x' | b'X')
            && bytes[start + 2..start + 6].iter().all(u8::is_ascii_hexdigit)
            && bytes[start + 6] == b'_'
        {
            return Some(start);
        }
        position = start + 1;
    }
    None
}

/// The code unit of a well-formed escape starting at `start` (checked by [`find_escape`]).
fn escape_code_unit(bytes: &[u8], start: usize) -> u16 {
    bytes[start + 2..start + 6].iter().fold(0u16, |accumulated, digit| {
        let value = match digit {
            b'0'..=b'9' => digit - b'0',
            b'a'..=b'f' => digit - b'a' + 10,
            _ => digit - b'A' + 10,
        };
        (accumulated << 4) | u16::from(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_literal_underscore_x_are_escaped() {
        assert_eq!(encode("a\r\nb"), "a_x000D__x000A_b");
        assert_eq!(encode("_x"), "_x005F_x");
        assert_eq!(encode("_X1"), "_x005F_X1");
        assert_eq!(encode("a_b"), "a_b");
        assert_eq!(encode("<&\">"), "&lt;&amp;&quot;&gt;");
        assert_eq!(encode("\u{FFFE}\u{85}"), "_xFFFE__x0085_");
    }

    #[test]
    fn decoding_undoes_encoding_including_surrogate_pairs() {
        assert_eq!(decode("_x000D__x000A_"), "\r\n");
        assert_eq!(decode("_x005F_x005F_"), "_x005F_");
        assert_eq!(decode("_xd83d__xDE00_"), "\u{1F600}");
        assert_eq!(decode("_xD83D_x"), "\u{FFFD}x");
        assert_eq!(decode("_x12_ _xZZZZ_"), "_x12_ _xZZZZ_");
        assert!(matches!(decode("plain"), Cow::Borrowed("plain")));
    }
}
