//! RFC 9865 cursors: an opaque position in a query's order.
//!
//! A cursor is base64url (no padding) of a small JSON object and a digest of it: the kind of
//! resource the position is in (a root `/.search` walks Users, then Groups), a digest of the
//! query it belongs to (scope, filter, sort), the position ([`Keyset`]: the sort value, if
//! sorted, and the creation sequence number of the last resource seen), the direction (a
//! `nextCursor` reads on after the position, a `previousCursor` back from before it; a cursor
//! without one reads on, as those issued before `previousCursor` existed), and when it was
//! issued (unix seconds). A cursor that does not decode, whose digest does not match, or that belongs
//! to another query is 400 `invalidCursor`; one older than [`TIMEOUT`] is 400 `expiredCursor`
//! (RFC 9865 §2.3).
//!
//! The digest makes an edited or truncated cursor evident; it is not a signature, and needs not
//! be: a cursor only says where a query the client may run anyway resumes.

use base64ct::{Base64UrlUnpadded, Encoding as _};
use blake2::Blake2b;
use blake2::digest::{Digest, consts::U16};
use scimd_core::{ResourceKind, ScimError, ScimType};
use scimd_store::{Keyset, SortValue};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

/// How long a cursor stays valid after it is issued (announced as `cursorTimeout`).
pub const TIMEOUT: Duration = Duration::hours(1);

/// A position in a walk among the resources of `kind`, and which way the page it names lies.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub kind: ResourceKind,
    pub position: Keyset,
    pub direction: Direction,
}

/// Which way from its position a cursor's page lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// A `nextCursor`: the page after the position.
    Forward,
    /// A `previousCursor` (RFC 9865 §2.2): the page that ends just before the position.
    Backward,
}

fn digest(parts: &[&str]) -> String {
    let mut h = Blake2b::<U16>::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The digest of a query (its scope, filter and sort, as canonical text): a cursor is valid
/// only for the query it was issued for.
pub fn query_digest(parts: &[&str]) -> String {
    digest(parts)
}

fn kind_code(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User => "u",
        ResourceKind::Group => "g",
    }
}

/// The cursor text for a position in the query `query`.
pub fn encode(cursor: &Cursor, query: &str, now: OffsetDateTime) -> String {
    let mut payload = json!({
        "v": 1,
        "k": kind_code(cursor.kind),
        "q": query,
        "s": cursor.position.seq,
        "t": now.unix_timestamp(),
    });
    if let (Direction::Backward, Some(obj)) = (cursor.direction, payload.as_object_mut()) {
        obj.insert("d".into(), json!("b"));
    }
    if let (Some(key), Some(obj)) = (&cursor.position.key, payload.as_object_mut()) {
        // Text and numbers apart: `{"n": 1}` and `{"x": "1"}` sort differently.
        let key = match key {
            SortValue::Null => Value::Null,
            SortValue::Integer(i) => json!({"i": i}),
            SortValue::Real(r) => json!({"r": r}),
            SortValue::Text(t) => json!({"x": t}),
        };
        obj.insert("key".into(), key);
    }
    let payload = payload.to_string();
    let check = digest(&["scimd cursor", &payload]);
    Base64UrlUnpadded::encode_string(format!("{payload}.{check}").as_bytes())
}

fn invalid() -> ScimError {
    ScimError::typed(
        ScimType::InvalidCursor,
        "cursor is not one this server issued for this query; send an empty cursor to start \
         a walk, then each response's nextCursor or previousCursor",
    )
}

fn sort_value(v: &Value) -> Option<SortValue> {
    if v.is_null() {
        return Some(SortValue::Null);
    }
    let obj = v.as_object().filter(|o| o.len() == 1)?;
    match obj.iter().next()? {
        (k, v) if k == "i" => v.as_i64().map(SortValue::Integer),
        (k, v) if k == "r" => v.as_f64().map(SortValue::Real),
        (k, v) if k == "x" => v.as_str().map(|s| SortValue::Text(s.to_owned())),
        _ => None,
    }
}

/// Reads a cursor issued for the query `query`.
pub fn decode(text: &str, query: &str, now: OffsetDateTime) -> Result<Cursor, ScimError> {
    let bytes = Base64UrlUnpadded::decode_vec(text.trim()).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (payload, check) = text.rsplit_once('.').ok_or_else(invalid)?;
    if digest(&["scimd cursor", payload]) != check {
        return Err(invalid());
    }
    let v: Value = serde_json::from_str(payload).map_err(|_| invalid())?;
    if v["v"] != 1 || v["q"].as_str() != Some(query) {
        return Err(invalid());
    }
    let kind = match v["k"].as_str() {
        Some("u") => ResourceKind::User,
        Some("g") => ResourceKind::Group,
        _ => return Err(invalid()),
    };
    let direction = match v.get("d").map(Value::as_str) {
        None => Direction::Forward,
        Some(Some("b")) => Direction::Backward,
        Some(_) => return Err(invalid()),
    };
    let seq = v["s"].as_i64().ok_or_else(invalid)?;
    let issued = v["t"].as_i64().ok_or_else(invalid)?;
    let key = match v.get("key") {
        None => None,
        Some(k) => Some(sort_value(k).ok_or_else(invalid)?),
    };
    if now.unix_timestamp().saturating_sub(issued) > TIMEOUT.whole_seconds() {
        return Err(ScimError::typed(
            ScimType::ExpiredCursor,
            format!("cursor has expired: request each next page within {} seconds", TIMEOUT.whole_seconds()),
        ));
    }
    Ok(Cursor { kind, position: Keyset { key, seq }, direction })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(secs).unwrap()
    }

    fn forward(kind: ResourceKind, seq: i64) -> Cursor {
        Cursor { kind, position: Keyset { key: None, seq }, direction: Direction::Forward }
    }

    /// The payload of a cursor, edited by `edit`, with its digest made again (as only this
    /// server would).
    fn reissued(text: &str, edit: impl FnOnce(&mut Value)) -> String {
        let raw = String::from_utf8(Base64UrlUnpadded::decode_vec(text).unwrap()).unwrap();
        let (payload, _) = raw.rsplit_once('.').unwrap();
        let mut v: Value = serde_json::from_str(payload).unwrap();
        edit(&mut v);
        let payload = v.to_string();
        let check = digest(&["scimd cursor", &payload]);
        Base64UrlUnpadded::encode_string(format!("{payload}.{check}").as_bytes())
    }

    /// RFC 9865 §2.2: a cursor issued before `previousCursor` existed (no direction) still
    /// reads on; an unknown direction is `invalidCursor`.
    #[test]
    fn cursor_without_a_direction_reads_forward() {
        let q = query_digest(&["/Users"]);
        let backward = Cursor { direction: Direction::Backward, ..forward(ResourceKind::User, 9) };
        let text = encode(&backward, &q, at(1000));
        let old = reissued(&text, |v| {
            v.as_object_mut().unwrap().remove("d");
        });
        assert_eq!(decode(&old, &q, at(1000)).unwrap(), forward(ResourceKind::User, 9));
        let odd = reissued(&text, |v| v["d"] = json!("sideways"));
        assert_eq!(decode(&odd, &q, at(1000)).unwrap_err().scim_type, Some(ScimType::InvalidCursor));
    }

    /// RFC 9865 §2.3: a cursor reads back as issued, for its own query only.
    #[test]
    fn cursor_round_trips_for_its_query_only() {
        let q = query_digest(&["/Users", "userName sw \"a\""]);
        for key in
            [None, Some(SortValue::Null), Some(SortValue::Integer(3)), Some(SortValue::Text("1.5".into()))]
        {
            for direction in [Direction::Forward, Direction::Backward] {
                let c = Cursor {
                    kind: ResourceKind::Group,
                    position: Keyset { key: key.clone(), seq: 42 },
                    direction,
                };
                let text = encode(&c, &q, at(1000));
                assert_eq!(decode(&text, &q, at(1010)).unwrap(), c);
            }
        }
        let text = encode(&forward(ResourceKind::Group, 42), &q, at(1000));
        let other = query_digest(&["/Users", "userName sw \"b\""]);
        assert_eq!(decode(&text, &other, at(1010)).unwrap_err().scim_type, Some(ScimType::InvalidCursor));
    }

    /// RFC 9865 §2.3: an edited cursor is `invalidCursor`, an old one `expiredCursor`.
    #[test]
    fn cursor_rejects_tampering_and_expiry() {
        let q = query_digest(&["/Users"]);
        let text = encode(&forward(ResourceKind::User, 7), &q, at(1000));
        let raw = String::from_utf8(Base64UrlUnpadded::decode_vec(&text).unwrap()).unwrap();
        let forged = Base64UrlUnpadded::encode_string(raw.replacen("\"s\":7", "\"s\":8", 1).as_bytes());
        assert_ne!(forged, text);
        assert_eq!(decode(&forged, &q, at(1000)).unwrap_err().scim_type, Some(ScimType::InvalidCursor));
        assert_eq!(
            decode("not a cursor", &q, at(1000)).unwrap_err().scim_type,
            Some(ScimType::InvalidCursor)
        );
        let late = at(1000 + TIMEOUT.whole_seconds() + 1);
        assert_eq!(decode(&text, &q, late).unwrap_err().scim_type, Some(ScimType::ExpiredCursor));
    }
}
