//! Field escaping for listing lines: `\\`, `\t`, `\n`, `\r`, `\xHH` for other
//! control and non-UTF-8 bytes, and a field that is exactly `-` as `\-` (a bare `-`
//! means "absent").

/// Escape bytes so they fit in one tab-separated field.
pub fn escape(bytes: &[u8]) -> String {
    escape_with(bytes, &[])
}

/// Also escape `,` and `=`, which separate xattrs.
pub(crate) fn escape_xattr_name(bytes: &[u8]) -> String {
    escape_with(bytes, &[',', '='])
}

fn escape_with(bytes: &[u8], extra: &[char]) -> String {
    if bytes == b"-" {
        return "\\-".into();
    }
    let mut s = String::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => s.push_str("\\\\"),
                '\t' => s.push_str("\\t"),
                '\n' => s.push_str("\\n"),
                '\r' => s.push_str("\\r"),
                c if c.is_control() || extra.contains(&c) => {
                    let mut b = [0u8; 4];
                    for x in c.encode_utf8(&mut b).bytes() {
                        s.push_str(&format!("\\x{x:02x}"));
                    }
                }
                c => s.push(c),
            }
        }
        for b in chunk.invalid() {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

/// Inverse of [`escape`]; `None` on a malformed escape.
pub fn unescape(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut it = s.bytes();
    while let Some(b) = it.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match it.next()? {
            b'\\' => out.push(b'\\'),
            b't' => out.push(b'\t'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b'-' => out.push(b'-'),
            b'x' => {
                let h = [it.next()?, it.next()?];
                out.push(u8::from_str_radix(std::str::from_utf8(&h).ok()?, 16).ok()?);
            }
            _ => return None,
        }
    }
    Some(out)
}

pub(crate) fn hex(v: &[u8]) -> String {
    v.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}
