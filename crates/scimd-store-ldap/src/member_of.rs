//! What the directory says of an entry's groups: the `memberOf` attribute (OpenLDAP's memberof
//! overlay, Active Directory), whether it is trusted, and what a query just read of the entries
//! on its page, for the `memberships_of` call that follows it.
//!
//! - **Trust.** `memberOf` names an entry's direct groups; where the directory keeps it for
//!   this domain's groups, an entry without it is in no group, and its memberships cost no
//!   search. It is trusted once checked ([`LdapStore::member_of_trusted`]): a member of one of
//!   the domain's groups is read, and its `memberOf` must name that group (confirmed for good;
//!   if not, never trusted). While no group has a member, no entry is in a group, so the
//!   attribute's absence is right; that is checked again after [`RECHECK`], and at once after a
//!   member write through this store. An entry in some group still has its groups searched
//!   (`memberships_of_dn`: the ids, names, order and nested groups).
//! - **Recent.** A query of users notes the DN of each user on its page and whether its
//!   `memberOf` names a group; the memberships of that user, asked within [`FRESH`], start from
//!   that (no search to find the DN; none at all for a user in no group). Each note is used
//!   once; writes that change members, names or entries forget them all.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use scimd_store::{Membership, StoreResult};

use crate::dn;
use crate::entry::RawEntry;
use crate::filter::escape;
use crate::store::LdapStore;

/// How long a check that found no group with a member is trusted.
pub(crate) const RECHECK: Duration = Duration::from_secs(5);
/// How long a query's note of a user on its page serves its memberships.
pub(crate) const FRESH: Duration = Duration::from_secs(2);
/// Notes kept at most (forgotten whole past it).
const RECENT_LIMIT: usize = 10_000;
/// Member DNs of a group tried when checking.
const SAMPLE: usize = 4;

/// Whether `memberOf` can be trusted, as last checked.
#[derive(Debug, Clone, Copy)]
enum Trust {
    /// Not configured, or not in the directory's schema.
    Off,
    /// Not checked yet, or to be checked again (a member write).
    Unchecked,
    /// The last check (at this instant) found no group with a member: trusted until
    /// [`RECHECK`] has passed.
    NoMembers(Instant),
    /// The last check (at this instant) was inconclusive (no member of the group read was an
    /// entry): not trusted until checked again after [`RECHECK`].
    Unknown(Instant),
    /// A member had it naming its group.
    Confirmed,
    /// A member lacked it.
    Contradicted,
}

/// What a query read of a user on its page.
#[derive(Debug, Clone)]
struct Note {
    dn: String,
    /// Whether its `memberOf` names some group (`None`: not read).
    in_a_group: Option<bool>,
    at: Instant,
}

/// The state of this module in an [`LdapStore`].
#[derive(Debug)]
pub(crate) struct MemberOf {
    trust: Mutex<Trust>,
    recent: Mutex<HashMap<String, Note>>,
}

impl MemberOf {
    /// `attribute` (empty: none) as the directory's schema knows it (`known`: defined, or the
    /// schema unreadable).
    pub(crate) fn new(attribute: &str, known: bool) -> MemberOf {
        let trust = if attribute.is_empty() || !known { Trust::Off } else { Trust::Unchecked };
        MemberOf { trust: Mutex::new(trust), recent: Mutex::new(HashMap::new()) }
    }

    fn trust(&self) -> Trust {
        match self.trust.lock() {
            Ok(t) => *t,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    fn set_trust(&self, trust: Trust) {
        match self.trust.lock() {
            Ok(mut t) => *t = trust,
            Err(poisoned) => *poisoned.into_inner() = trust,
        }
    }

    /// Whether reads should ask for the attribute.
    pub(crate) fn enabled(&self) -> bool {
        !matches!(self.trust(), Trust::Off | Trust::Contradicted)
    }

    /// A member was written through this store: a check that found none is out of date.
    pub(crate) fn members_written(&self) {
        if let Ok(mut t) = self.trust.lock()
            && matches!(*t, Trust::NoMembers(_) | Trust::Unknown(_))
        {
            *t = Trust::Unchecked;
        }
        self.forget();
    }

    /// Notes a user on a query's page.
    pub(crate) fn note(&self, id: &str, dn: &str, in_a_group: Option<bool>) {
        if let Ok(mut recent) = self.recent.lock() {
            if recent.len() >= RECENT_LIMIT {
                recent.clear();
            }
            recent.insert(id.to_owned(), Note { dn: dn.to_owned(), in_a_group, at: Instant::now() });
        }
    }

    /// The note of `id`, if fresh; used once.
    fn take(&self, id: &str) -> Option<Note> {
        let note = self.recent.lock().ok()?.remove(id)?;
        (note.at.elapsed() < FRESH).then_some(note)
    }

    /// Forgets every note (entries were renamed, deleted, or changed groups).
    pub(crate) fn forget(&self) {
        if let Ok(mut recent) = self.recent.lock() {
            recent.clear();
        }
    }
}

/// Whether the `memberOf` values of `entry` name some group.
pub(crate) fn in_a_group(entry: &RawEntry, attribute: &str) -> bool {
    !entry.values(attribute).is_empty()
}

impl LdapStore {
    /// The attribute to ask for with entries, where it may be trusted.
    pub(crate) fn member_of_attr(&self) -> Option<&str> {
        self.member_of.enabled().then_some(self.config.member_of_attribute.as_str())
    }

    /// Whether an entry without `memberOf` is in no group of this domain (see the module
    /// docs); checks the directory when due. A failed check is no trust (logged).
    pub(crate) async fn member_of_trusted(&self) -> bool {
        match self.member_of.trust() {
            Trust::Off | Trust::Contradicted => return false,
            Trust::Confirmed => return true,
            Trust::NoMembers(at) if at.elapsed() < RECHECK => return true,
            Trust::Unknown(at) if at.elapsed() < RECHECK => return false,
            Trust::Unchecked | Trust::NoMembers(_) | Trust::Unknown(_) => {}
        }
        let checked = match self.check_member_of().await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(domain = %self.domain, error = %e, "checking whether the directory keeps memberOf");
                Trust::Unknown(Instant::now())
            }
        };
        if matches!(checked, Trust::Contradicted) {
            tracing::info!(
                domain = %self.domain,
                attribute = %self.config.member_of_attribute,
                "the directory does not keep this attribute for the domain's groups; groups are searched"
            );
        }
        self.member_of.set_trust(checked);
        matches!(checked, Trust::Confirmed | Trust::NoMembers(_))
    }

    /// Reads one group with a member (the empty-group member aside) and up to [`SAMPLE`] of its
    /// members: the first that is an entry says whether `memberOf` is kept.
    async fn check_member_of(&self) -> StoreResult<Trust> {
        let layouts = self.layouts();
        let groups = &layouts.groups;
        let member = &self.config.member_attribute;
        let filter = match self.config.empty_group_member.as_deref() {
            Some(empty) => {
                format!("(&{}({member}=*)(!({member}={})))", groups.kind_filter, escape(empty.as_bytes()))
            }
            None => format!("(&{}({member}=*))", groups.kind_filter),
        };
        let (found, _) = self.probe(&groups.base, &filter, std::slice::from_ref(member), 1).await?;
        let Some(group) = found.first() else { return Ok(Trust::NoMembers(Instant::now())) };
        let group_dn = dn::normalize(&group.dn);
        let empty = self.config.empty_group_member.as_deref().map(dn::normalize);
        let attr = self.config.member_of_attribute.as_str();
        let sample = group
            .values(member)
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .filter(|m| empty.as_deref() != Some(dn::normalize(m).as_str()))
            .take(SAMPLE);
        for m in sample {
            if let Some(e) = self.search_base(&m, "(objectClass=*)", &[attr]).await? {
                let names_group =
                    e.values(attr).any(|g| dn::normalize(&String::from_utf8_lossy(g)) == group_dn);
                return Ok(if names_group { Trust::Confirmed } else { Trust::Contradicted });
            }
        }
        Ok(Trust::Unknown(Instant::now()))
    }

    /// The memberships of `id` from a query's fresh note of it, if there is one.
    pub(crate) async fn noted_memberships(&self, id: &str) -> StoreResult<Option<Vec<Membership>>> {
        let Some(note) = self.member_of.take(id) else { return Ok(None) };
        if note.in_a_group == Some(false) && self.member_of_trusted().await {
            return Ok(Some(Vec::new()));
        }
        Ok(Some(self.memberships_of_dn(&note.dn).await?))
    }
}
