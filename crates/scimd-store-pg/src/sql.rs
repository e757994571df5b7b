//! A statement being built: its text and its parameters, numbered `$1`, `$2`, … in the order
//! they were bound, each with the type the statement is told. A built statement is prepared
//! once per connection and kept (a bounded cache), so that the shapes a server repeats (the
//! lookup by userName before each create) are planned once; PostgreSQL plans a prepared
//! statement for the values at hand its first times, then settles on a generic plan if that
//! costs no more (the index tests check the generic plans use the indexes too).
//!
//! A parameter is referred to by its number, so the same text may use it more than once (the
//! filter of a query appears in its count and in its page; both read the same parameters).

use deadpool_postgres::ClientWrapper;
use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};

/// How many statements a connection keeps prepared before it forgets them all. The shapes of
/// the statements a server sends repeat (a client's lookups by userName are one shape), so a
/// few hundred cover them; the bound keeps random filters from growing the cache for ever.
const STATEMENT_CACHE: usize = 512;

/// A parameter value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param {
    Text(String),
    Int8(i64),
    Bool(bool),
}

impl Param {
    fn typed(&self) -> (&(dyn ToSql + Sync), Type) {
        match self {
            Param::Text(s) => (s, Type::TEXT),
            Param::Int8(i) => (i, Type::INT8),
            Param::Bool(b) => (b, Type::BOOL),
        }
    }

    fn value(&self) -> &(dyn ToSql + Sync) {
        self.typed().0
    }
}

/// SQL text with its parameters.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    pub(crate) text: String,
    pub(crate) params: Vec<Param>,
    /// Whether the text is worth keeping prepared: `false` for text that holds a value of the
    /// moment (an OFFSET), which the next statement is unlikely to repeat.
    pub(crate) once: bool,
}

impl Sql {
    /// Binds a parameter and returns its placeholder (`$n`).
    pub(crate) fn bind(&mut self, param: Param) -> String {
        self.params.push(param);
        format!("${}", self.params.len())
    }

    /// Binds a text parameter.
    pub(crate) fn text(&mut self, s: impl Into<String>) -> String {
        self.bind(Param::Text(s.into()))
    }

    /// The parameters as `query_typed` takes them.
    pub(crate) fn typed(&self) -> Vec<(&(dyn ToSql + Sync), Type)> {
        self.params.iter().map(Param::typed).collect()
    }

    /// Runs the statement on `client`, prepared once per connection (planning is most of the
    /// cost of a lookup by userName), or, when it is [`Sql::once`], parsed, planned and run in
    /// one round trip.
    pub(crate) async fn query(&self, client: &ClientWrapper) -> Result<Vec<Row>, tokio_postgres::Error> {
        if self.once {
            return client.query_typed(&self.text, &self.typed()).await;
        }
        if client.statement_cache.size() >= STATEMENT_CACHE {
            client.statement_cache.clear();
        }
        let types: Vec<Type> = self.params.iter().map(|p| p.typed().1).collect();
        let statement = client.prepare_typed_cached(&self.text, &types).await?;
        let values: Vec<&(dyn ToSql + Sync)> = self.params.iter().map(Param::value).collect();
        client.query(&statement, &values).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_binding_order() {
        let mut sql = Sql::default();
        let a = sql.text("a");
        let b = sql.bind(Param::Int8(2));
        sql.text = format!("{a} = {b} OR {a} IS NULL");
        assert_eq!(sql.text, "$1 = $2 OR $1 IS NULL");
        assert_eq!(sql.params, vec![Param::Text("a".into()), Param::Int8(2)]);
        assert_eq!(sql.typed()[1].1, Type::INT8);
    }
}
