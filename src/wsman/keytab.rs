//! MIT keytab files (format 0x0502, as `kadmin ktadd` and `ktpass` write them): the service keys
//! a Kerberos acceptor decrypts tickets with. Only reading; every length is checked.

/// One key of a keytab.
#[derive(Clone)]
pub struct KeytabEntry {
    pub realm: String,
    /// The principal's name components, e.g. `["HTTP", "cas1.contoso.com"]`.
    pub components: Vec<String>,
    /// The key version number (the 32-bit field when present, else the 8-bit one).
    pub version: u32,
    /// The Kerberos encryption type (17 aes128-cts-hmac-sha1-96, 18 aes256-cts-hmac-sha1-96).
    pub encryption_type: u16,
    pub key: Vec<u8>,
}

impl std::fmt::Debug for KeytabEntry {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key never reaches a log.
        formatter
            .debug_struct("KeytabEntry")
            .field("principal", &format!("{}@{}", self.components.join("/"), self.realm))
            .field("version", &self.version)
            .field("encryption_type", &self.encryption_type)
            .finish_non_exhaustive()
    }
}

/// Why a keytab cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeytabError {
    /// Not a version 0x0502 keytab. **Handling:** the admin exports the keytab again.
    #[error("not an MIT keytab (version 0x0502): starts with {0:02x?}")]
    Version(Vec<u8>),
    /// An entry runs past the end of the file or of itself. **Handling:** as `Version`.
    #[error("keytab entry at byte {offset} is truncated: {what}")]
    Truncated { offset: usize, what: &'static str },
}

/// Reads every entry of a keytab; deleted (negative-size) entries are skipped.
pub fn parse_keytab(bytes: &[u8]) -> Result<Vec<KeytabEntry>, KeytabError> {
    if bytes.get(..2) != Some(&[5, 2]) {
        return Err(KeytabError::Version(bytes.iter().take(2).copied().collect()));
    }
    let mut entries = Vec::new();
    let mut offset = 2;
    // Each iteration consumes at least the 4-byte size field.
    while offset < bytes.len() {
        let mut reader = Reader { bytes, at: offset, entry_start: offset };
        let size = reader.u32("entry size")? as i32;
        let length = size.unsigned_abs() as usize;
        let end = reader.at.checked_add(length).filter(|end| *end <= bytes.len());
        let end = end.ok_or(KeytabError::Truncated { offset, what: "entry size" })?;
        if size > 0 {
            let mut entry = Reader { bytes: &bytes[..end], at: reader.at, entry_start: offset };
            entries.push(entry.entry()?);
        }
        offset = end;
    }
    Ok(entries)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    entry_start: usize,
}

impl Reader<'_> {
    fn take(&mut self, count: usize, what: &'static str) -> Result<&[u8], KeytabError> {
        let slice = self.at.checked_add(count).and_then(|end| self.bytes.get(self.at..end));
        let slice = slice.ok_or(KeytabError::Truncated { offset: self.entry_start, what })?;
        self.at += count;
        Ok(slice)
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, KeytabError> {
        let bytes = self.take(2, what)?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, KeytabError> {
        let bytes = self.take(4, what)?;
        Ok(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn text(&mut self, what: &'static str) -> Result<String, KeytabError> {
        let length = self.u16(what)? as usize;
        Ok(String::from_utf8_lossy(self.take(length, what)?).into_owned())
    }

    fn entry(&mut self) -> Result<KeytabEntry, KeytabError> {
        let component_count = self.u16("component count")?;
        let realm = self.text("realm")?;
        let components = (0..component_count).map(|_| self.text("name component")).collect::<Result<Vec<_>, _>>()?;
        self.take(4 + 4, "name type and timestamp")?;
        let short_version = self.take(1, "key version")?[0];
        let encryption_type = self.u16("encryption type")?;
        let key_length = self.u16("key length")? as usize;
        let key = self.take(key_length, "key")?.to_vec();
        // The 32-bit version follows when the entry has room for it.
        let version = if self.bytes.len() >= self.at + 4 { self.u32("key version")? } else { u32::from(short_version) };
        Ok(KeytabEntry { realm, components, version, encryption_type, key })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_bytes(key: &[u8]) -> Vec<u8> {
        let mut entry = vec![0, 2, 0, 4];
        entry.extend_from_slice(b"TEST");
        for component in ["HTTP", "localhost"] {
            entry.extend_from_slice(&(component.len() as u16).to_be_bytes());
            entry.extend_from_slice(component.as_bytes());
        }
        entry.extend_from_slice(&[0, 0, 0, 3, 0, 0, 0, 0, 2, 0, 18]);
        entry.extend_from_slice(&(key.len() as u16).to_be_bytes());
        entry.extend_from_slice(key);
        entry.extend_from_slice(&[0, 0, 0, 2]);
        entry
    }

    #[test]
    fn entries_are_read_deleted_ones_skipped_and_truncation_named() {
        let entry = entry_bytes(&[7; 32]);
        let mut file = vec![5, 2];
        file.extend_from_slice(&(-4i32).to_be_bytes());
        file.extend_from_slice(&[0; 4]);
        file.extend_from_slice(&(entry.len() as u32).to_be_bytes());
        file.extend_from_slice(&entry);
        let entries = parse_keytab(&file).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].components, vec!["HTTP".to_string(), "localhost".to_string()]);
        assert_eq!((entries[0].realm.as_str(), entries[0].encryption_type, entries[0].version), ("TEST", 18, 2));
        assert_eq!(entries[0].key, vec![7; 32]);
        assert!(!format!("{:?}", entries[0]).contains("7, 7"), "Debug must not print the key");

        let cut = &file[..file.len() - 10];
        assert!(matches!(parse_keytab(cut), Err(KeytabError::Truncated { what: "entry size", .. })));
        assert!(matches!(parse_keytab(b"\x05\x01"), Err(KeytabError::Version(_))));
    }
}
