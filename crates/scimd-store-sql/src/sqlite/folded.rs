//! Comparisons on columns that hold a folded string (`scimd_lower` of the value; NULL where there
//! is no string value): the `_ci` columns of `resources` and the columns of `user_emails`. With
//! the value folded once when written, a comparison is plain SQL on the column, and an equality
//! or a prefix (`sw`) is an index lookup or range.
//!
//! `name.familyName` (users) is answered here from `resources.family_name_ci`, and `members.value
//! eq` (groups) from the ids of members: `resources.id` (kept folded) and
//! `external_members.member_id_ci`.

use rusqlite::types::Value as SqlValue;
use scimd_claims::claims::FAMILY_NAME;
use scimd_claims::filter::{ClaimPath, Collection, MemberField};
use scimd_core::filter::{CompValue, CompareOp};
use scimd_core::schema::AttrType;
use scimd_store::{ClaimFilter, ResourceKind};

use super::filter::Compiled;
use super::resource::fold_case;

/// A filter on a user's `name.familyName` at the top of a filter, from its folded column; `None`
/// for anything else (a caseExact comparison, another type), which the JSON compiler answers.
/// `negated`: whether it stands under a NOT, where it must be 0 rather than NULL for a user with
/// no family name (see `filter::push`); elsewhere `eq` and `sw` are the bare index condition.
pub(crate) fn compile_family_name(
    kind: ResourceKind,
    filter: &ClaimFilter,
    negated: bool,
) -> Option<Compiled> {
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
    // `eq` and `sw` as conditions an index reads (a value, a range), exact as they stand; under
    // a NOT, `IS NOT NULL` makes them 0, never NULL, where there is no family name (so NOT is
    // exact). Elsewhere it is left out: tested on every row of the range, it cost a count of
    // 12,500 names a third of its time.
    let guard = if negated { format!("{column} IS NOT NULL") } else { "1".to_owned() };
    match (op, value) {
        (CompareOp::Eq, CompValue::Str(s)) => {
            out.sql.push_str(&format!("({column} = ? AND {guard})"));
            out.params.push(SqlValue::Text(fold_case(s)));
        }
        (CompareOp::Sw, CompValue::Str(prefix)) => {
            out.sql.push('(');
            prefix_range(column, &fold_case(prefix), &mut out);
            out.sql.push_str(&format!("{guard})"));
        }
        _ => compare(column, *op, value, false, &mut out)?,
    }
    Some(out)
}

/// `members.value eq "x"`, alone or as `members[value eq "x"]`, at the top of a filter of groups:
/// the groups that the member's id names, through the unique index on `resources.id` (ids are
/// kept folded, so the folded value finds an id without regard to case) and the index on the
/// ids of members of other domains; never a read of every group's members.
pub(crate) fn compile_member_value(kind: ResourceKind, filter: &ClaimFilter) -> Option<Compiled> {
    let compare = match filter {
        ClaimFilter::ElementMatch { of: Collection::Members, filter } => filter.as_ref(),
        other => other,
    };
    let ClaimFilter::Compare {
        path: ClaimPath::Member(MemberField::Value),
        op: CompareOp::Eq,
        value: CompValue::Str(value),
        case_exact,
        ..
    } = compare
    else {
        return None;
    };
    if kind != ResourceKind::Group {
        return None;
    }
    let (other_domains, value) =
        if *case_exact { ("e.member_id", value.clone()) } else { ("e.member_id_ci", fold_case(value)) };
    let mut out = Compiled::default();
    out.sql.push_str(&format!(
        "r.seq IN (SELECT m.group_seq FROM resources AS x JOIN members AS m ON m.member_seq = x.seq \
         WHERE x.id = ? UNION ALL SELECT e.group_seq FROM external_members AS e WHERE {other_domains} = ?)"
    ));
    out.params.extend([SqlValue::Text(value.clone()), SqlValue::Text(value)]);
    Some(out)
}

/// Whether the filter reads an index range of a folded column (`name.familyName eq` / `sw`):
/// how many rows that range holds decides the first page's plan (read.rs).
pub(crate) fn reads_an_index_range(kind: ResourceKind, filter: &ClaimFilter) -> bool {
    matches!(filter, ClaimFilter::Compare { op: CompareOp::Eq | CompareOp::Sw, value: CompValue::Str(_), .. })
        && compile_family_name(kind, filter, false).is_some()
}

/// `column` within the range of the strings that start with `prefix` (folded), followed by ` AND
/// `: what lets `sw` read an index range. The range holds exactly those strings (with no upper
/// bound, every string at or above the prefix starts with it: the empty prefix, or one of only
/// U+10FFFF, the greatest character).
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
/// the JSON compiler's `text_cond` gives on the value: a condition that is 0 or 1, never NULL
/// (unless `bare`, where NULL stands for false: a condition not under a NOT, which an index can
/// then read); `ne` holds where there is no such value. `None` for a value that is not a string
/// or null.
pub(crate) fn compare(
    c: &str,
    op: CompareOp,
    value: &CompValue,
    bare: bool,
    out: &mut Compiled,
) -> Option<()> {
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
    match sql.strip_prefix("coalesce(").and_then(|c| c.strip_suffix(", 0)")) {
        Some(cond) if bare => out.sql.push_str(&format!("({cond})")),
        _ => out.sql.push_str(&sql),
    }
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
