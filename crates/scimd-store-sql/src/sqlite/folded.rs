//! Comparisons on columns that hold a folded string (`scimd_lower` of the value; NULL where there
//! is no string value): the `_ci` columns of `resources` and the columns of `user_emails`. With
//! the value folded once when written, a comparison is plain SQL on the column, and an equality
//! or a prefix (`sw`) is an index lookup or range.
//!
//! `name.familyName` (users) is answered here from `resources.family_name_ci`.

use rusqlite::types::Value as SqlValue;
use scimd_claims::claims::FAMILY_NAME;
use scimd_claims::filter::ClaimPath;
use scimd_core::filter::{CompValue, CompareOp};
use scimd_core::schema::AttrType;
use scimd_store::{ClaimFilter, ResourceKind};

use super::filter::Compiled;
use super::resource::fold_case;

/// A filter on a user's `name.familyName` at the top of a filter, from its folded column; `None`
/// for anything else (a caseExact comparison, another type), which the JSON compiler answers.
pub(crate) fn compile_family_name(kind: ResourceKind, filter: &ClaimFilter) -> Option<Compiled> {
    let ClaimFilter::Compare {
        path: ClaimPath::Claim { claim, sub: None },
        op,
        value,
        attr_type: AttrType::String,
        case_exact: false,
    } = filter
    else {
        return None;
    };
    if kind != ResourceKind::User || claim != FAMILY_NAME {
        return None;
    }
    let column = "r.family_name_ci";
    let mut out = Compiled::default();
    out.sql.push('(');
    // A bare condition the index can read, ahead of the exact one (0 where the column is NULL,
    // so the conjunction is never NULL).
    match (op, value) {
        (CompareOp::Eq, CompValue::Str(s)) => {
            out.sql.push_str(&format!("{column} = ? AND "));
            out.params.push(SqlValue::Text(fold_case(s)));
        }
        (CompareOp::Sw, CompValue::Str(prefix)) => prefix_range(column, &fold_case(prefix), &mut out),
        _ => {}
    }
    compare(column, *op, value, &mut out)?;
    out.sql.push(')');
    Some(out)
}

/// `column` within the range of the strings that start with `prefix` (folded), followed by ` AND
/// `: what lets `sw` read an index range. The comparison itself still follows.
fn prefix_range(column: &str, prefix: &str, out: &mut Compiled) {
    out.sql.push_str(&format!("{column} >= ? AND "));
    out.params.push(SqlValue::Text(prefix.to_owned()));
    if let Some(upper) = prefix_upper_bound(prefix) {
        out.sql.push_str(&format!("{column} < ? AND "));
        out.params.push(SqlValue::Text(upper));
    }
}

/// The least string greater than every string that starts with `prefix` (in code point order,
/// which is UTF-8 byte order, SQLite's BINARY collation): the prefix with its last character
/// incremented, dropping trailing characters that cannot be. `None`: no bound (the empty prefix,
/// or only U+10FFFF).
fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        // The next scalar value: past the surrogates, which are not characters.
        let next = (u32::from(last) + 1..=0x10FFFF).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// RFC 7644 §3.4.2.2 on one folded string column (NULL: no string value there), with the answers
/// the JSON compiler's `text_cond` gives on the value: a condition that is 0 or 1, never NULL;
/// `ne` holds where there is no such value. `None` for a value that is not a string or null.
pub(crate) fn compare(c: &str, op: CompareOp, value: &CompValue, out: &mut Compiled) -> Option<()> {
    let s = match value {
        CompValue::Str(s) => fold_case(s),
        // RFC 7643 §2.5: null is unassigned.
        CompValue::Null => {
            let present = format!("coalesce({c} <> '', 0)");
            match op {
                CompareOp::Eq => out.sql.push_str(&format!("NOT {present}")),
                CompareOp::Ne => out.sql.push_str(&present),
                _ => out.sql.push('0'),
            }
            return Some(());
        }
        _ => return None,
    };
    let (sql, params) = match op {
        CompareOp::Eq => (format!("coalesce({c} = ?, 0)"), 1),
        CompareOp::Ne => (format!("coalesce({c} <> ?, 1)"), 1),
        CompareOp::Co => (format!("coalesce(instr({c}, ?) > 0, 0)"), 1),
        CompareOp::Sw => (format!("coalesce(substr({c}, 1, length(?)) = ?, 0)"), 2),
        CompareOp::Ew => (
            format!("coalesce(length({c}) >= length(?) AND substr({c}, length({c}) - length(?) + 1) = ?, 0)"),
            3,
        ),
        CompareOp::Gt => (format!("coalesce({c} > ?, 0)"), 1),
        CompareOp::Ge => (format!("coalesce({c} >= ?, 0)"), 1),
        CompareOp::Lt => (format!("coalesce({c} < ?, 0)"), 1),
        CompareOp::Le => (format!("coalesce({c} <= ?, 0)"), 1),
    };
    out.sql.push_str(&sql);
    out.params.extend(std::iter::repeat_n(SqlValue::Text(s), params));
    Some(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// Every string that starts with the prefix sorts below the bound; the bound itself does not
    /// start with it.
    #[test]
    fn the_upper_bound_of_a_prefix_is_tight() {
        assert_eq!(prefix_upper_bound("lov").as_deref(), Some("low"));
        assert_eq!(prefix_upper_bound("").as_deref(), None);
        assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("\u{10FFFF}").as_deref(), None);
        assert_eq!(prefix_upper_bound("x\u{D7FF}").as_deref(), Some("x\u{E000}"));
        for (prefix, s) in [("lov", "lovelace"), ("é", "émile"), ("σ", "σ\u{10FFFF}\u{10FFFF}")] {
            let upper = prefix_upper_bound(prefix).unwrap();
            assert!(
                s.as_bytes() < upper.as_bytes() && s.as_bytes() >= prefix.as_bytes(),
                "{s} in [{prefix}, {upper})"
            );
        }
    }
}
