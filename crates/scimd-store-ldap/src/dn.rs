//! Distinguished names (RFC 4514): escaping an RDN value, building a DN, comparing DNs.

/// Escapes an attribute value for an RDN (RFC 4514 §2.4): `"`, `+`, `,`, `;`, `<`, `>`, `\`
/// and `=` get a backslash, NUL becomes `\00`, and a leading space or `#` and a trailing space
/// are escaped. Other characters (UTF-8 included) stay as they are.
pub(crate) fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 4);
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' | '=' => {
                out.push('\\');
                out.push(c);
            }
            '\0' => out.push_str("\\00"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            '#' if i == 0 => out.push_str("\\#"),
            c => out.push(c),
        }
    }
    out
}

/// The DN `<attr>=<escaped value>,<parent>`.
pub(crate) fn child(attr: &str, value: &str, parent: &str) -> String {
    if parent.is_empty() {
        format!("{attr}={}", escape_value(value))
    } else {
        format!("{attr}={},{parent}", escape_value(value))
    }
}

/// The RDN `<attr>=<escaped value>`.
pub(crate) fn rdn(attr: &str, value: &str) -> String {
    format!("{attr}={}", escape_value(value))
}

/// The parent of a DN (everything after its first unescaped `,`).
pub(crate) fn parent(dn: &str) -> &str {
    let bytes = dn.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b',' => return dn[i + 1..].trim_start(),
            _ => i += 1,
        }
    }
    ""
}

/// A DN in a form for comparison: attribute types and values lower-cased, escapes resolved,
/// spaces around `=`, `,` and `+` dropped. Enough to compare the DNs one directory returns
/// with each other and with those built here; not a full matching rule (RFC 4517 §4.2.15).
pub(crate) fn normalize(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    let mut component = Vec::new();
    let bytes = dn.as_bytes();
    let mut i = 0;
    let flush = |component: &mut Vec<u8>, out: &mut String, sep: Option<char>| {
        let text = String::from_utf8_lossy(component).trim().to_lowercase();
        match text.split_once('=') {
            Some((a, v)) => {
                out.push_str(a.trim());
                out.push('=');
                out.push_str(v.trim());
            }
            None => out.push_str(&text),
        }
        if let Some(s) = sep {
            out.push(s);
        }
        component.clear();
    };
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        // An escaped separator stays escaped so it cannot split the DN.
                        push_unescaped(&mut component, b);
                        i += 3;
                    }
                    None => {
                        if let Some(&b) = bytes.get(i + 1) {
                            push_unescaped(&mut component, b);
                        }
                        i += 2;
                    }
                }
            }
            b',' | b';' => {
                flush(&mut component, &mut out, Some(','));
                i += 1;
            }
            b'+' => {
                flush(&mut component, &mut out, Some('+'));
                i += 1;
            }
            b => {
                component.push(b);
                i += 1;
            }
        }
    }
    flush(&mut component, &mut out, None);
    out
}

fn push_unescaped(component: &mut Vec<u8>, b: u8) {
    if matches!(b, b',' | b'+' | b'=' | b';' | b'\\' | b'"' | b'<' | b'>' | b'#' | b' ' | 0) {
        component.extend(format!("\\{b:02x}").bytes());
    } else {
        component.push(b);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// RFC 4514 §2.4: the characters escaped in an attribute value.
    #[test]
    fn escapes_rdn_values_as_rfc_4514_section_2_4_says() {
        assert_eq!(escape_value("kim"), "kim");
        assert_eq!(escape_value("Smith, John"), "Smith\\, John");
        assert_eq!(escape_value("a+b=c;d<e>f\\g\"h"), "a\\+b\\=c\\;d\\<e\\>f\\\\g\\\"h");
        assert_eq!(escape_value(" lead#trail "), "\\ lead#trail\\ ");
        assert_eq!(escape_value("#x"), "\\#x");
        assert_eq!(escape_value("nul\0"), "nul\\00");
        assert_eq!(escape_value("Émile"), "Émile");
        assert_eq!(child("uid", "a,b", "ou=p,dc=x"), "uid=a\\,b,ou=p,dc=x");
    }

    /// RFC 4514 §3 (parsing) and §4 (examples): equal DNs compare equal after normalizing.
    #[test]
    fn normalizes_case_spaces_and_escapes() {
        assert_eq!(normalize("UID=Kim, OU=People,DC=X"), normalize("uid=kim,ou=people,dc=x"));
        assert_eq!(normalize("cn=Smith\\, John,dc=x"), normalize("CN=smith\\2C john,dc=x"));
        assert_ne!(normalize("cn=a\\,b,dc=x"), normalize("cn=a,b,dc=x"));
        assert_eq!(normalize(""), "");
        assert_eq!(parent("uid=a\\,b,ou=p,dc=x"), "ou=p,dc=x");
        assert_eq!(parent("dc=x"), "");
    }
}
