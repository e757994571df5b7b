//! Lookups by userName, answered together.
//!
//! Entra ID and Okta look a user up by `userName eq "…"` before each create, so under load
//! most reads are this one lookup; for the directory, each is a search, and what a search costs
//! is mostly the search itself (an operation, a filter, a result), not the one entry it reads.
//! Lookups that arrive together share one search, `(|(uid=a)(uid=b)…)`, as
//! [`scimd_store::together`] gathers them: at most [`IN_FLIGHT`] such searches at once, each
//! started after every lookup it answers was asked, nothing kept between them.
//!
//! The entries found are shared out by the userName attribute: an entry is a lookup's if one
//! of its values equals the lookup's name without regard to case (RFC 7643 §4.1.1, as the
//! evaluator compares). An entry that is nobody's was matched by the directory's rules of its
//! own (such as ignoring spaces): where the evaluator checks the candidates (OpenLDAP's `uid`),
//! it is dropped, as the evaluator would have; where the directory's match is the answer, it
//! makes each lookup of the search run alone, as a search cut short or one that failed does,
//! so that each gets the answer or the error it would have had alone.

use std::sync::Arc;

use scimd_claims::claims::USER_NAME;
use scimd_store::together::{Together, Turn};
use scimd_store::{ResourceKind, StoreError, StoreResult};

use crate::entry::RawEntry;
use crate::store::{Layouts, LdapStore};

/// At most this many searches of lookups at once.
const IN_FLIGHT: usize = 2;
/// At most this many names in one search.
const MOST: usize = 64;

/// What a lookup's search reads: the layouts (a new attribute map makes new ones), whether
/// users are read with their `memberOf`, and whether the directory's match is the answer
/// (`exact`: the userName attribute holds one value, as Active Directory's
/// `sAMAccountName`) or candidates the evaluator checks (OpenLDAP's multi-valued `uid`).
/// Lookups share a search only if they read alike.
#[derive(Clone)]
pub(crate) struct Shape {
    pub(crate) layouts: Arc<Layouts>,
    pub(crate) member_of: bool,
    pub(crate) exact: bool,
}

impl Shape {
    fn same(&self, other: &Shape) -> bool {
        Arc::ptr_eq(&self.layouts, &other.layouts)
            && self.member_of == other.member_of
            && self.exact == other.exact
    }
}

/// A lookup waiting: what it reads, its name, and its filter compiled for the directory.
pub(crate) struct Lookup {
    shape: Shape,
    name: String,
    filter: String,
}

/// The lookups of one store waiting for a search, each answered with the entries whose
/// userName is its name (usually one, or none).
pub(crate) struct Lookups(Together<Lookup, Vec<RawEntry>>);

impl Default for Lookups {
    fn default() -> Self {
        Lookups(Together::new(IN_FLIGHT, MOST))
    }
}

impl Lookups {
    /// The entries of users of `store` named `name` (whose filter compiled for the directory
    /// is `filter`), searched together with the lookups waiting; `None` when the lookup is to
    /// run alone.
    pub(crate) async fn find(
        &self,
        store: &LdapStore,
        shape: Shape,
        name: &str,
        filter: &str,
    ) -> Option<Vec<RawEntry>> {
        let lookup = Lookup { shape, name: name.to_owned(), filter: filter.to_owned() };
        let batch = match self.0.join(lookup, |own, other| own.shape.same(&other.shape)).await {
            Turn::Answered(entries) => return Some(entries),
            Turn::Alone => return None,
            Turn::Lead(batch) => batch,
        };
        let names: Vec<&str> = batch.items().map(|l| l.name.as_str()).collect();
        let filters: Vec<&str> = batch.items().map(|l| l.filter.as_str()).collect();
        let shape = batch.items().next().map(|l| l.shape.clone())?;
        match store.search_names(&shape, &names, &filters).await {
            Ok(Some(found)) => batch.answer(found),
            Ok(None) => {
                batch.alone();
                None
            }
            Err(e) => {
                tracing::debug!(error = %e, lookups = names.len(), "a search of lookups failed; each runs alone");
                batch.alone();
                None
            }
        }
    }
}

impl LdapStore {
    /// One search for the users named `names` (their filters `filters`), as a lookup alone
    /// searches: the entries each name's lookup would find, in the order of `names`; `None`
    /// if they cannot be told apart (an entry that is no name's) or the search was cut short.
    async fn search_names(
        &self,
        shape: &Shape,
        names: &[&str],
        filters: &[&str],
    ) -> StoreResult<Option<Vec<Vec<RawEntry>>>> {
        let layout = shape.layouts.of(ResourceKind::User);
        let Some(attribute) = layout.map.of_claim(USER_NAME).map(|e| e.attribute.as_str()) else {
            return Ok(None);
        };
        let filter = match filters {
            [one] => layout.narrowed(one),
            _ => layout.narrowed(&format!("(|{})", filters.concat())),
        };
        let attrs = layout.read_attrs(false, shape.member_of);
        let entries = if shape.exact {
            // As a lookup alone: the matches in one request, if they fit in a page.
            let (entries, complete) =
                self.probe(&layout.base, &filter, attrs, u64::from(self.config.page_size)).await?;
            if !complete {
                return Ok(None);
            }
            entries
        } else {
            // As a lookup alone: at most `max_candidates`, which several names may pass where
            // each alone does not.
            match self.lookup(&layout.base, &filter, attrs, Some(self.config.max_candidates)).await {
                Ok(entries) => entries,
                Err(StoreError::TooMany { .. }) => return Ok(None),
                Err(e) => return Err(e),
            }
        };
        Ok(share_out(entries, names, attribute, shape.exact))
    }
}

/// The entries of each of `names`: those with a value of `attribute` equal to the name without
/// regard to case, as the evaluator compares userName (it reads one of those values), so that
/// each lookup gets every entry it would accept of those it would have found alone. An entry
/// that is nobody's: `None` if the directory's match is the answer (`exact`), as that lookup
/// alone would have returned it; dropped otherwise, as the evaluator would have.
fn share_out(
    entries: Vec<RawEntry>,
    names: &[&str],
    attribute: &str,
    exact: bool,
) -> Option<Vec<Vec<RawEntry>>> {
    let folded: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
    let mut found: Vec<Vec<RawEntry>> = (0..names.len()).map(|_| Vec::new()).collect();
    for entry in entries {
        let values: Vec<String> =
            entry.values(attribute).map(|v| String::from_utf8_lossy(v).to_lowercase()).collect();
        let owners: Vec<usize> = (0..names.len()).filter(|&i| values.contains(&folded[i])).collect();
        let Some((&last, rest)) = owners.split_last() else {
            if exact {
                return None;
            }
            continue;
        };
        for &i in rest {
            found[i].push(entry.clone());
        }
        found[last].push(entry);
    }
    Some(found)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    use crate::entry::parse_entry_for_tests;

    fn entry(dn: &str, uids: &[&str]) -> RawEntry {
        parse_entry_for_tests(dn, &[("uid", uids), ("cn", &["x"])])
    }

    #[test]
    fn entries_go_to_the_names_their_user_name_values_equal_without_case() {
        let entries = vec![entry("uid=kim,o=x", &["Kim"]), entry("uid=lee,o=x", &["lee", "Lee2"])];
        let found = share_out(entries, &["KIM", "nobody", "lee2", "kim"], "uid", true).unwrap();
        let dns: Vec<Vec<&str>> = found.iter().map(|es| es.iter().map(|e| e.dn.as_str()).collect()).collect();
        assert_eq!(dns, [vec!["uid=kim,o=x"], vec![], vec!["uid=lee,o=x"], vec!["uid=kim,o=x"]]);
    }

    #[test]
    fn an_entry_that_is_nobodys_is_dropped_or_leaves_the_names_to_run_alone() {
        // The directory ignores the spaces in "kim  lee"; SCIM's comparison does not.
        let entries = || vec![entry("uid=kim lee,o=x", &["kim lee"]), entry("uid=ann,o=x", &["ann"])];
        // Candidates the evaluator checks: it would refuse that entry.
        let found = share_out(entries(), &["kim  lee", "Ann"], "uid", false).unwrap();
        assert_eq!(found.iter().map(Vec::len).collect::<Vec<_>>(), [0, 1]);
        // The directory's match is the answer: the lookup alone would have returned it.
        assert!(share_out(entries(), &["kim  lee", "Ann"], "uid", true).is_none());
    }
}
