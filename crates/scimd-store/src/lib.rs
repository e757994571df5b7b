//! The user store traits: what every backend (embedded SQLite, PostgreSQL, LDAP) implements.
//! Stores see local claims ([`Claims`]), never SCIM JSON: the dialect mapping in `scimd-claims`
//! turns a resource into claims before it reaches a store.
//!
//! # Layout
//! - [`UserStore`]: create, read, replace, delete, query and membership of users and groups.
//! - [`StoreError`]: the failures callers branch on (conflict, not found, version mismatch,
//!   unknown member, unavailable, backend).
//! - [`StoreQuery`], [`ClaimFilter`] (the store-neutral filter, from `scimd-claims`), [`Page`]:
//!   what a query asks and what it returns.
//! - [`mapping`]: the attribute map of a directory domain (claim to store attribute).
//!
//! # Ids
//! The server proposes an id in [`NewResource::id`]; a store whose directory assigns ids itself
//! (LDAP `entryUUID`, AD `objectGUID`) may use its own: the id of the returned resource is the
//! resource's id.
//!
//! # Members from other domains
//! A group may have members kept in another domain (a PRIMARY group with LDAP users). The server
//! checks that such a member exists in its own domain and passes it with [`Member::domain`] set;
//! the store keeps its id, kind and display as given, finds it in [`UserStore::memberships`] and
//! in member filters like any member, and drops it in [`UserStore::forget_member`] when the
//! member is deleted in its domain. A store that cannot keep such members (a directory, whose
//! member attribute holds DNs of its own entries) refuses them with
//! [`StoreError::Unsupported`].

pub mod mapping;
pub mod stored_time;
#[cfg(feature = "tls")]
pub mod tls;
pub mod together;

use async_trait::async_trait;
pub use mapping::{AttributeMap, DomainMap, MappedClaim, ValueKind};
pub use scimd_claims::{Claims, ResourceKind};
use time::OffsetDateTime;

/// A member of a group as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's id.
    pub id: String,
    /// The member's kind. On write, `None` means "whatever it is"; the store resolves it and
    /// refuses a kind that does not match the stored resource. On read it is always `Some`.
    pub kind: Option<ResourceKind>,
    /// The `display` the client wrote with the member, kept as written.
    pub display: Option<String>,
    /// The domain the member lives in when it is not this store's (see the crate docs);
    /// `None` for a member of this store. On read, as it was written.
    pub domain: Option<String>,
}

impl Member {
    /// A member of this store.
    pub fn new(id: impl Into<String>, kind: Option<ResourceKind>, display: Option<String>) -> Self {
        Member { id: id.into(), kind, display, domain: None }
    }
}

/// A group the resource belongs to, directly or through nested groups (RFC 7643 §4.1.2 `groups`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub group_id: String,
    /// The group's displayName claim, if it has one.
    pub display: Option<String>,
    /// `true` for a direct membership, `false` for one through a nested group.
    pub direct: bool,
}

/// A resource to create.
#[derive(Debug, Clone)]
pub struct NewResource {
    pub id: String,
    pub kind: ResourceKind,
    pub claims: Claims,
    /// Group members (empty for a user).
    pub members: Vec<Member>,
    pub now: OffsetDateTime,
}

/// A replacement of a stored resource's claims (PUT).
#[derive(Debug, Clone)]
pub struct Replacement {
    pub id: String,
    pub kind: ResourceKind,
    /// Apply only if the stored version is this one (If-Match); `None` applies unconditionally.
    pub expected_version: Option<u64>,
    pub claims: Claims,
    /// The new member list of a group; `None` leaves the members as they are.
    pub members: Option<Vec<Member>>,
    pub now: OffsetDateTime,
}

/// A change to a group's members that names only the members changed (PATCH): the store's
/// work grows with the members named, not with the group.
#[derive(Debug, Clone)]
pub struct MemberChange {
    pub group_id: String,
    /// Apply only if the stored version is this one; `None` applies to whatever version is
    /// stored (member additions and removals commute, so concurrent ones all take effect).
    pub expected_version: Option<u64>,
    /// Remove every member first (`replace members []`, or a replacement list in `add`).
    pub clear: bool,
    /// Members to remove, by id; ids that are not members are ignored.
    pub remove: Vec<String>,
    /// Members to add after the others; members already there stay as they are.
    pub add: Vec<Member>,
    /// New claims for the group (other attributes changed by the same PATCH), if any.
    pub claims: Option<Claims>,
    pub now: OffsetDateTime,
}

/// A resource as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResource {
    pub id: String,
    pub kind: ResourceKind,
    pub claims: Claims,
    pub created: OffsetDateTime,
    pub last_modified: OffsetDateTime,
    /// Grows with each write: the source of `meta.version` and the ETag. SQL stores start at 1
    /// and add one; a directory derives it from its change sequence (`entryCSN`, `uSNChanged`).
    pub version: u64,
    /// The members of a group, in the order they were added, when they were asked for.
    pub members: Option<Vec<Member>>,
}

pub use scimd_claims::ClaimFilter;

/// A query of one kind of resource.
#[derive(Debug, Clone)]
pub struct StoreQuery {
    pub kind: ResourceKind,
    pub filter: ClaimFilter,
    /// Results to skip (startIndex - 1).
    pub offset: u64,
    /// At most this many results; 0 asks for the total alone.
    pub limit: u64,
    /// Whether to load the members of the groups on the page.
    pub with_members: bool,
    /// The order (RFC 7644 §3.4.2.3): by this key, resources without a value last ascending and
    /// first descending, ties in creation order; `None`: creation order.
    pub sort: Option<SortKey>,
    /// Keyset paging (RFC 9865 cursors): only resources after this position in the query's
    /// order, `offset` ignored. `total` still counts every match.
    pub after: Option<Keyset>,
    /// Backward keyset paging (RFC 9865 `previousCursor`): the last `limit` resources before
    /// this bound in the query's order, returned in that (forward) order with their keys;
    /// `offset` ignored, `total` still counts every match. At most one of `after` and `before`
    /// (both: [`StoreError::Unsupported`], see [`StoreQuery::check_keyset`]).
    pub before: Option<Before>,
}

/// Where a backward keyset page ends (exclusive).
#[derive(Debug, Clone, PartialEq)]
pub enum Before {
    /// Strictly before this position.
    Position(Keyset),
    /// The end of the query's order: its last `limit` resources.
    End,
}

impl StoreQuery {
    /// The name this query looks a user up by, if it is the lookup by userName that Entra ID
    /// and Okta make before each create: the first page of users whose userName equals the
    /// name, without regard to case (RFC 7643 §4.1.1), in creation order. A store may answer
    /// such lookups that arrive together with one request.
    pub fn user_name_lookup(&self) -> Option<&str> {
        use scimd_claims::{ClaimPath, claims::USER_NAME};
        use scimd_core::filter::{CompValue, CompareOp};
        let first_page = self.kind == ResourceKind::User
            && self.limit > 0
            && self.offset == 0
            && self.sort.is_none()
            && self.after.is_none()
            && self.before.is_none();
        match &self.filter {
            ClaimFilter::Compare {
                path: ClaimPath::Claim { claim, sub: None },
                op: CompareOp::Eq,
                value: CompValue::Str(name),
                attr_type: scimd_core::schema::AttrType::String,
                case_exact: false,
            } if first_page && claim == USER_NAME => Some(name),
            _ => None,
        }
    }

    /// Refuses a query that pages both after and before a position.
    pub fn check_keyset(&self) -> StoreResult<()> {
        if self.after.is_some() && self.before.is_some() {
            return Err(StoreError::Unsupported("a page both after and before a position".to_owned()));
        }
        Ok(())
    }

    /// Whether the query pages by keyset (`after` or `before`), so that `offset` is ignored.
    pub fn by_keyset(&self) -> bool {
        self.after.is_some() || self.before.is_some()
    }
}

/// A position in a query's order: where a keyset page ends and the next one starts. Creation
/// sequence numbers are unique, only grow and are never reused, so a walk from position to
/// position sees each resource that stays (and keeps its sort value) exactly once.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyset {
    /// The sort key's value at this position (`None` in creation order).
    pub key: Option<SortValue>,
    /// The creation sequence number of the resource at this position (ties in the sort key
    /// are in creation order).
    pub seq: i64,
}

/// The value a resource sorts by, as the store compares it: no value (last ascending, first
/// descending), a number, or text (already folded when the attribute is not caseExact).
#[derive(Debug, Clone, PartialEq)]
pub enum SortValue {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
}

impl SortValue {
    /// The order of two values of one sort key as every store sorts them (RFC 7644 §3.4.2.3):
    /// no value last ascending and first descending; numbers before text (as SQLite orders
    /// them), numbers numerically (integers exactly), text by code point.
    pub fn order(&self, other: &SortValue, descending: bool) -> std::cmp::Ordering {
        use SortValue::{Integer, Null, Real, Text};
        use std::cmp::Ordering;
        let num = |v: &SortValue| match v {
            Integer(i) => Some(*i as f64),
            Real(r) => Some(*r),
            _ => None,
        };
        let by_value = match (self, other) {
            (Null, Null) => return Ordering::Equal,
            // Null is placed by the direction, not reversed with it.
            (Null, _) => return if descending { Ordering::Less } else { Ordering::Greater },
            (_, Null) => return if descending { Ordering::Greater } else { Ordering::Less },
            (Integer(x), Integer(y)) => x.cmp(y),
            (Text(x), Text(y)) => x.cmp(y),
            (Text(_), _) => Ordering::Greater,
            (_, Text(_)) => Ordering::Less,
            _ => num(self).partial_cmp(&num(other)).unwrap_or(Ordering::Equal),
        };
        if descending { by_value.reverse() } else { by_value }
    }
}

pub use scimd_claims::SortKey;

/// A slice of a group's members, in the group's order (see [`UserStore::members_slice`]).
#[derive(Debug, Clone)]
pub struct MembersSlice {
    /// The group (its members `None`) as it was when the slice was read.
    pub group: StoredResource,
    pub members: Vec<Member>,
    /// Where the next slice starts (`after`), if members follow.
    pub next: Option<i64>,
}

impl MembersSlice {
    /// The slice of `limit` members from what a store read: up to one member more than `limit`
    /// (which tells that members follow), with the position of each.
    pub fn of(
        group: StoredResource,
        mut members: Vec<Member>,
        positions: &[i64],
        limit: usize,
    ) -> MembersSlice {
        let next = if members.len() > limit {
            members.truncate(limit);
            limit.checked_sub(1).and_then(|last| positions.get(last)).copied()
        } else {
            None
        };
        MembersSlice { group, members, next }
    }
}

/// One page of a query, in the query's order (creation order unless sorted).
#[derive(Debug, Clone)]
pub struct Page {
    /// How many resources match the filter in all.
    pub total: u64,
    pub items: Vec<StoredResource>,
    /// The position of each item in the query's order (same length as `items`): the `after`
    /// of the page that follows an item.
    pub keys: Vec<Keyset>,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique claim already has this value (claim named, not the value).
    #[error("the value of claim {claim} is already taken")]
    Conflict { claim: String },
    /// No resource with this id and kind.
    #[error("no {kind:?} with id {id}")]
    NotFound { kind: ResourceKind, id: String },
    /// If-Match did not match the stored version.
    #[error("version mismatch: the stored version is {current}")]
    VersionMismatch { current: u64 },
    /// A member id that does not exist, or exists with another kind than the one given.
    #[error("member {id} does not exist")]
    UnknownMember { id: String, expected: Option<ResourceKind> },
    /// The filter uses something this store cannot answer exactly.
    #[error("this store cannot answer the filter: {0}")]
    Unsupported(String),
    /// The store has no mapped attribute for this claim (a directory domain keeps only what its
    /// attribute map names): the write is refused, nothing is dropped.
    #[error("no attribute is mapped for claim {claim}")]
    Unmapped { claim: String },
    /// The store refused the data it was given (a directory schema violation, a value the
    /// attribute's syntax does not allow); the message names the attribute.
    #[error("the store refused the value: {0}")]
    Rejected(String),
    /// The store would have to examine more than `limit` candidates in memory to answer the
    /// query exactly (a directory that cannot express part of a filter or an order).
    #[error("the query would examine more than {limit} candidates")]
    TooMany { limit: u64 },
    /// A write to a domain marked read-only.
    #[error("the user store domain {domain} is read-only")]
    ReadOnly { domain: String },
    /// An error of one domain's store, as the domain router reports it: the domain named.
    #[error("user store domain {domain}: {error}")]
    InDomain { domain: String, error: Box<StoreError> },
    /// The store cannot be reached.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else; logged, answered with a plain 500.
    #[error("store backend error: {0}")]
    Backend(String),
}

/// The result type of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// Admin state kept beside the resources of the PRIMARY store (schemas, claim mappings,
/// domains): JSON documents under a key, each with a version for optimistic writes, so that
/// every node sharing the store sees one history of changes.
#[async_trait]
pub trait SettingsStore: Send + Sync + 'static {
    /// The document under `key` and its version, if one was saved.
    async fn load_setting(&self, key: &str) -> StoreResult<Option<(serde_json::Value, u64)>>;
    /// Saves `value` under `key` if the saved version is still `expected` (`None`: no document
    /// under `key` yet); returns the new version. Another version: [`StoreError::VersionMismatch`].
    async fn save_setting(
        &self,
        key: &str,
        value: &serde_json::Value,
        expected: Option<u64>,
    ) -> StoreResult<u64>;
}

/// A user store (domain). Every operation is one transaction: applied whole or not at all.
#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// Creates a resource. Enforces uniqueness of userName (users, without regard to case) and
    /// the existence of every member (groups).
    async fn create(&self, new: NewResource) -> StoreResult<StoredResource>;
    /// Reads one resource; with `with_members`, a group's members too.
    async fn get(
        &self,
        kind: ResourceKind,
        id: &str,
        with_members: bool,
    ) -> StoreResult<Option<StoredResource>>;
    /// Replaces a resource's claims (and members, where given); bumps the version.
    async fn replace(&self, replacement: Replacement) -> StoreResult<StoredResource>;
    /// Changes a group's members (and, where given, its claims) in one transaction, touching
    /// only the members named; bumps the version. Returns the group without its members.
    async fn change_members(&self, change: MemberChange) -> StoreResult<StoredResource>;
    /// Deletes a resource and removes it from every group, in one transaction.
    async fn delete(&self, kind: ResourceKind, id: &str, expected_version: Option<u64>) -> StoreResult<()>;
    /// Runs a query: total and one page (with the members of groups where `with_members`).
    async fn query(&self, query: &StoreQuery) -> StoreResult<Page>;
    /// The groups a resource belongs to, directly and through nested groups.
    async fn memberships(&self, id: &str) -> StoreResult<Vec<Membership>>;

    /// Reads one resource and the groups it belongs to, in one transaction: what a GET of a
    /// user needs, in one call. Backends should override the default, which makes two.
    async fn get_with_memberships(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> StoreResult<Option<(StoredResource, Vec<Membership>)>> {
        let Some(resource) = self.get(kind, id, false).await? else { return Ok(None) };
        let groups = self.memberships(id).await?;
        Ok(Some((resource, groups)))
    }

    /// A query and the memberships of each resource on its page, in the page's order: what a
    /// list of users needs, in one call. Backends should override the default, which makes two.
    async fn query_with_memberships(&self, query: &StoreQuery) -> StoreResult<(Page, Vec<Vec<Membership>>)> {
        let page = self.query(query).await?;
        let ids: Vec<String> = page.items.iter().map(|r| r.id.clone()).collect();
        let groups = if ids.is_empty() { Vec::new() } else { self.memberships_of(&ids).await? };
        Ok((page, groups))
    }

    /// Removes the member `id` of another domain (see the crate docs) from every group of this
    /// store: the member was deleted in its own domain. Stores that keep no such members need
    /// not override this.
    async fn forget_member(&self, id: &str) -> StoreResult<()> {
        let _ = id;
        Ok(())
    }

    /// Removes a claim from every resource of `kind` that has it, in one transaction, without
    /// bumping versions (an admin deleted the attribute the claim held); returns how many
    /// resources had it. Stores that cannot do it answer [`StoreError::Unsupported`].
    async fn remove_claim(&self, kind: ResourceKind, claim: &str) -> StoreResult<u64> {
        let _ = (kind, claim);
        Err(StoreError::Unsupported("removing a claim from every resource".into()))
    }

    /// At most `limit` members of the group `id`, after the position `after` (`None`: from the
    /// first), in the group's order, with the group as it was then (its version says which): a big group read in pieces, each
    /// in a short read of its own (GET of a group of 100,000 members in bounded memory). A reader
    /// that sees the version change between pieces knows they no longer make one group. `None`
    /// if there is no such group. Stores that cannot read a slice without reading every member
    /// answer [`StoreError::Unsupported`] (the caller then reads the group whole).
    async fn members_slice(
        &self,
        id: &str,
        after: Option<i64>,
        limit: usize,
    ) -> StoreResult<Option<MembersSlice>> {
        let _ = (id, after, limit);
        Err(StoreError::Unsupported("reading a group's members in slices".to_owned()))
    }

    /// Whether any group of this store has a member of another domain: the router asks the
    /// other stores for the groups of a resource only where this holds.
    async fn holds_members_of_other_domains(&self) -> StoreResult<bool> {
        Ok(false)
    }

    /// Whether the store keeps every claim (SQL stores) or only those its attribute map names
    /// (directories).
    fn keeps_every_claim(&self) -> bool {
        true
    }

    /// Installs a new attribute map (directory stores); it applies from the next operation on.
    /// Stores that keep every claim ignore it.
    fn set_attribute_map(&self, map: DomainMap) -> StoreResult<()> {
        let _ = map;
        Ok(())
    }

    /// The memberships of several resources (a page of users), in the order of `ids`.
    /// Backends should override the default, which makes one call per id.
    async fn memberships_of(&self, ids: &[String]) -> StoreResult<Vec<Vec<Membership>>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.memberships(id).await?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::SortValue::{Integer, Null, Real, Text};
    use std::cmp::Ordering::{Greater, Less};

    #[test]
    fn only_the_first_page_of_users_by_a_user_name_equality_is_a_lookup() {
        use super::{ClaimFilter, ResourceKind, StoreQuery};
        use scimd_claims::{ClaimPath, claims::USER_NAME};
        use scimd_core::filter::{CompValue, CompareOp};
        let user_name = |op, case_exact| ClaimFilter::Compare {
            path: ClaimPath::Claim { claim: USER_NAME.into(), sub: None },
            op,
            value: CompValue::Str("kim".into()),
            attr_type: scimd_core::schema::AttrType::String,
            case_exact,
        };
        let users = |filter| StoreQuery {
            kind: ResourceKind::User,
            filter,
            limit: 100,
            offset: 0,
            sort: None,
            after: None,
            before: None,
            with_members: false,
        };
        assert_eq!(users(user_name(CompareOp::Eq, false)).user_name_lookup(), Some("kim"));
        let not = [
            users(user_name(CompareOp::Sw, false)),
            users(user_name(CompareOp::Eq, true)),
            StoreQuery { kind: ResourceKind::Group, ..users(user_name(CompareOp::Eq, false)) },
            StoreQuery { limit: 0, ..users(user_name(CompareOp::Eq, false)) },
            StoreQuery { offset: 1, ..users(user_name(CompareOp::Eq, false)) },
            users(ClaimFilter::And(vec![user_name(CompareOp::Eq, false)])),
            users(ClaimFilter::Eq { claim: USER_NAME.into(), value: "kim".into(), case_exact: false }),
        ];
        for query in &not {
            assert_eq!(query.user_name_lookup(), None, "{query:?}");
        }
    }

    /// RFC 7644 §3.4.2.3: "null" values last ascending, first descending.
    #[test]
    fn sort_values_order_as_the_stores_sort() {
        assert_eq!(Null.order(&Text("a".into()), false), Greater);
        assert_eq!(Null.order(&Text("a".into()), true), Less);
        assert_eq!(Text("a".into()).order(&Text("b".into()), true), Greater);
        assert_eq!(Integer(i64::MAX).order(&Integer(i64::MAX - 1), false), Greater, "integers exactly");
        assert_eq!(Integer(2).order(&Real(1.5), false), Greater);
        assert_eq!(Integer(9).order(&Text("1".into()), false), Less, "numbers before text");
    }
}
