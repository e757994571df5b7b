//! RFC 7643 §7 `uniqueness` of extension attributes (the custom ones an admin marks `server` or
//! `global`; the store itself enforces `userName`): before a write, a query looks for another
//! resource of the kind with one of the values, and a match is 409 `uniqueness` naming the
//! attribute. Values compare as filters do (`caseExact`).
//!
//! **Not a database constraint.** Two concurrent writes of one new value can both pass the
//! check; docs/schemas.md says so. `global` is checked as `server` (scimd is the only service
//! provider it knows). Sub-attributes cannot be marked unique (`scimd_core::custom`).

use super::resources::store_error;
use crate::app::SharedState;
use crate::error::ApiResult;
use scimd_claims::{ClaimPath, Column};
use scimd_core::filter::{CompValue, CompareOp};
use scimd_core::schema::{AttrType, Uniqueness};
use scimd_core::{ResourceKind, ScimError};
use scimd_store::{ClaimFilter, StoreQuery};
use serde_json::{Map, Value};

fn comp_value(v: &Value) -> Option<CompValue> {
    match v {
        Value::String(s) => Some(CompValue::Str(s.clone())),
        Value::Number(n) => Some(CompValue::Num(n.clone())),
        _ => None,
    }
}

/// Refuses `resource` (normalised, about to be written as the resource `id`, or created when
/// `id` is `None`) if a unique extension attribute has a value another resource has.
pub(super) async fn check(
    state: &SharedState,
    kind: ResourceKind,
    id: Option<&str>,
    resource: &Map<String, Value>,
) -> ApiResult<()> {
    let schemas = state.schemas();
    for ext in schemas.registry.extensions(kind) {
        let Some(Value::Object(obj)) = resource.get(&ext.id) else { continue };
        let unique = ext
            .attributes
            .iter()
            .filter(|a| a.uniqueness() != Uniqueness::None && a.attr_type != AttrType::Complex);
        for def in unique {
            let Some(value) = obj.get(&def.name) else { continue };
            let Some(claim) = schemas.mapping.local_claim_of(kind, Some(&ext.id), &def.name, None) else {
                continue;
            };
            let values = match value {
                Value::Array(items) => items.iter().filter_map(comp_value).collect::<Vec<_>>(),
                v => comp_value(v).into_iter().collect(),
            };
            if values.is_empty() {
                continue;
            }
            let compare = |value: CompValue| ClaimFilter::Compare {
                path: ClaimPath::Claim { claim: claim.to_string(), sub: None },
                op: CompareOp::Eq,
                value,
                attr_type: def.attr_type,
                case_exact: def.is_case_exact(),
            };
            let mut filter = ClaimFilter::Or(values.into_iter().map(compare).collect());
            if let Some(id) = id {
                let me = ClaimFilter::Compare {
                    path: ClaimPath::Column(Column::Id),
                    op: CompareOp::Eq,
                    value: CompValue::Str(id.to_string()),
                    attr_type: AttrType::String,
                    case_exact: true,
                };
                filter = ClaimFilter::And(vec![filter, ClaimFilter::Not(Box::new(me))]);
            }
            let query = StoreQuery {
                kind,
                filter,
                offset: 0,
                limit: 0,
                with_members: false,
                sort: None,
                after: None,
                before: None,
            };
            let page = state.store.query(&query).await.map_err(|e| store_error(kind, id, e))?;
            if page.total > 0 {
                return Err(ScimError::uniqueness(format!(
                    "{}:{} is already in use by another {} (uniqueness {})",
                    ext.id,
                    def.name,
                    kind.name(),
                    if def.uniqueness() == Uniqueness::Global { "global" } else { "server" }
                ))
                .into());
            }
        }
    }
    Ok(())
}
