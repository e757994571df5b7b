//! The store-generic checks of `scimd-store-testkit`, each on a schema of its own.

use super::server::{fresh, fresh_settings};

scimd_store_testkit::store_checks!(fresh);
scimd_store_testkit::foreign_member_checks!(fresh);
scimd_store_testkit::settings_checks!(fresh_settings);
