//! Instants as the SQL stores keep them: RFC 3339 text in UTC with nine fractional digits
//! (`2024-02-29T21:59:58.123456789Z`), so that the text sorts in time order and what is stored
//! is exactly what is read back (PostgreSQL's `timestamptz` would keep microseconds only). The
//! stores' SQL function `scimd_instant` computes the same text.

use time::format_description::FormatItem;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

use crate::{StoreError, StoreResult};

const TIME_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z");

/// A time as the stores keep it: in UTC (the instant is unchanged). A time whose UTC date falls
/// outside the years `time` can represent is refused, never a panic on a client's value.
pub fn to_utc(t: OffsetDateTime) -> StoreResult<OffsetDateTime> {
    t.checked_to_offset(UtcOffset::UTC)
        .ok_or_else(|| StoreError::Backend(format!("unstorable time {t}: out of range in UTC")))
}

/// The stored text of a time.
pub fn format_time(t: OffsetDateTime) -> StoreResult<String> {
    to_utc(t)?.format(TIME_FORMAT).map_err(|e| StoreError::Backend(format!("unstorable time: {e}")))
}

/// A stored time, read back in UTC.
pub fn parse_time(s: &str) -> StoreResult<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok().and_then(|t| t.checked_to_offset(UtcOffset::UTC)).ok_or_else(
        || StoreError::Backend(format!("unexpected stored data: stored time {s:?} is not RFC 3339")),
    )
}

/// An RFC 3339 date-time as the stored text (what `scimd_instant` computes in SQL); one without
/// an offset is taken as UTC, as the evaluator does. `None` for text that is not one, and for an
/// instant whose UTC year is outside 0000-9999 (its text would not sort).
pub fn instant(s: &str) -> Option<String> {
    let t = OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .or_else(|| OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339).ok())?;
    let utc = t.checked_to_offset(UtcOffset::UTC)?;
    if !(0..=9999).contains(&utc.year()) {
        return None;
    }
    utc.format(TIME_FORMAT).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn time_round_trips_exactly_and_in_utc() {
        let t = datetime!(2024-02-29 23:59:58.123456789 +02:00);
        let text = format_time(t).unwrap();
        assert_eq!(text, "2024-02-29T21:59:58.123456789Z");
        let back = parse_time(&text).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.offset(), UtcOffset::UTC);
    }

    /// RFC 3339 §5.6, as the evaluator reads it: offsets normalised, no offset taken as UTC.
    #[test]
    fn instants_are_canonical_utc_text() {
        assert_eq!(instant("2024-01-01T01:00:00+01:00").as_deref(), Some("2024-01-01T00:00:00.000000000Z"));
        assert_eq!(instant("2024-01-01T00:00:00.5").as_deref(), Some("2024-01-01T00:00:00.500000000Z"));
        assert_eq!(instant("2024-02-30T00:00:00Z"), None);
        assert_eq!(instant("bjensen"), None);
        assert_eq!(instant("0000-01-01T00:00:00+01:00"), None, "UTC year -1 is left out, as in SQL");
    }

    #[test]
    fn a_time_out_of_range_in_utc_is_refused_not_a_panic() {
        // RFC 7643 §2.3.5 allows any offset; 9999-12-31T23:30:00-01:00 is in year 10000 in UTC.
        let t = OffsetDateTime::parse("9999-12-31T23:30:00-01:00", &Rfc3339)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        assert!(format_time(t).is_err());
        assert!(to_utc(t).is_err());
        assert_eq!(instant("9999-12-31T23:30:00-01:00"), None);
    }
}
