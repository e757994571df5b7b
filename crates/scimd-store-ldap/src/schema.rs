//! What the directory's schema (RFC 4512 §4.1.2 attribute type descriptions, read from the
//! subschema subentry) says about each attribute: its equality, ordering and substring
//! matching, its syntax and whether it is single-valued. The filter compiler pushes down only
//! what the matching rules answer as the claim filter means; the codec writes dateTimes as
//! GeneralizedTime where the syntax is one.
//!
//! Active Directory publishes descriptions without matching rules; they are inferred from the
//! syntax there.

use std::collections::HashMap;

/// Equality matching, as far as the filter compiler needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EqRule {
    /// caseIgnoreMatch and kin (RFC 4518 preparation, case folded): a superset of equality of
    /// lower-cased strings.
    CaseIgnore,
    /// caseExactMatch and kin: a superset of exact string equality.
    CaseExact,
    /// octetStringMatch: byte equality.
    Octet,
    Boolean,
    Integer,
    /// generalizedTimeMatch: instants.
    Time,
    Dn,
    Uuid,
    /// Anything else (or none): not pushed down.
    Other,
}

/// Substring matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubstrRule {
    CaseIgnore,
    CaseExact,
    None,
}

/// The syntaxes the codec and compiler tell apart (RFC 4517 §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    GeneralizedTime,
    Boolean,
    Integer,
    Dn,
    /// Octet strings, certificates, JPEG: values are bytes.
    Binary,
    /// IA5 strings: the empty string is a value.
    Ia5,
    Text,
}

/// One attribute type, inheritance resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AttrInfo {
    pub(crate) eq: EqRule,
    pub(crate) ordering: bool,
    pub(crate) substr: SubstrRule,
    pub(crate) syntax: Syntax,
    pub(crate) single_value: bool,
}

impl AttrInfo {
    /// What is assumed of an attribute the schema does not describe: nothing is pushed down.
    pub(crate) const UNKNOWN: AttrInfo = AttrInfo {
        eq: EqRule::Other,
        ordering: false,
        substr: SubstrRule::None,
        syntax: Syntax::Text,
        single_value: false,
    };
}

/// The attribute types of a directory, by lower-cased name (every name) and OID.
#[derive(Debug, Clone, Default)]
pub(crate) struct DirSchema {
    attrs: HashMap<String, AttrInfo>,
}

#[derive(Debug, Clone, Default)]
struct Raw {
    names: Vec<String>,
    oid: String,
    sup: Option<String>,
    equality: Option<String>,
    ordering: Option<String>,
    substr: Option<String>,
    syntax: Option<String>,
    single_value: bool,
}

impl DirSchema {
    /// Parses the `attributeTypes` values of a subschema subentry; descriptions that do not
    /// parse are skipped.
    pub(crate) fn parse<'a>(descriptions: impl IntoIterator<Item = &'a str>) -> DirSchema {
        let raws: Vec<Raw> = descriptions.into_iter().filter_map(parse_description).collect();
        let mut by_name: HashMap<String, usize> = HashMap::new();
        for (i, r) in raws.iter().enumerate() {
            by_name.insert(r.oid.to_ascii_lowercase(), i);
            for n in &r.names {
                by_name.insert(n.to_ascii_lowercase(), i);
            }
        }
        let mut attrs = HashMap::new();
        for r in &raws {
            let info = resolve(r, &raws, &by_name);
            attrs.insert(r.oid.to_ascii_lowercase(), info);
            for n in &r.names {
                attrs.insert(n.to_ascii_lowercase(), info);
            }
        }
        DirSchema { attrs }
    }

    /// Whether the schema was read (an empty one describes nothing).
    pub(crate) fn is_known(&self) -> bool {
        !self.attrs.is_empty()
    }

    /// What the schema says of `attribute` (options such as `;binary` ignored).
    pub(crate) fn get(&self, attribute: &str) -> Option<AttrInfo> {
        let base = attribute.split(';').next().unwrap_or(attribute);
        self.attrs.get(&base.to_ascii_lowercase()).copied()
    }

    /// [`Self::get`], or [`AttrInfo::UNKNOWN`].
    pub(crate) fn info(&self, attribute: &str) -> AttrInfo {
        self.get(attribute).unwrap_or(AttrInfo::UNKNOWN)
    }
}

/// Follows `SUP` for what a description leaves out (at most 16 levels).
fn resolve(r: &Raw, raws: &[Raw], by_name: &HashMap<String, usize>) -> AttrInfo {
    let mut chain = vec![r];
    let mut cur = r;
    while let Some(sup) = &cur.sup {
        match by_name.get(&sup.to_ascii_lowercase()).and_then(|&i| raws.get(i)) {
            Some(next) if chain.len() < 16 => {
                chain.push(next);
                cur = next;
            }
            _ => break,
        }
    }
    let first =
        |f: fn(&Raw) -> Option<&String>| chain.iter().find_map(|r| f(r)).map(|s| s.to_ascii_lowercase());
    let syntax_oid = first(|r| r.syntax.as_ref());
    let syntax = syntax_of(syntax_oid.as_deref());
    let eq = match first(|r| r.equality.as_ref()) {
        Some(rule) => eq_rule(&rule),
        None => match syntax_oid.as_deref().map(syntax_suffix) {
            // Active Directory: no matching rules published; its string syntaxes compare
            // without regard to case.
            Some("15" | "26" | "44" | "36" | "50") => EqRule::CaseIgnore,
            Some("7") => EqRule::Boolean,
            Some("27") => EqRule::Integer,
            Some("24") => EqRule::Time,
            Some("12") => EqRule::Dn,
            Some("40") => EqRule::Octet,
            _ => EqRule::Other,
        },
    };
    let ordering = match first(|r| r.ordering.as_ref()) {
        Some(rule) => matches!(rule.as_str(), "integerorderingmatch" | "generalizedtimeorderingmatch"),
        None => r.equality.is_none() && matches!(eq, EqRule::Integer | EqRule::Time),
    };
    let substr = match first(|r| r.substr.as_ref()) {
        Some(rule) => match rule.as_str() {
            "caseignoresubstringsmatch"
            | "caseignoreia5substringsmatch"
            | "telephonenumbersubstringsmatch"
            | "numericstringsubstringsmatch" => SubstrRule::CaseIgnore,
            "caseexactsubstringsmatch" | "caseexactia5substringsmatch" => SubstrRule::CaseExact,
            _ => SubstrRule::None,
        },
        None if r.equality.is_none() && eq == EqRule::CaseIgnore => SubstrRule::CaseIgnore,
        None => SubstrRule::None,
    };
    AttrInfo { eq, ordering, substr, syntax, single_value: chain.iter().any(|r| r.single_value) }
}

fn syntax_suffix(oid: &str) -> &str {
    oid.strip_prefix("1.3.6.1.4.1.1466.115.121.1.").unwrap_or("")
}

fn syntax_of(oid: Option<&str>) -> Syntax {
    match oid.map(syntax_suffix) {
        Some("24") => Syntax::GeneralizedTime,
        Some("7") => Syntax::Boolean,
        Some("27") => Syntax::Integer,
        Some("12") => Syntax::Dn,
        Some("40" | "5" | "8" | "9" | "10" | "28") => Syntax::Binary,
        Some("26") => Syntax::Ia5,
        _ => Syntax::Text,
    }
}

fn eq_rule(rule: &str) -> EqRule {
    match rule {
        "caseignorematch"
        | "caseignoreia5match"
        | "caseignorelistmatch"
        | "telephonenumbermatch"
        | "numericstringmatch" => EqRule::CaseIgnore,
        "caseexactmatch" | "caseexactia5match" => EqRule::CaseExact,
        "octetstringmatch" => EqRule::Octet,
        "booleanmatch" => EqRule::Boolean,
        "integermatch" => EqRule::Integer,
        "generalizedtimematch" => EqRule::Time,
        "distinguishednamematch" | "uniquemembermatch" => EqRule::Dn,
        "uuidmatch" => EqRule::Uuid,
        _ => EqRule::Other,
    }
}

#[derive(Debug, PartialEq)]
enum Tok {
    Open,
    Close,
    Quoted(String),
    Word(String),
}

fn tokens(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            '(' => {
                chars.next();
                out.push(Tok::Open);
            }
            ')' => {
                chars.next();
                out.push(Tok::Close);
            }
            '\'' => {
                chars.next();
                let mut q = String::new();
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    q.push(c);
                }
                out.push(Tok::Quoted(q));
            }
            c if c.is_whitespace() => {
                chars.next();
            }
            _ => {
                let mut w = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '\'' {
                        break;
                    }
                    w.push(c);
                    chars.next();
                }
                out.push(Tok::Word(w));
            }
        }
    }
    out
}

/// One `AttributeTypeDescription` (RFC 4512 §4.1.2).
fn parse_description(text: &str) -> Option<Raw> {
    let toks = tokens(text);
    let mut it = toks.into_iter().peekable();
    if it.next()? != Tok::Open {
        return None;
    }
    let oid = match it.next()? {
        Tok::Word(w) | Tok::Quoted(w) => w,
        _ => return None,
    };
    let mut raw = Raw { oid, ..Raw::default() };
    // A value: a word, a quoted string, or a parenthesised list of them.
    let value = |it: &mut std::iter::Peekable<std::vec::IntoIter<Tok>>| -> Vec<String> {
        match it.next() {
            Some(Tok::Word(w) | Tok::Quoted(w)) => vec![w],
            Some(Tok::Open) => {
                let mut list = Vec::new();
                for t in it.by_ref() {
                    match t {
                        Tok::Close => break,
                        Tok::Word(w) | Tok::Quoted(w) if w != "$" => list.push(w),
                        _ => {}
                    }
                }
                list
            }
            _ => Vec::new(),
        }
    };
    while let Some(tok) = it.next() {
        let Tok::Word(key) = tok else { continue };
        let one = |v: Vec<String>| v.into_iter().next().map(|s| strip_len(&s).to_owned());
        match key.to_ascii_uppercase().as_str() {
            "NAME" => raw.names = value(&mut it),
            "SUP" => raw.sup = one(value(&mut it)),
            "EQUALITY" => raw.equality = one(value(&mut it)),
            "ORDERING" => raw.ordering = one(value(&mut it)),
            "SUBSTR" => raw.substr = one(value(&mut it)),
            "SYNTAX" => raw.syntax = one(value(&mut it)),
            "SINGLE-VALUE" => raw.single_value = true,
            "OBSOLETE" | "COLLECTIVE" | "NO-USER-MODIFICATION" => {}
            _ => {
                // DESC, USAGE, X-... take one value.
                if !matches!(it.peek(), Some(Tok::Close) | None) {
                    let _ = value(&mut it);
                }
            }
        }
    }
    Some(raw)
}

/// `1.3.6.1.4.1.1466.115.121.1.15{32768}` without its length bound.
fn strip_len(s: &str) -> &str {
    s.split('{').next().unwrap_or(s)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// RFC 4512 §4.1.2 descriptions as OpenLDAP and Active Directory publish them.
    #[test]
    fn parses_descriptions_and_follows_sup() {
        let s = DirSchema::parse([
            "( 2.5.4.41 NAME 'name' DESC 'RFC4519: common supertype of name attributes' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{32768} )",
            "( 2.5.4.12 NAME 'title' DESC 'RFC2256: title associated with the entity' SUP name )",
            "( 0.9.2342.19200300.100.1.1 NAME ( 'uid' 'userid' ) DESC 'RFC1274: user identifier' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{256} )",
            "( 2.5.18.1 NAME 'createTimestamp' EQUALITY generalizedTimeMatch ORDERING generalizedTimeOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.24 SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )",
            "( 1.2.840.113556.1.4.221 NAME 'sAMAccountName' SYNTAX '1.3.6.1.4.1.1466.115.121.1.15' SINGLE-VALUE )",
            "( 1.2.840.113556.1.4.98 NAME 'uSNChanged' SYNTAX '1.2.840.113556.1.4.906' SINGLE-VALUE NO-USER-MODIFICATION )",
            "garbage",
        ]);
        let title = s.get("TITLE").unwrap();
        assert_eq!(
            (title.eq, title.substr, title.single_value),
            (EqRule::CaseIgnore, SubstrRule::CaseIgnore, false)
        );
        assert_eq!(s.get("userid").unwrap().eq, EqRule::CaseIgnore);
        let ts = s.get("createTimestamp").unwrap();
        assert!(ts.ordering && ts.single_value && ts.syntax == Syntax::GeneralizedTime);
        let sam = s.get("samaccountname").unwrap();
        assert_eq!((sam.eq, sam.substr), (EqRule::CaseIgnore, SubstrRule::CaseIgnore));
        assert_eq!(s.get("uSNChanged").unwrap().eq, EqRule::Other);
        assert!(s.get("userCertificate;binary").is_none());
    }
}
