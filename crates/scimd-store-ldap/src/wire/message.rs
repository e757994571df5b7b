//! The LDAP messages of the read path (RFC 4511 §4): requests written, responses read.

use ldap3::LdapResult;

use super::ber::{BOOLEAN, ENUMERATED, INTEGER, Malformed, OCTET_STRING, Reader, SEQUENCE, Writer};
use super::filter::{self, BadFilter};

const BIND_REQUEST: u8 = 0x60;
pub(crate) const BIND_RESPONSE: u8 = 0x61;
const SEARCH_REQUEST: u8 = 0x63;
pub(crate) const SEARCH_RESULT_ENTRY: u8 = 0x64;
pub(crate) const SEARCH_RESULT_DONE: u8 = 0x65;
pub(crate) const SEARCH_RESULT_REFERENCE: u8 = 0x73;
const ABANDON_REQUEST: u8 = 0x50;
const EXTENDED_REQUEST: u8 = 0x77;
pub(crate) const EXTENDED_RESPONSE: u8 = 0x78;
pub(crate) const INTERMEDIATE_RESPONSE: u8 = 0x79;
const CONTROLS: u8 = 0xa0;
const SIMPLE_AUTH: u8 = 0x80;
const EXTENDED_NAME: u8 = 0x80;
const REFERRAL: u8 = 0xa3;

/// The simple paged results control (RFC 2696).
pub(crate) const PAGED_RESULTS_OID: &str = "1.2.840.113556.1.4.319";
/// StartTLS (RFC 4511 §4.14).
pub(crate) const START_TLS_OID: &str = "1.3.6.1.4.1.1466.20037";

/// RFC 4511 §4.5.1.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Base = 0,
    Subtree = 2,
}

/// A search request (derefAliases neverDerefAliases, no time limit, values wanted).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Search<'a> {
    pub(crate) base: &'a str,
    pub(crate) scope: Scope,
    pub(crate) filter: &'a str,
    pub(crate) attrs: &'a [String],
    /// 0: none.
    pub(crate) size_limit: i32,
    /// The paged results control: the page size and the cookie of the page before.
    pub(crate) page: Option<(i32, &'a [u8])>,
}

/// `LDAPMessage` around the operation `inner` writes, with `controls`.
fn message(id: i32, capacity: usize, inner: impl FnOnce(&mut Writer)) -> Vec<u8> {
    let mut w = Writer::with_capacity(capacity);
    w.nest(SEQUENCE, |w| {
        w.integer(INTEGER, i64::from(id));
        inner(w);
    });
    w.into_bytes()
}

pub(crate) fn bind(id: i32, dn: &str, secret: &str) -> Vec<u8> {
    message(id, 32 + dn.len() + secret.len(), |w| {
        w.nest(BIND_REQUEST, |w| {
            w.integer(INTEGER, 3);
            w.bytes(OCTET_STRING, dn.as_bytes());
            w.bytes(SIMPLE_AUTH, secret.as_bytes());
        });
    })
}

pub(crate) fn start_tls(id: i32) -> Vec<u8> {
    message(id, 40, |w| w.nest(EXTENDED_REQUEST, |w| w.bytes(EXTENDED_NAME, START_TLS_OID.as_bytes())))
}

pub(crate) fn abandon(id: i32, which: i32) -> Vec<u8> {
    message(id, 16, |w| w.integer(ABANDON_REQUEST, i64::from(which)))
}

pub(crate) fn search(id: i32, s: &Search<'_>) -> Result<Vec<u8>, BadFilter> {
    let capacity =
        64 + s.base.len() + 2 * s.filter.len() + s.attrs.iter().map(|a| a.len() + 2).sum::<usize>();
    let mut result = Ok(());
    let bytes = message(id, capacity, |w| {
        w.nest(SEARCH_REQUEST, |w| {
            w.bytes(OCTET_STRING, s.base.as_bytes());
            w.integer(ENUMERATED, s.scope as i64);
            w.integer(ENUMERATED, 0);
            w.integer(INTEGER, i64::from(s.size_limit));
            w.integer(INTEGER, 0);
            w.boolean(BOOLEAN, false);
            result = filter::encode(s.filter, w);
            w.nest(SEQUENCE, |w| {
                for a in s.attrs {
                    w.bytes(OCTET_STRING, a.as_bytes());
                }
            });
        });
        if let Some((size, cookie)) = s.page {
            w.nest(CONTROLS, |w| {
                w.nest(SEQUENCE, |w| {
                    w.bytes(OCTET_STRING, PAGED_RESULTS_OID.as_bytes());
                    w.nest(OCTET_STRING, |w| {
                        w.nest(SEQUENCE, |w| {
                            w.integer(INTEGER, i64::from(size));
                            w.bytes(OCTET_STRING, cookie);
                        });
                    });
                });
            });
        }
    });
    result.map(|()| bytes)
}

/// A response: its message id, the tag and content of its operation, and its controls.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Response<'a> {
    pub(crate) id: i32,
    pub(crate) op: u8,
    pub(crate) content: &'a [u8],
    pub(crate) controls: Option<&'a [u8]>,
}

/// Reads one `LDAPMessage` (its whole encoding).
pub(crate) fn response(bytes: &[u8]) -> Result<Response<'_>, Malformed> {
    let mut outer = Reader::new(bytes);
    let mut msg = outer.enter(SEQUENCE)?;
    let id = i32::try_from(msg.integer(INTEGER)?).map_err(|_| Malformed)?;
    let (op, content) = msg.any()?;
    let controls = msg.optional(CONTROLS)?;
    Ok(Response { id, op, content, controls })
}

/// The `LDAPResult` of a response's content (RFC 4511 §4.1.9), as ldap3 gives it (without
/// controls).
pub(crate) fn result(content: &[u8]) -> Result<LdapResult, Malformed> {
    let mut r = Reader::new(content);
    let rc = u32::try_from(r.integer(ENUMERATED)?).map_err(|_| Malformed)?;
    let matched = String::from_utf8_lossy(r.expect(OCTET_STRING)?).into_owned();
    let text = String::from_utf8_lossy(r.expect(OCTET_STRING)?).into_owned();
    let mut refs = Vec::new();
    if let Some(referral) = r.optional(REFERRAL)? {
        let mut urls = Reader::new(referral);
        while !urls.is_empty() {
            refs.push(String::from_utf8_lossy(urls.expect(OCTET_STRING)?).into_owned());
        }
    }
    Ok(LdapResult { rc, matched, text, refs, ctrls: Vec::new() })
}

/// The cookie of the paged results control among `controls`, if it is there.
pub(crate) fn paged_cookie(controls: &[u8]) -> Result<Option<&[u8]>, Malformed> {
    let mut list = Reader::new(controls);
    while !list.is_empty() {
        let mut control = list.enter(SEQUENCE)?;
        let oid = control.expect(OCTET_STRING)?;
        control.optional(BOOLEAN)?;
        let value = control.optional(OCTET_STRING)?;
        if oid == PAGED_RESULTS_OID.as_bytes() {
            let mut v = Reader::new(value.ok_or(Malformed)?).enter(SEQUENCE)?;
            v.integer(INTEGER)?;
            return v.expect(OCTET_STRING).map(Some);
        }
    }
    Ok(None)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// RFC 4511 §4.2: version 3, the name, simple authentication [0].
    #[test]
    fn a_bind_request_is_written_as_rfc_4511_lays_it_out() {
        assert_eq!(
            bind(1, "cn=a", "pw"),
            [
                0x30, 0x12, 0x02, 1, 1, 0x60, 0x0d, 0x02, 1, 3, 0x04, 4, b'c', b'n', b'=', b'a', 0x80, 2,
                b'p', b'w'
            ]
        );
    }

    /// RFC 4511 §4.5.1 and RFC 2696 §2: every field in order, the control after the operation.
    #[test]
    fn a_search_request_holds_its_fields_in_order_and_the_paging_control() {
        let attrs = ["uid".to_owned(), "+".to_owned()];
        let s = Search {
            base: "dc=x",
            scope: Scope::Subtree,
            filter: "(uid=kim)",
            attrs: &attrs,
            size_limit: 17,
            page: Some((500, b"ck")),
        };
        let bytes = search(7, &s).unwrap();
        let mut r = Reader::new(&bytes);
        let mut msg = r.enter(SEQUENCE).unwrap();
        assert!(r.is_empty());
        assert_eq!(msg.integer(INTEGER), Ok(7));
        let mut req = msg.enter(SEARCH_REQUEST).unwrap();
        assert_eq!(req.expect(OCTET_STRING), Ok(&b"dc=x"[..]));
        assert_eq!(req.integer(ENUMERATED), Ok(2));
        assert_eq!(req.integer(ENUMERATED), Ok(0));
        assert_eq!(req.integer(INTEGER), Ok(17));
        assert_eq!(req.integer(INTEGER), Ok(0));
        assert_eq!(req.expect(BOOLEAN), Ok(&[0][..]));
        assert_eq!(req.expect(0xa3), Ok(&[0x04, 3, b'u', b'i', b'd', 0x04, 3, b'k', b'i', b'm'][..]));
        let mut list = req.enter(SEQUENCE).unwrap();
        assert_eq!(list.expect(OCTET_STRING), Ok(&b"uid"[..]));
        assert_eq!(list.expect(OCTET_STRING), Ok(&b"+"[..]));
        assert!(list.is_empty() && req.is_empty());
        let controls = msg.expect(CONTROLS).unwrap();
        assert!(msg.is_empty());
        let mut control = Reader::new(controls).enter(SEQUENCE).unwrap();
        assert_eq!(control.expect(OCTET_STRING), Ok(PAGED_RESULTS_OID.as_bytes()));
        let mut value = Reader::new(control.expect(OCTET_STRING).unwrap()).enter(SEQUENCE).unwrap();
        assert_eq!(value.integer(INTEGER), Ok(500));
        assert_eq!(value.expect(OCTET_STRING), Ok(&b"ck"[..]));
        assert!(search(1, &Search { filter: "uid=kim", ..s }).is_err());
    }

    /// RFC 4511 §4.1.9 and RFC 2696 §2: a search's done with a referral and a paging cookie.
    #[test]
    fn a_result_reads_its_code_texts_referrals_and_paging_cookie() {
        let mut w = Writer::default();
        w.nest(SEQUENCE, |w| {
            w.integer(INTEGER, 9);
            w.nest(SEARCH_RESULT_DONE, |w| {
                w.integer(ENUMERATED, 10);
                w.bytes(OCTET_STRING, b"dc=x");
                w.bytes(OCTET_STRING, b"go elsewhere");
                w.nest(REFERRAL, |w| w.bytes(OCTET_STRING, b"ldap://b/"));
            });
            w.nest(CONTROLS, |w| {
                w.nest(SEQUENCE, |w| {
                    w.bytes(OCTET_STRING, b"1.2.3");
                    w.boolean(BOOLEAN, true);
                });
                w.nest(SEQUENCE, |w| {
                    w.bytes(OCTET_STRING, PAGED_RESULTS_OID.as_bytes());
                    w.nest(OCTET_STRING, |w| {
                        w.nest(SEQUENCE, |w| {
                            w.integer(INTEGER, 0);
                            w.bytes(OCTET_STRING, b"next");
                        })
                    });
                });
            });
        });
        let bytes = w.into_bytes();
        let r = response(&bytes).unwrap();
        assert_eq!((r.id, r.op), (9, SEARCH_RESULT_DONE));
        let res = result(r.content).unwrap();
        assert_eq!((res.rc, res.matched.as_str(), res.text.as_str()), (10, "dc=x", "go elsewhere"));
        assert_eq!(res.refs, ["ldap://b/"]);
        assert_eq!(paged_cookie(r.controls.unwrap()), Ok(Some(&b"next"[..])));
        assert_eq!(paged_cookie(&[]), Ok(None));
        assert!(response(&bytes[..bytes.len() - 1]).is_err());
    }
}
