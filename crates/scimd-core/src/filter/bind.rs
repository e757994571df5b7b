//! Binding a filter to the schemas: every path resolved, every operator checked against the
//! attribute's type ([`check`]). The evaluator binds the same way.

use super::ast::{CompValue, CompareOp, Filter, Span};
use super::lexer::At;
use crate::error::{ScimError, ScimResult};
use crate::name::eq_ci;
use crate::path::AttrPath;
use crate::registry::SchemaRegistry;
use crate::schema::{AttrType, AttributeDef, ResourceKind};

/// Where a filter's paths are resolved.
#[derive(Clone, Copy)]
pub(crate) enum Scope<'r> {
    /// The top level of a resource: paths resolve through the registry.
    Resource { registry: &'r SchemaRegistry, kind: ResourceKind },
    /// Inside `attr[...]`: paths name sub-attributes of `parent`.
    Element { parent: &'r AttributeDef },
}

/// A path bound to what it reads.
#[derive(Clone, Copy)]
pub(crate) enum Binding<'r> {
    /// The resource's `schemas` (RFC 7643 §3): in no schema, a multi-valued URI list.
    Schemas,
    /// An attribute, under the extension URI key `extension` if it has one.
    Attr { extension: Option<&'r str>, attr: &'r AttributeDef, sub: Option<&'r AttributeDef> },
}

/// What a comparison compares: the type and case-exactness of the values it reads.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Leaf {
    pub ty: AttrType,
    pub case_exact: bool,
}

impl Leaf {
    fn of(def: &AttributeDef) -> Leaf {
        // Binary values are base64 text: compared exactly (RFC 7643 §2.3.6).
        Leaf { ty: def.attr_type, case_exact: def.is_case_exact() || def.attr_type == AttrType::Binary }
    }
}

/// The name of a type as RFC 7643 §2.3 writes it.
pub(crate) fn type_name(ty: AttrType) -> &'static str {
    match ty {
        AttrType::String => "string",
        AttrType::Boolean => "boolean",
        AttrType::Decimal => "decimal",
        AttrType::Integer => "integer",
        AttrType::DateTime => "dateTime",
        AttrType::Binary => "binary",
        AttrType::Reference => "reference",
        AttrType::Complex => "complex",
    }
}

/// The span of the path that starts a leaf node (`Compare`, `Present`, `ValuePath`).
pub(crate) fn path_span(node: &Span, path: &AttrPath) -> Span {
    node.start..node.start + path.to_string().len()
}

impl<'r> Scope<'r> {
    /// Binds `path`; the error names it and where it is.
    pub fn bind(&self, path: &AttrPath, span: &Span) -> ScimResult<Binding<'r>> {
        match *self {
            Scope::Resource { registry, kind } => {
                if path.schema.is_none() && path.sub.is_none() && eq_ci(&path.attr, "schemas") {
                    return Ok(Binding::Schemas);
                }
                let resolved = registry.resolve(kind, path).map_err(|_| {
                    ScimError::invalid_filter(format!("unknown attribute \"{path}\" {}", At(span)))
                })?;
                let extension = resolved.is_extension.then_some(resolved.schema.id.as_str());
                Ok(Binding::Attr { extension, attr: resolved.attr, sub: resolved.sub })
            }
            Scope::Element { parent } => {
                let def = match (&path.schema, &path.sub) {
                    (None, None) => parent.sub_attribute(&path.attr),
                    _ => None,
                };
                match def {
                    Some(attr) => Ok(Binding::Attr { extension: None, attr, sub: None }),
                    None => Err(ScimError::invalid_filter(format!(
                        "\"{path}\" is not a sub-attribute of \"{}\" {}",
                        parent.name,
                        At(span)
                    ))),
                }
            }
        }
    }
}

impl<'r> Binding<'r> {
    /// What a comparison on this path compares, and the sub-attribute it reads implicitly:
    /// a multi-valued complex attribute compared without a sub-attribute compares its `value`
    /// (RFC 7644 §3.4.2.2 example `emails co "example.com"`). `None`: not comparable (a
    /// complex attribute without `value`).
    pub fn leaf(&self) -> Option<(Leaf, Option<&'r AttributeDef>)> {
        match *self {
            Binding::Schemas => Some((Leaf { ty: AttrType::Reference, case_exact: false }, None)),
            Binding::Attr { attr, sub: None, .. } if attr.attr_type == AttrType::Complex => {
                let value = attr.sub_attribute("value").filter(|_| attr.multi_valued)?;
                (value.attr_type != AttrType::Complex).then(|| (Leaf::of(value), Some(value)))
            }
            Binding::Attr { attr, sub, .. } => {
                let def = sub.unwrap_or(attr);
                (def.attr_type != AttrType::Complex).then(|| (Leaf::of(def), None))
            }
        }
    }
}

/// Checks a filter against the schemas of a resource type (RFC 7644 §3.4.2.2): every path
/// names an attribute (or, inside `[...]`, a sub-attribute), every operator applies to the
/// attribute's type and every value has that type. Errors are `invalidFilter`, naming the
/// attribute and its span.
pub fn check(filter: &Filter, registry: &SchemaRegistry, kind: ResourceKind) -> ScimResult<()> {
    check_in(filter, Scope::Resource { registry, kind })
}

/// Checks the filter of a value path (`emails[type eq "work"]`, in a filter or a PATCH path)
/// whose paths name sub-attributes of `parent`.
pub fn check_value_filter(filter: &Filter, parent: &AttributeDef) -> ScimResult<()> {
    check_in(filter, Scope::Element { parent })
}

fn check_in(filter: &Filter, scope: Scope<'_>) -> ScimResult<()> {
    match filter {
        Filter::And(l, r) | Filter::Or(l, r) => {
            check_in(l, scope)?;
            check_in(r, scope)
        }
        Filter::Not(inner) => check_in(inner, scope),
        Filter::Present { path, span } => scope.bind(path, &path_span(span, path)).map(|_| ()),
        Filter::ValuePath { path, filter, span } => {
            let at = path_span(span, path);
            if let Scope::Element { parent } = scope {
                return Err(ScimError::invalid_filter(format!(
                    "value paths cannot be nested: \"{path}\" inside \"{}[...]\" {}",
                    parent.name,
                    At(&at)
                )));
            }
            match scope.bind(path, &at)? {
                Binding::Attr { attr, sub: None, .. } if attr.attr_type == AttrType::Complex => {
                    check_in(filter, Scope::Element { parent: attr })
                }
                _ => Err(ScimError::invalid_filter(format!(
                    "\"{path}\" is not a complex attribute, so it takes no value filter {}",
                    At(&at)
                ))),
            }
        }
        Filter::Compare { path, op, value, span } => {
            let binding = scope.bind(path, &path_span(span, path))?;
            let Some((leaf, _)) = binding.leaf() else {
                return Err(ScimError::invalid_filter(format!(
                    "cannot compare the complex attribute \"{path}\" without a sub-attribute {}",
                    At(&path_span(span, path))
                )));
            };
            check_operands(path, *op, value, leaf, span)
        }
    }
}

/// RFC 7644 §3.4.2.2: `gt`/`ge`/`lt`/`le` are undefined for boolean and binary attributes;
/// `co`/`sw`/`ew` match text; the value must have the attribute's type.
fn check_operands(
    path: &AttrPath,
    op: CompareOp,
    value: &CompValue,
    leaf: Leaf,
    span: &Span,
) -> ScimResult<()> {
    let ty = type_name(leaf.ty);
    let refuse = |why: String| Err(ScimError::invalid_filter(format!("{why} {}", At(span))));
    let text_like =
        matches!(leaf.ty, AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime);
    if op.is_ordering() && matches!(leaf.ty, AttrType::Boolean | AttrType::Binary) {
        return refuse(format!("operator \"{op}\" does not apply to the {ty} attribute \"{path}\""));
    }
    if op.is_substring() && !text_like {
        return refuse(format!("operator \"{op}\" does not apply to the {ty} attribute \"{path}\""));
    }
    let fits = match value {
        CompValue::Null => {
            if op != CompareOp::Eq && op != CompareOp::Ne {
                return refuse(format!("operator \"{op}\" cannot compare \"{path}\" with null"));
            }
            true
        }
        CompValue::Str(s) => {
            if leaf.ty == AttrType::DateTime
                && !op.is_substring()
                && super::eval::parse_date_time(s).is_none()
            {
                return refuse(format!(
                    "{} is not a dateTime (RFC 3339, like \"2011-05-13T04:42:34Z\") for \"{path}\"",
                    short(value)
                ));
            }
            text_like
        }
        CompValue::Num(_) => matches!(leaf.ty, AttrType::Integer | AttrType::Decimal),
        CompValue::Bool(_) => leaf.ty == AttrType::Boolean,
    };
    if fits {
        Ok(())
    } else {
        refuse(format!("cannot compare the {ty} attribute \"{path}\" with {}", short(value)))
    }
}

/// A value as the filter writes it, cut to 40 characters for an error detail.
fn short(value: &CompValue) -> String {
    let text = value.to_string();
    match text.char_indices().nth(40) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text,
    }
}
