//! `scimd schema ...`: the admin API's schema endpoints (`/admin/v1/schemas`, docs/schemas.md)
//! from the command line, against a running server over HTTP. Responses are printed as JSON;
//! an error answer is printed with its status and detail, and the command exits non-zero.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

/// Where the server is and how to authenticate.
#[derive(Args)]
pub struct Remote {
    /// The server's root URL (the admin API is under /admin/v1). Plain HTTP only.
    #[arg(long, env = "SCIMD_URL", default_value = "http://127.0.0.1:8080", value_name = "URL")]
    url: String,
    /// The admin token.
    #[arg(long, env = "SCIMD_ADMIN_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    token: String,
}

#[derive(Subcommand)]
pub enum SchemaCommand {
    /// List the schemas in force (built-in and custom).
    List,
    /// Show one schema with its attributes, their claim URIs and local claims (default: the
    /// custom extension).
    Show {
        /// The schema URI.
        uri: Option<String>,
    },
    /// Add an attribute to the custom extension (RFC 7643 §7 characteristics).
    AddAttribute(Box<AddAttribute>),
    /// Delete an attribute of the custom extension. With values stored, --confirm is needed,
    /// and deletes them too.
    DeleteAttribute {
        /// The attribute's name.
        name: String,
        /// Delete the values users hold too.
        #[arg(long)]
        confirm: bool,
        /// The schema URI (default: the custom extension).
        #[arg(long, value_name = "URI")]
        schema: Option<String>,
    },
}

#[derive(Args)]
pub struct AddAttribute {
    /// The attribute's name (RFC 7643 §2.1: a letter, then letters, digits, "-" or "_").
    name: String,
    /// string, boolean, decimal, integer, dateTime, binary, reference or complex.
    #[arg(long = "type", default_value = "string", value_name = "TYPE")]
    attr_type: String,
    /// The attribute holds a list of values.
    #[arg(long)]
    multi_valued: bool,
    /// What the attribute is, as /Schemas shows it.
    #[arg(long, value_name = "TEXT")]
    description: Option<String>,
    /// Every write must give a value.
    #[arg(long)]
    required: bool,
    /// Values compare with regard to case (string, reference, binary).
    #[arg(long)]
    case_exact: bool,
    /// readOnly, readWrite (default), immutable or writeOnly.
    #[arg(long, value_name = "MUTABILITY")]
    mutability: Option<String>,
    /// always, never, default (default) or request.
    #[arg(long, value_name = "RETURNED")]
    returned: Option<String>,
    /// none (default), server or global.
    #[arg(long, value_name = "UNIQUENESS")]
    uniqueness: Option<String>,
    /// A canonical value (repeat for several).
    #[arg(long = "canonical-value", value_name = "VALUE")]
    canonical_values: Vec<String>,
    /// A reference type of a reference attribute (repeat for several; default external).
    #[arg(long = "reference-type", value_name = "TYPE")]
    reference_types: Vec<String>,
    /// A sub-attribute of a complex attribute: NAME or NAME:TYPE, or a JSON attribute definition
    /// ('{"name": "serial", "caseExact": true}'). Repeat for several.
    #[arg(long = "sub-attribute", value_name = "SPEC")]
    sub_attributes: Vec<String>,
    /// The local claim that keeps the values (default urn:scimd:claims:NAME).
    #[arg(long, value_name = "URI")]
    local_claim: Option<String>,
    /// The schema URI (default: the custom extension).
    #[arg(long, value_name = "URI")]
    schema: Option<String>,
}

impl AddAttribute {
    /// The definition the admin API takes.
    fn definition(&self) -> anyhow::Result<Value> {
        let mut d = Map::new();
        d.insert("name".into(), json!(self.name));
        d.insert("type".into(), json!(self.attr_type));
        d.insert("multiValued".into(), json!(self.multi_valued));
        d.insert("required".into(), json!(self.required));
        if self.case_exact {
            d.insert("caseExact".into(), json!(true));
        }
        let optional = [
            ("description", &self.description),
            ("mutability", &self.mutability),
            ("returned", &self.returned),
            ("uniqueness", &self.uniqueness),
            ("localClaim", &self.local_claim),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                d.insert(key.into(), json!(v));
            }
        }
        if !self.canonical_values.is_empty() {
            d.insert("canonicalValues".into(), json!(self.canonical_values));
        }
        if !self.reference_types.is_empty() {
            d.insert("referenceTypes".into(), json!(self.reference_types));
        }
        if !self.sub_attributes.is_empty() {
            let subs =
                self.sub_attributes.iter().map(|s| sub_attribute(s)).collect::<anyhow::Result<Vec<_>>>()?;
            d.insert("subAttributes".into(), Value::Array(subs));
        }
        Ok(Value::Object(d))
    }
}

/// `NAME[:TYPE]` or a JSON object.
fn sub_attribute(spec: &str) -> anyhow::Result<Value> {
    let spec = spec.trim();
    if spec.starts_with('{') {
        return serde_json::from_str(spec)
            .with_context(|| format!("--sub-attribute {spec} is not valid JSON"));
    }
    Ok(match spec.split_once(':') {
        Some((name, ty)) => json!({"name": name, "type": ty}),
        None => json!({"name": spec}),
    })
}

/// Percent-encodes a path segment (a schema URI may hold `/`).
fn segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~:$".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let url = format!("{}/admin/v1{path}", self.base);
        let mut req = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let resp = req.send().await.with_context(|| format!("cannot reach {url}"))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if !status.is_success() {
            let detail =
                value.get("detail").and_then(Value::as_str).map_or_else(|| value.to_string(), str::to_string);
            bail!("{status}: {detail}");
        }
        Ok(value)
    }

    /// The URI of the custom extension, from the server.
    async fn custom_uri(&self) -> anyhow::Result<String> {
        let list = self.call(reqwest::Method::GET, "/schemas", None).await?;
        list.get("schemas")
            .and_then(Value::as_array)
            .and_then(|l| l.iter().find(|s| s.get("builtIn") == Some(&Value::Bool(false))))
            .and_then(|s| s.get("id").and_then(Value::as_str))
            .map(str::to_string)
            .context("the server has no custom extension (scim2.enable_custom_schema_extension = false?)")
    }

    async fn schema_or_custom(&self, uri: Option<&String>) -> anyhow::Result<String> {
        match uri {
            Some(u) => Ok(u.clone()),
            None => self.custom_uri().await,
        }
    }
}

/// Runs a `scimd schema` command.
pub fn run(remote: Remote, command: SchemaCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let client = Client {
        http: reqwest::Client::new(),
        base: remote.url.trim_end_matches('/').to_string(),
        token: remote.token,
    };
    let out = runtime.block_on(async {
        use reqwest::Method;
        match command {
            SchemaCommand::List => client.call(Method::GET, "/schemas", None).await,
            SchemaCommand::Show { uri } => {
                let uri = client.schema_or_custom(uri.as_ref()).await?;
                client.call(Method::GET, &format!("/schemas/{}", segment(&uri)), None).await
            }
            SchemaCommand::AddAttribute(add) => {
                let uri = client.schema_or_custom(add.schema.as_ref()).await?;
                let def = add.definition()?;
                client.call(Method::POST, &format!("/schemas/{}/attributes", segment(&uri)), Some(&def)).await
            }
            SchemaCommand::DeleteAttribute { name, confirm, schema } => {
                let uri = client.schema_or_custom(schema.as_ref()).await?;
                let query = if confirm { "?confirm=true" } else { "" };
                let path = format!("/schemas/{}/attributes/{}{query}", segment(&uri), segment(&name));
                client.call(Method::DELETE, &path, None).await
            }
        }
    })?;
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sub_attribute_specs() {
        assert_eq!(sub_attribute("serial").unwrap(), json!({"name": "serial"}));
        assert_eq!(sub_attribute("floor:integer").unwrap(), json!({"name": "floor", "type": "integer"}));
        assert_eq!(
            sub_attribute(r#"{"name": "x", "caseExact": true}"#).unwrap(),
            json!({"name": "x", "caseExact": true})
        );
        assert!(sub_attribute("{bad").is_err());
    }

    #[test]
    fn schema_uris_are_one_path_segment() {
        assert_eq!(segment("urn:scim:wso2:schema"), "urn:scim:wso2:schema");
        assert_eq!(segment("https://x.example/s"), "https:%2F%2Fx.example%2Fs");
    }
}
