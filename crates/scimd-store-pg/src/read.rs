//! Reads: get, query, memberships. Each is one statement, so each reads one snapshot: a page
//! and its total, a group and its members, a resource and its groups agree with each other.

use deadpool_postgres::{ClientWrapper, Object};
use scimd_claims::claims::GROUP_DISPLAY_NAME;
use scimd_store::{
    Before, Keyset, Member, MembersSlice, Membership, Page, ResourceKind, SortValue, StoreError, StoreQuery,
    StoredResource,
};

use crate::error::{OpResult, corrupt, from_pg};
use crate::filter::{KeyType, at_most_one, compile, compile_sort_key};
use crate::resource::{
    COLUMN_COUNT, COLUMNS, COLUMNS_OF_R, IN_GROUPS, IN_GROUPS_OF_R, MEMBER_ARRAY_COLUMN_COUNT,
    MEMBER_ARRAY_COLUMNS, MEMBER_ARRAYS_SQL, from_row, kind_code, kind_from_code, members_from_row,
};
use crate::sql::{Param, Sql};

pub(crate) async fn get(
    client: &ClientWrapper,
    kind: ResourceKind,
    id: &str,
    with_members: bool,
) -> OpResult<Option<StoredResource>> {
    let with_members = with_members && kind == ResourceKind::Group;
    let sql = if with_members {
        format!(
            "SELECT {}, {MEMBER_ARRAY_COLUMNS} FROM resources AS x {MEMBER_ARRAYS_SQL} \
             WHERE x.id = $1 AND x.kind = $2",
            COLUMNS
        )
    } else {
        format!("SELECT {} FROM resources AS x WHERE x.id = $1 AND x.kind = $2", COLUMNS)
    };
    let stmt = client.prepare_cached(&sql).await.map_err(from_pg)?;
    let Some(row) = client.query_opt(&stmt, &[&id, &kind_code(kind)]).await.map_err(from_pg)? else {
        return Ok(None);
    };
    let (_, mut resource) = from_row(&row, 0)?;
    if with_members {
        resource.members = Some(members_from_row(&row, COLUMN_COUNT)?);
    }
    Ok(Some(resource))
}

/// At most `limit` members of the group `id` after the position `after`, in the group's order,
/// and the group itself, in one statement (one snapshot): the `(group_seq, pos)` index read
/// from the position on.
pub(crate) async fn members_slice(
    client: &ClientWrapper,
    id: &str,
    after: Option<i64>,
    limit: usize,
) -> OpResult<Option<MembersSlice>> {
    let sql = format!(
        "SELECT {}, m.member_id, m.kind, m.display, m.domain, m.pos FROM resources AS x \
         LEFT JOIN LATERAL (SELECT member_id, kind, display, domain, pos FROM members \
           WHERE group_seq = x.seq AND pos > $2 ORDER BY pos LIMIT $3) AS m ON true \
         WHERE x.id = $1 AND x.kind = 2 ORDER BY m.pos",
        COLUMNS
    );
    let stmt = client.prepare_cached(&sql).await.map_err(from_pg)?;
    // One more than asked: whether members follow.
    let take = i64::try_from(limit).unwrap_or(i64::MAX - 1).saturating_add(1);
    let rows = client.query(&stmt, &[&id, &after.unwrap_or(-1), &take]).await.map_err(from_pg)?;
    let Some(first) = rows.first() else { return Ok(None) };
    let (_, group) = from_row(first, 0)?;
    let at = COLUMN_COUNT;
    let (mut members, mut positions) = (Vec::new(), Vec::new());
    for row in &rows {
        let Some(member_id) = row.try_get::<_, Option<String>>(at).map_err(from_pg)? else { continue };
        members.push(Member {
            id: member_id,
            kind: Some(kind_from_code(row.try_get(at + 1).map_err(from_pg)?)?),
            display: row.try_get(at + 2).map_err(from_pg)?,
            domain: row.try_get(at + 3).map_err(from_pg)?,
        });
        positions.push(row.try_get::<_, i64>(at + 4).map_err(from_pg)?);
    }
    Ok(Some(MembersSlice::of(group, members, &positions, limit)))
}

/// The statement of a query: the total and one page, with the page's sort keys.
///
/// ```sql
/// SELECT c.total, p.k::text, x.<columns>[, member arrays]
/// FROM (SELECT count(*) AS total FROM resources AS r WHERE r.kind = K AND <filter>) AS c
/// LEFT JOIN (<page: seq and key, ordered, LIMIT, OFFSET>) AS p ON true
/// LEFT JOIN resources AS x ON x.seq = p.seq
/// ORDER BY <the page's order>
/// ```
/// With `limit` 0, the count alone. The filter's text appears twice; its parameters are bound
/// once (they are numbered). The first page in creation order has no count (a page that is not
/// full holds every match); an equality on a unique key, not even an order or a limit.
pub(crate) fn query_sql(query: &StoreQuery, with_memberships: bool) -> OpResult<(Sql, Option<KeyType>)> {
    query.check_keyset()?;
    let mut sql = Sql::default();
    let filter = compile(query.kind, &query.filter, &mut sql)?;
    // The kind is a literal (ours, never input), so that the partial indexes apply.
    // Built with `concat`, as the first page below: `format!` cost more here than the lookup's
    // row decoding.
    let matches =
        ["FROM resources AS r WHERE r.kind = ", &kind_code(query.kind).to_string(), " AND ", &filter]
            .concat();
    if query.limit == 0 {
        sql.text = format!("SELECT count(*) {matches}");
        return Ok((sql, None));
    }
    // LIMIT and OFFSET are integers of ours, written into the statement.
    let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
    let offset = if query.by_keyset() { 0 } else { i64::try_from(query.offset).unwrap_or(i64::MAX) };
    let (member_columns, member_join) = if query.with_members && query.kind == ResourceKind::Group {
        (MEMBER_ARRAY_COLUMNS, MEMBER_ARRAYS_SQL)
    } else {
        ("", "")
    };
    let member_comma = if member_columns.is_empty() { "" } else { ", " };
    // Whether each resource belongs to any group: most belong to none, and their page needs
    // no second statement.
    let (in_groups, in_groups_of_r) = if with_memberships { (IN_GROUPS, IN_GROUPS_OF_R) } else { ("", "") };
    if query.offset == 0 && !query.by_keyset() && query.sort.is_none() {
        if member_columns.is_empty() && at_most_one(query.kind, &query.filter) {
            // An equality on a unique key (`userName eq`: the lookup before each create of
            // Entra ID and Okta): a row at most, so neither order nor limit, whose nodes cost
            // about an eighth of PostgreSQL's CPU for the lookup.
            sql.text =
                ["SELECT NULL::bigint, NULL::text, ", COLUMNS_OF_R, in_groups_of_r, " ", &matches].concat();
            return Ok((sql, None));
        }
        // The first page in creation order (`displayName eq "..."`, `emails.value eq "..."`):
        // a plain indexed scan with a LIMIT, no count. A page that is not full holds every
        // match; a full one is counted by a second statement.
        sql.text = [
            "SELECT NULL::bigint, NULL::text, ",
            COLUMNS,
            member_comma,
            member_columns,
            in_groups,
            " FROM (SELECT r.* ",
            &matches,
            " ORDER BY r.seq LIMIT ",
            &limit.to_string(),
            ") AS x ",
            member_join,
            " ORDER BY x.seq",
        ]
        .concat();
        return Ok((sql, None));
    }
    // A page deep in a listing is rarely asked for twice (keyset positions are parameters).
    sql.once = offset > 0;
    // A backward page (RFC 9865 `previousCursor`) reads the query's order reversed, back from
    // the position; the outer query puts its rows in the forward order again.
    let backward = query.before.is_some();
    let position = match (&query.after, &query.before) {
        (Some(position), _) | (None, Some(Before::Position(position))) => Some(position),
        (None, Some(Before::End) | None) => None,
    };
    let (page, order, key_type) = match &query.sort {
        None => {
            let after = match position {
                Some(position) => {
                    let op = if backward { "<" } else { ">" };
                    format!(" AND r.seq {op} {}", sql.bind(Param::Int8(position.seq)))
                }
                None => String::new(),
            };
            let dir = if backward { " DESC" } else { "" };
            (
                format!(
                    "SELECT r.seq, NULL::text AS k {matches}{after} ORDER BY r.seq{dir} LIMIT {limit} OFFSET {offset}"
                ),
                "p.seq".to_owned(),
                None,
            )
        }
        Some(key) => {
            // RFC 7644 §3.4.2.3: no value sorts last ascending, first descending; ties in
            // creation order. The key is computed once per row, in the inner subquery.
            let (key_sql, key_type) = compile_sort_key(key, &mut sql)?;
            let after = match position {
                Some(position) => keyset_sorted(position, key.descending, backward, key_type, &mut sql)?,
                None => "TRUE".to_owned(),
            };
            let (dir, nulls) = if key.descending { ("DESC", "FIRST") } else { ("ASC", "LAST") };
            // The page's own order: the query's, or its exact reverse (no value first where the
            // query has it last, and the other way round; ties newest first).
            let (page_dir, page_nulls) =
                if key.descending != backward { ("DESC", "FIRST") } else { ("ASC", "LAST") };
            let page_seq = if backward { "DESC" } else { "ASC" };
            (
                format!(
                    "SELECT s.seq, s.k FROM (SELECT r.seq, {key_sql} AS k {matches}) AS s WHERE {after} \
                     ORDER BY s.k {page_dir} NULLS {page_nulls}, s.seq {page_seq} LIMIT {limit} OFFSET {offset}"
                ),
                format!("p.k {dir} NULLS {nulls}, p.seq"),
                Some(key_type),
            )
        }
    };
    sql.text = format!(
        "SELECT c.total, p.k::text, {}{member_comma}{member_columns}{in_groups} \
         FROM (SELECT count(*) AS total {matches}) AS c \
         LEFT JOIN ({page}) AS p ON true \
         LEFT JOIN resources AS x ON x.seq = p.seq {member_join} \
         ORDER BY {order}",
        COLUMNS
    );
    Ok((sql, key_type))
}

pub(crate) async fn query(client: &ClientWrapper, query: &StoreQuery) -> OpResult<Page> {
    Ok(query_rows(client, query, false).await?.0)
}

/// A page and the groups of each of its resources, in one statement.
pub(crate) async fn query_with_memberships(
    client: &ClientWrapper,
    query: &StoreQuery,
) -> OpResult<(Page, Vec<Vec<Membership>>)> {
    query_rows(client, query, true).await
}

async fn query_rows(
    client: &ClientWrapper,
    query: &StoreQuery,
    with_memberships: bool,
) -> OpResult<(Page, Vec<Vec<Membership>>)> {
    let (sql, key_type) = query_sql(query, with_memberships)?;
    let rows = sql.query(client).await.map_err(from_pg)?;
    if query.limit == 0 {
        let total: i64 = match rows.first() {
            Some(row) => row.try_get(0).map_err(from_pg)?,
            None => 0,
        };
        let page = Page { total: u64::try_from(total).unwrap_or(0), items: Vec::new(), keys: Vec::new() };
        return Ok((page, Vec::new()));
    }
    let with_members = query.with_members && query.kind == ResourceKind::Group;
    let flag_at = 2 + COLUMN_COUNT + if with_members { MEMBER_ARRAY_COLUMN_COUNT } else { 0 };
    let mut total: Option<i64> = None;
    let mut items = Vec::with_capacity(rows.len());
    let mut keys = Vec::with_capacity(rows.len());
    let mut in_groups = Vec::new();
    for row in &rows {
        total = row.try_get::<_, Option<i64>>(0).map_err(from_pg)?;
        // The count's row with no page (past the end): no resource.
        if row.try_get::<_, Option<i64>>(2).map_err(from_pg)?.is_none() {
            continue;
        }
        let key: Option<String> = row.try_get(1).map_err(from_pg)?;
        let (seq, mut resource) = from_row(row, 2)?;
        if with_members {
            resource.members = Some(members_from_row(row, 2 + COLUMN_COUNT)?);
        }
        let key = match key_type {
            None => None,
            Some(ty) => Some(sort_value(key, ty)?),
        };
        if with_memberships && row.try_get::<_, bool>(flag_at).map_err(from_pg)? {
            in_groups.push(items.len());
        }
        keys.push(Keyset { key, seq });
        items.push(resource);
    }
    let total = match total {
        Some(t) => u64::try_from(t).unwrap_or(0),
        // The first page's statement has no count: a page that is not full holds every match.
        None if (items.len() as u64) < query.limit || at_most_one(query.kind, &query.filter) => {
            items.len() as u64
        }
        None => {
            let (count, _) = query_sql(&StoreQuery { limit: 0, ..query.clone() }, false)?;
            let rows = count.query(client).await.map_err(from_pg)?;
            let n: i64 = rows.first().map(|r| r.try_get(0)).transpose().map_err(from_pg)?.unwrap_or(0);
            u64::try_from(n).unwrap_or(0)
        }
    };
    let mut memberships = Vec::new();
    if with_memberships {
        memberships = vec![Vec::new(); items.len()];
        if !in_groups.is_empty() {
            let ids: Vec<String> = in_groups.iter().map(|&i| items[i].id.clone()).collect();
            for (i, groups) in in_groups.into_iter().zip(memberships_of(client, &ids).await?) {
                memberships[i] = groups;
            }
        }
    }
    Ok((Page { total, items, keys }, memberships))
}

/// A subquery of the groups the resource `alias` belongs to, directly or through nested
/// groups, in creation order of the groups, as three arrays (ids, displays, directs): for
/// `LEFT JOIN LATERAL`. `UNION` keeps each (group, direct) once, so a cycle ends; a group
/// reached both ways is direct; a resource is left out of its own groups.
fn groups_of(alias: &str) -> String {
    format!(
        "WITH RECURSIVE up (group_seq, direct) AS ( \
             SELECT m.group_seq, true FROM members AS m WHERE m.member_id = {alias}.id \
           UNION \
             SELECT m.group_seq, false FROM up JOIN members AS m ON m.member_seq = up.group_seq), \
         groups AS ( \
             SELECT g.seq, g.id, \
                    CASE WHEN jsonb_typeof(g.claims -> '{GROUP_DISPLAY_NAME}') = 'string' \
                         THEN g.claims ->> '{GROUP_DISPLAY_NAME}' END AS display, \
                    bool_or(up.direct) AS direct \
             FROM up JOIN resources AS g ON g.seq = up.group_seq \
             WHERE g.id <> {alias}.id GROUP BY g.seq) \
         SELECT array_agg(id ORDER BY seq) AS ids, array_agg(display ORDER BY seq) AS displays, \
                array_agg(direct ORDER BY seq) AS directs FROM groups"
    )
}

/// The memberships in the three arrays of [`groups_of`], read from the row at `at`.
fn groups_from_row(row: &tokio_postgres::Row, at: usize) -> OpResult<Vec<Membership>> {
    let group_ids: Option<Vec<String>> = row.try_get(at).map_err(from_pg)?;
    let displays: Option<Vec<Option<String>>> = row.try_get(at + 1).map_err(from_pg)?;
    let directs: Option<Vec<bool>> = row.try_get(at + 2).map_err(from_pg)?;
    Ok(group_ids
        .unwrap_or_default()
        .into_iter()
        .zip(displays.unwrap_or_default())
        .zip(directs.unwrap_or_default())
        .map(|((group_id, display), direct)| Membership { group_id, display, direct })
        .collect())
}

/// A sort key's value as the statement returned it (as text).
fn sort_value(text: Option<String>, ty: KeyType) -> OpResult<SortValue> {
    let Some(text) = text else { return Ok(SortValue::Null) };
    Ok(match ty {
        KeyType::Text => SortValue::Text(text),
        // A numeric that is no i64 stays text: exact, where a float would round.
        KeyType::Numeric => text.parse::<i64>().map_or(SortValue::Text(text), SortValue::Integer),
        KeyType::Integer => {
            SortValue::Integer(text.parse().map_err(|_| corrupt(format!("sort key {text:?}")))?)
        }
    })
}

/// The condition "after `position`" (or, `backward`, "before `position`") in the order `s.k`
/// (no value last ascending, first descending), then `s.seq`, with its parameters bound.
fn keyset_sorted(
    position: &Keyset,
    descending: bool,
    backward: bool,
    ty: KeyType,
    sql: &mut Sql,
) -> OpResult<String> {
    let misfit = || StoreError::Unsupported("a keyset position that does not fit the sort".to_owned());
    let Some(key) = &position.key else {
        return Err(
            StoreError::Unsupported("a position in creation order for a sorted query".to_owned()).into()
        );
    };
    let value = match (key, ty) {
        (SortValue::Null, _) => None,
        (SortValue::Text(t), KeyType::Text) => Some(format!("({} COLLATE \"C\")", sql.text(t.as_str()))),
        (SortValue::Integer(i), KeyType::Numeric) => Some(format!("{}::numeric", sql.text(i.to_string()))),
        (SortValue::Real(r), KeyType::Numeric) if r.is_finite() => {
            Some(format!("{}::numeric", sql.text(r.to_string())))
        }
        (SortValue::Text(t), KeyType::Numeric) if t.parse::<f64>().is_ok_and(f64::is_finite) => {
            Some(format!("{}::numeric", sql.text(t.as_str())))
        }
        (SortValue::Integer(i), KeyType::Integer) => Some(sql.bind(Param::Int8(*i))),
        _ => return Err(misfit().into()),
    };
    let seq = sql.bind(Param::Int8(position.seq));
    // Before a position is after it in the mirrored order: keys and seqs compared the other
    // way, no value on the other side.
    let op = if backward { "<" } else { ">" };
    Ok(match (value, descending != backward) {
        (None, false) => format!("(s.k IS NULL AND s.seq {op} {seq})"),
        (None, true) => format!("(s.k IS NOT NULL OR s.seq {op} {seq})"),
        (Some(v), false) => format!("(s.k IS NULL OR s.k > {v} OR (s.k = {v} AND s.seq {op} {seq}))"),
        (Some(v), true) => format!("(s.k < {v} OR (s.k = {v} AND s.seq {op} {seq}))"),
    })
}

/// The groups each of `ids` belongs to, directly or through nested groups, in creation order
/// of the groups. A member row matches by id, whichever domain the member is in. `UNION` (not
/// `UNION ALL`) keeps each (id, group, direct) once, so a cycle ends; a group reached both ways
/// is reported direct. A resource is left out of its own groups (a cycle can make a group its
/// own indirect member).
const MEMBERSHIPS_SQL: &str = "WITH RECURSIVE ids (id, ord) AS (SELECT * FROM unnest($1::text[]) WITH ORDINALITY), \
     up (ord, group_seq, direct) AS ( \
         SELECT ids.ord, m.group_seq, true FROM ids JOIN members AS m ON m.member_id = ids.id \
       UNION \
         SELECT up.ord, m.group_seq, false FROM up JOIN members AS m ON m.member_seq = up.group_seq) \
     SELECT up.ord, g.id, \
            CASE WHEN jsonb_typeof(g.claims -> 'urn:scimd:claims:groupDisplayName') = 'string' \
                 THEN g.claims ->> 'urn:scimd:claims:groupDisplayName' END, \
            bool_or(up.direct) \
     FROM up JOIN ids ON ids.ord = up.ord JOIN resources AS g ON g.seq = up.group_seq \
     WHERE g.id <> ids.id \
     GROUP BY up.ord, g.seq \
     ORDER BY up.ord, g.seq";

/// The memberships of several resources (a page of users), in the order of `ids`, in one
/// statement.
pub(crate) async fn memberships_of(client: &ClientWrapper, ids: &[String]) -> OpResult<Vec<Vec<Membership>>> {
    let mut out: Vec<Vec<Membership>> = vec![Vec::new(); ids.len()];
    if ids.is_empty() {
        return Ok(out);
    }
    let stmt = client.prepare_cached(MEMBERSHIPS_SQL).await.map_err(from_pg)?;
    for row in client.query(&stmt, &[&ids]).await.map_err(from_pg)? {
        let ord: i64 = row.try_get(0).map_err(from_pg)?;
        let slot = usize::try_from(ord - 1)
            .ok()
            .and_then(|i| out.get_mut(i))
            .ok_or_else(|| corrupt(format!("membership of position {ord}")))?;
        slot.push(Membership {
            group_id: row.try_get(1).map_err(from_pg)?,
            display: row.try_get(2).map_err(from_pg)?,
            direct: row.try_get(3).map_err(from_pg)?,
        });
    }
    Ok(out)
}

/// One resource and its groups, in one statement.
pub(crate) async fn get_with_memberships(
    client: &ClientWrapper,
    kind: ResourceKind,
    id: &str,
) -> OpResult<Option<(StoredResource, Vec<Membership>)>> {
    let sql = format!(
        "SELECT {}, gm.ids, gm.displays, gm.directs FROM resources AS x \
         LEFT JOIN LATERAL ({}) AS gm ON true WHERE x.id = $1 AND x.kind = $2",
        COLUMNS,
        groups_of("x")
    );
    let stmt = client.prepare_cached(&sql).await.map_err(from_pg)?;
    let Some(row) = client.query_opt(&stmt, &[&id, &kind_code(kind)]).await.map_err(from_pg)? else {
        return Ok(None);
    };
    let (_, resource) = from_row(&row, 0)?;
    let groups = groups_from_row(&row, COLUMN_COUNT)?;
    Ok(Some((resource, groups)))
}

/// The memberships of one resource.
pub(crate) async fn memberships(client: &ClientWrapper, id: &str) -> OpResult<Vec<Membership>> {
    let mut all = memberships_of(client, &[id.to_owned()]).await?;
    Ok(all.pop().unwrap_or_default())
}

/// `EXPLAIN` of a query's statement (diagnostics; the index tests): its generic plan, the one
/// made for any values, which a statement prepared once per connection may settle on (a plan
/// for the values at hand can only use more indexes).
pub(crate) async fn explain(client: &mut Object, query: &StoreQuery) -> OpResult<String> {
    let (sql, _) = query_sql(query, false)?;
    let types: Vec<&str> = sql
        .params
        .iter()
        .map(|p| match p {
            Param::Text(_) => "text",
            Param::Int8(_) => "int8",
            Param::Bool(_) => "bool",
        })
        .collect();
    // EXECUTE takes its values as literals: quoted by the server.
    let quoting: Vec<String> = (1..=sql.params.len()).map(|i| format!("quote_literal(${i})")).collect();
    let literals: Vec<String> = if quoting.is_empty() {
        Vec::new()
    } else {
        let row = client
            .query_typed(&format!("SELECT {}", quoting.join(", ")), &sql.typed())
            .await
            .map_err(from_pg)?;
        let row = row.first().ok_or_else(|| corrupt("no quoted literals"))?;
        (0..sql.params.len()).map(|i| row.try_get(i)).collect::<Result<_, _>>().map_err(from_pg)?
    };
    explain_sql(client, &sql.text, &types, &literals).await
}

/// `EXPLAIN` of the generic plan of the statement `text`, whose parameters have the SQL types
/// `types`, run with the values `literals` (SQL literals).
pub(crate) async fn explain_sql(
    client: &mut Object,
    text: &str,
    types: &[&str],
    literals: &[String],
) -> OpResult<String> {
    let (prepare, execute) = if types.is_empty() {
        (format!("PREPARE scimd_explain AS {text}"), "EXPLAIN EXECUTE scimd_explain".to_owned())
    } else {
        (
            format!("PREPARE scimd_explain ({}) AS {text}", types.join(", ")),
            format!("EXPLAIN EXECUTE scimd_explain ({})", literals.join(", ")),
        )
    };
    let tx = client.transaction().await.map_err(from_pg)?;
    tx.batch_execute("SET LOCAL plan_cache_mode = force_generic_plan").await.map_err(from_pg)?;
    tx.batch_execute(&prepare).await.map_err(from_pg)?;
    let rows = tx.query(&execute, &[]).await;
    tx.rollback().await.map_err(from_pg)?;
    // A prepared statement outlives its transaction.
    client.batch_execute("DEALLOCATE scimd_explain").await.map_err(from_pg)?;
    let lines = rows
        .map_err(from_pg)?
        .iter()
        .map(|row| row.try_get::<_, String>(0))
        .collect::<Result<Vec<_>, _>>()
        .map_err(from_pg)?;
    Ok(lines.join("\n"))
}

/// Whether any group has a member of another domain (one index-less probe that stops at the
/// first such row).
pub(crate) async fn holds_members_of_other_domains(client: &ClientWrapper) -> OpResult<bool> {
    let stmt = client
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM members WHERE domain IS NOT NULL)")
        .await
        .map_err(from_pg)?;
    client.query_one(&stmt, &[]).await.map_err(from_pg)?.try_get(0).map_err(from_pg)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    use scimd_store::ClaimFilter;

    /// The first page of one user in creation order.
    fn users(filter: ClaimFilter) -> StoreQuery {
        StoreQuery { limit: 1, ..scimd_store_testkit::fixtures::users(filter) }
    }

    fn user_name(op: scimd_core::filter::CompareOp) -> ClaimFilter {
        scimd_store_testkit::fixtures::compare(scimd_claims::claims::USER_NAME, op, "kim", false)
    }

    #[test]
    fn a_lookup_by_a_unique_key_reads_its_row_without_order_or_limit() {
        use scimd_core::filter::CompareOp;
        let (sql, key) = query_sql(&users(user_name(CompareOp::Eq)), true).unwrap();
        assert_eq!(key, None);
        assert!(
            sql.text.starts_with(&format!("SELECT NULL::bigint, NULL::text, {COLUMNS_OF_R}, EXISTS")),
            "{}",
            sql.text
        );
        assert!(sql.text.contains(" FROM resources AS r WHERE r.kind = 1 AND "), "{}", sql.text);
        assert!(!sql.text.contains("ORDER BY") && !sql.text.contains("LIMIT"), "{}", sql.text);
        // Any other first page is ordered and limited.
        let (sql, _) = query_sql(&users(user_name(CompareOp::Sw)), true).unwrap();
        assert!(sql.text.contains("ORDER BY r.seq LIMIT 1)"), "{}", sql.text);
    }

    #[test]
    fn memberships_read_the_group_display_name_claim() {
        assert!(MEMBERSHIPS_SQL.contains(&format!("'{GROUP_DISPLAY_NAME}'")));
    }

    #[test]
    fn numeric_sort_keys_stay_exact() {
        assert_eq!(sort_value(Some("12".into()), KeyType::Numeric).unwrap(), SortValue::Integer(12));
        assert_eq!(
            sort_value(Some("1.50".into()), KeyType::Numeric).unwrap(),
            SortValue::Text("1.50".into())
        );
        assert_eq!(sort_value(None, KeyType::Text).unwrap(), SortValue::Null);
    }
}
