//! Store-generic checks: what every [`UserStore`] backend must do, run by each backend's tests
//! against its real server (SQLite on a file, PostgreSQL on a throwaway cluster). A dev-dependency
//! only.
//!
//! A backend's test file names a function that makes a fresh, empty store and lets the macros
//! write one test per check:
//!
//! ```text
//! async fn fresh() -> scimd_store_testkit::FreshStore { /* a new database or schema */ }
//! scimd_store_testkit::store_checks!(fresh);
//! scimd_store_testkit::foreign_member_checks!(fresh);   // stores that keep them
//! scimd_store_testkit::settings_checks!(fresh_settings);  // stores that keep admin state
//! ```
//!
//! # Layout
//! - [`fixtures`]: fixed times, resources, members and queries the checks build on.
//! - [`checks`]: the checks, one `async fn(Arc<dyn UserStore>)` each, grouped by subject:
//!   `resources` (CRUD, uniqueness, versions), `members` (members, nested memberships, delete
//!   cascades, change_members and its concurrency), `query` (filters on indexed claims, sort,
//!   offset and keyset paging with exact totals), `backward` (backward keyset pages, RFC 9865
//!   `previousCursor`, and [`checks::backward::assert_backward_pages`] for stores that seed
//!   their own resources), `foreign` (members from other domains and
//!   `forget_member`), `settings` (versioned admin documents).
//! - [`differential`]: the property test generator (random users, random filters from the
//!   grammar, random sort keys) and its check: the store's answer, through
//!   `scimd_claims::rewrite`, is the in-memory evaluator's, in the same order when sorted.
//!
//! Checks assert (they are tests): a failure panics with what differed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed check is a panic with its message"
)]

pub mod checks;
pub mod differential;
pub mod fixtures;

use std::any::Any;
use std::sync::Arc;

use scimd_store::{SettingsStore, UserStore};

/// A fresh, empty store for one check, with whatever must live as long as it (a temporary
/// directory).
pub struct FreshStore {
    pub store: Arc<dyn UserStore>,
    _keep: Option<Box<dyn Any + Send + Sync>>,
}

impl FreshStore {
    pub fn new(store: Arc<dyn UserStore>) -> Self {
        FreshStore { store, _keep: None }
    }

    /// A store that needs `keep` (dropped after the check) to live.
    pub fn keeping(store: Arc<dyn UserStore>, keep: impl Any + Send + Sync) -> Self {
        FreshStore { store, _keep: Some(Box::new(keep)) }
    }
}

/// A fresh, empty settings store for one check, with whatever must live as long as it.
pub struct FreshSettings {
    pub store: Arc<dyn SettingsStore>,
    _keep: Option<Box<dyn Any + Send + Sync>>,
}

impl FreshSettings {
    pub fn new(store: Arc<dyn SettingsStore>) -> Self {
        FreshSettings { store, _keep: None }
    }

    pub fn keeping(store: Arc<dyn SettingsStore>, keep: impl Any + Send + Sync) -> Self {
        FreshSettings { store, _keep: Some(Box::new(keep)) }
    }
}

/// One `#[tokio::test]` per check in `$module`, each on a fresh store from `$fresh` (an async
/// fn returning [`FreshStore`] or [`FreshSettings`]). The calling crate needs tokio with the
/// `macros` and `rt-multi-thread` features.
#[macro_export]
#[doc(hidden)]
macro_rules! __tests {
    ($fresh:path, $module:ident: $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let fresh = $fresh().await;
                $crate::checks::$module::$check(::std::sync::Arc::clone(&fresh.store)).await;
            }
        )*
    };
}

/// The checks every [`UserStore`] passes.
#[macro_export]
macro_rules! store_checks {
    ($fresh:path) => {
        $crate::__tests!($fresh, resources:
            create_then_get_returns_what_was_stored,
            get_is_none_for_an_absent_id_or_another_kind,
            times_are_kept_to_the_nanosecond_as_instants,
            create_refuses_a_user_name_taken_in_another_case,
            create_refuses_a_user_name_taken_in_another_unicode_case,
            create_refuses_a_taken_id,
            a_group_may_share_a_name_with_a_user,
            concurrent_creates_of_one_user_name_admit_exactly_one,
            replace_with_a_wrong_version_is_refused_with_the_current_one,
            replace_with_the_right_version_bumps_version_and_last_modified,
            replace_of_an_absent_resource_or_another_kind_is_not_found,
            replace_refuses_the_user_name_of_another_user,
            delete_checks_version_kind_and_existence,
            remove_claim_drops_it_from_every_resource_of_the_kind,
        );
        $crate::__tests!($fresh, members:
            create_group_keeps_members_in_order_with_kinds_and_display,
            create_group_refuses_an_unknown_member,
            create_group_refuses_a_member_of_another_kind,
            a_group_cannot_be_its_own_member,
            replace_members_keeps_the_order_of_kept_ones_and_appends_new_ones,
            replace_of_a_big_group_adding_one_keeps_the_rest,
            delete_of_a_user_removes_it_from_groups_and_bumps_their_version,
            delete_of_a_group_removes_it_from_parent_groups,
            memberships_report_direct_and_indirect_groups,
            memberships_terminate_on_a_cycle,
            memberships_of_a_page_and_get_with_memberships_agree,
            change_members_touches_only_the_members_named,
            change_members_is_all_or_nothing_and_checks_versions,
            change_members_with_claims_replaces_the_claims,
            concurrent_change_members_all_take_effect,
            members_slices_are_the_members_in_order_with_the_version,
        );
        $crate::__tests!($fresh, query:
            query_eq_user_name_ignores_case,
            query_eq_external_id_is_exact_unless_asked_otherwise,
            query_eq_display_name_per_kind,
            query_eq_other_claims_reads_values_lists_and_numbers,
            query_and_or_not_combine,
            query_member_filters_find_groups,
            query_pages_in_creation_order_with_exact_totals,
            query_with_limit_zero_returns_the_total_alone,
            query_of_groups_loads_members_when_asked,
            query_sorts_with_nulls_last_ascending_and_first_descending,
            query_sorted_pages_with_offsets_follow_the_sort,
            keyset_walk_visits_each_resource_once_during_writes,
            keyset_walk_of_a_sorted_query_follows_the_sort,
        );
        $crate::__tests!($fresh, backward:
            backward_pages_are_slices_of_the_forward_order,
            backward_page_before_the_first_match_is_empty,
        );
    };
}

/// The checks of members from other domains (RFC 7643 §4.2 `members` of a group that live in
/// another domain), for stores that keep them.
#[macro_export]
macro_rules! foreign_member_checks {
    ($fresh:path) => {
        $crate::__tests!($fresh, foreign:
            members_of_other_domains_are_kept_as_given,
            members_of_other_domains_are_found_by_memberships_and_filters,
            change_members_adds_and_removes_members_of_other_domains,
            replace_keeps_members_of_other_domains_by_difference,
            forget_member_removes_a_member_of_another_domain_from_every_group,
        );
    };
}

/// The checks of [`SettingsStore`].
#[macro_export]
macro_rules! settings_checks {
    ($fresh:path) => {
        $crate::__tests!($fresh, settings:
            settings_are_versioned_and_refuse_stale_writes,
            concurrent_saves_on_one_version_admit_exactly_one,
        );
    };
}
