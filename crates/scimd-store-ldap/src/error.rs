//! LDAP failures as [`StoreError`]s: connection failures name the URL; result codes (RFC 4511
//! Appendix A) are mapped where callers branch on them.

use ldap3::LdapResult;
use ldap3::result::LdapError;
use scimd_store::{ResourceKind, StoreError};

/// RFC 4511 Appendix A result codes the store branches on.
pub(crate) mod rc {
    pub(crate) const SIZE_LIMIT_EXCEEDED: u32 = 4;
    pub(crate) const ADMIN_LIMIT_EXCEEDED: u32 = 11;
    pub(crate) const NO_SUCH_ATTRIBUTE: u32 = 16;
    pub(crate) const UNDEFINED_ATTRIBUTE_TYPE: u32 = 17;
    pub(crate) const CONSTRAINT_VIOLATION: u32 = 19;
    pub(crate) const ATTRIBUTE_OR_VALUE_EXISTS: u32 = 20;
    pub(crate) const INVALID_ATTRIBUTE_SYNTAX: u32 = 21;
    pub(crate) const NO_SUCH_OBJECT: u32 = 32;
    pub(crate) const INVALID_DN_SYNTAX: u32 = 34;
    pub(crate) const BUSY: u32 = 51;
    pub(crate) const UNAVAILABLE: u32 = 52;
    pub(crate) const NAMING_VIOLATION: u32 = 64;
    pub(crate) const OBJECT_CLASS_VIOLATION: u32 = 65;
    pub(crate) const NOT_ALLOWED_ON_NON_LEAF: u32 = 66;
    pub(crate) const NOT_ALLOWED_ON_RDN: u32 = 67;
    pub(crate) const ENTRY_ALREADY_EXISTS: u32 = 68;
    pub(crate) const OBJECT_CLASS_MODS_PROHIBITED: u32 = 69;
    pub(crate) const INAPPROPRIATE_MATCHING: u32 = 18;
    pub(crate) const ASSERTION_FAILED: u32 = 122;
}

/// Whether a client error means the connection is gone (or hung): the connection is dropped
/// and the store is unavailable for this operation.
pub(crate) fn is_connection_error(e: &LdapError) -> bool {
    matches!(
        e,
        LdapError::Io { .. }
            | LdapError::OpSend { .. }
            | LdapError::ResultRecv { .. }
            | LdapError::IdScrubSend { .. }
            | LdapError::MiscSend { .. }
            | LdapError::Timeout { .. }
            | LdapError::EndOfStream
            | LdapError::Rustls { .. }
            | LdapError::DNSName { .. }
    )
}

/// A client-side failure: connection problems are [`StoreError::Unavailable`] naming the URL.
pub(crate) fn client(url: &str, e: LdapError) -> StoreError {
    match e {
        LdapError::LdapResult { result } => StoreError::Backend(format!("{url}: {}", describe(&result))),
        LdapError::Timeout { .. } => {
            StoreError::Unavailable(format!("the directory at {url} did not answer in time"))
        }
        e if is_connection_error(&e) => {
            StoreError::Unavailable(format!("cannot reach the directory at {url}: {e}"))
        }
        e => StoreError::Backend(format!("{url}: {e}")),
    }
}

/// A failure of the read path's client: connection problems are [`StoreError::Unavailable`]
/// naming the URL.
pub(crate) fn wire(url: &str, e: crate::wire::Error) -> StoreError {
    use crate::wire::Error;
    match e {
        Error::Io(e) => StoreError::Unavailable(format!("cannot reach the directory at {url}: {e}")),
        Error::Timeout => StoreError::Unavailable(format!("the directory at {url} did not answer in time")),
        Error::Malformed => {
            StoreError::Backend(format!("{url}: the directory sent a reply that is not LDAP"))
        }
        Error::Refused(what, r) => {
            StoreError::Unavailable(format!("{what} to the directory at {url} failed: {}", describe(&r)))
        }
        Error::Setup(why) => StoreError::Unavailable(why),
        Error::Filter(bad) => StoreError::Backend(format!("{url}: a filter is {bad}")),
    }
}

/// `result N (text)`.
pub(crate) fn describe(r: &LdapResult) -> String {
    if r.text.is_empty() {
        format!("LDAP result {}", r.rc)
    } else {
        format!("LDAP result {}: {}", r.rc, r.text)
    }
}

/// What a write was about, for the errors its result maps to.
pub(crate) struct Op<'a> {
    pub(crate) url: &'a str,
    pub(crate) kind: ResourceKind,
    pub(crate) id: Option<&'a str>,
    /// The claim that names the resource (a DN clash is a conflict on it).
    pub(crate) name_claim: &'a str,
    /// The attributes written, named when the directory's message does not.
    pub(crate) attributes: &'a [String],
}

/// A non-success result of a write or read as a [`StoreError`].
pub(crate) fn result(op: &Op<'_>, r: &LdapResult) -> StoreError {
    let refused = || {
        let mut msg = format!("the directory refused the {:?}: {}", op.kind, r.text.trim());
        let named = op.attributes.iter().any(|a| r.text.to_lowercase().contains(&a.to_lowercase()));
        if (r.text.trim().is_empty() || !named) && !op.attributes.is_empty() {
            msg.push_str(&format!(" (attributes written: {})", op.attributes.join(", ")));
        }
        StoreError::Rejected(msg)
    };
    match r.rc {
        rc::ENTRY_ALREADY_EXISTS => StoreError::Conflict { claim: op.name_claim.to_owned() },
        rc::CONSTRAINT_VIOLATION if r.text.to_lowercase().contains("unique") => {
            StoreError::Conflict { claim: op.name_claim.to_owned() }
        }
        rc::NO_SUCH_OBJECT => {
            StoreError::NotFound { kind: op.kind, id: op.id.unwrap_or_default().to_owned() }
        }
        rc::OBJECT_CLASS_VIOLATION
        | rc::UNDEFINED_ATTRIBUTE_TYPE
        | rc::INVALID_ATTRIBUTE_SYNTAX
        | rc::CONSTRAINT_VIOLATION
        | rc::INAPPROPRIATE_MATCHING
        | rc::NAMING_VIOLATION
        | rc::NOT_ALLOWED_ON_NON_LEAF
        | rc::NOT_ALLOWED_ON_RDN
        | rc::OBJECT_CLASS_MODS_PROHIBITED
        | rc::ATTRIBUTE_OR_VALUE_EXISTS
        | rc::NO_SUCH_ATTRIBUTE
        | rc::INVALID_DN_SYNTAX => refused(),
        rc::BUSY | rc::UNAVAILABLE => {
            StoreError::Unavailable(format!("the directory at {} is unavailable: {}", op.url, describe(r)))
        }
        _ => StoreError::Backend(format!("{}: {}", op.url, describe(r))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn res(rc: u32, text: &str) -> LdapResult {
        LdapResult { rc, matched: String::new(), text: text.into(), refs: vec![], ctrls: vec![] }
    }

    /// The read path's failures: the unreachable and the refused are unavailable, naming the
    /// URL (and the bind DN); what is not LDAP is a backend fault.
    #[test]
    fn read_path_failures_name_the_directory() {
        use crate::wire::Error;
        let url = "ldap://dir:389";
        let refused = LdapResult {
            rc: 49,
            matched: String::new(),
            text: "invalid credentials".to_owned(),
            refs: Vec::new(),
            ctrls: Vec::new(),
        };
        for (e, unavailable, says) in [
            (
                Error::Io(std::io::ErrorKind::ConnectionRefused.into()),
                true,
                "cannot reach the directory at ldap://dir:389",
            ),
            (Error::Timeout, true, "did not answer in time"),
            (
                Error::Refused("binding as cn=s".to_owned(), Box::new(refused)),
                true,
                "binding as cn=s to the directory at ldap://dir:389 failed: LDAP result 49: invalid credentials",
            ),
            (Error::Malformed, false, "ldap://dir:389: the directory sent a reply that is not LDAP"),
        ] {
            match wire(url, e) {
                StoreError::Unavailable(m) if unavailable => assert!(m.contains(says), "{m}"),
                StoreError::Backend(m) if !unavailable => assert!(m.contains(says), "{m}"),
                other => panic!("{other:?}"),
            }
        }
    }

    /// RFC 4511 Appendix A: the codes callers branch on.
    #[test]
    fn maps_result_codes_to_store_errors() {
        let attrs = ["uid".to_owned(), "sn".to_owned()];
        let op = Op {
            url: "ldap://x",
            kind: ResourceKind::User,
            id: Some("i"),
            name_claim: "urn:scimd:claims:userName",
            attributes: &attrs,
        };
        assert!(
            matches!(result(&op, &res(68, "")), StoreError::Conflict { claim } if claim == "urn:scimd:claims:userName")
        );
        assert!(matches!(result(&op, &res(19, "some attributes not unique")), StoreError::Conflict { .. }));
        assert!(matches!(result(&op, &res(32, "")), StoreError::NotFound { .. }));
        let e = result(&op, &res(65, "object class 'inetOrgPerson' requires attribute 'sn'"));
        assert!(
            matches!(&e, StoreError::Rejected(m) if m.contains("'sn'") && !m.contains("attributes written")),
            "{e}"
        );
        let e = result(&op, &res(21, ""));
        assert!(matches!(&e, StoreError::Rejected(m) if m.contains("uid, sn")), "{e}");
        assert!(matches!(result(&op, &res(52, "")), StoreError::Unavailable(_)));
        assert!(matches!(result(&op, &res(80, "x")), StoreError::Backend(_)));
    }
}
