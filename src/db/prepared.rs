//! Statements whose text is built at run time and still prepared once per connection.
//!
//! diesel never caches `sql_query` statements, so each one is parsed and planned on every
//! execution. A [`Prepared`] statement is cached by diesel-async per connection and text, so
//! PostgreSQL parses it once and, after a few executions, keeps a generic plan. Its text must
//! therefore depend only on the shape of a request, never on its values: values are binds.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{
    Array, BigInt, Double, Float4, Jsonb, Nullable, SmallInt, Text, Timestamptz, Untyped,
    Uuid as SqlUuid,
};
use diesel::QueryResult;
use uuid::Uuid;

/// One bind parameter.
#[derive(Debug, Clone)]
pub enum Bind {
    Text(String),
    OptionalText(Option<String>),
    Texts(Vec<String>),
    Uuid(Uuid),
    OptionalUuid(Option<Uuid>),
    Uuids(Vec<Uuid>),
    Double(f64),
    Real(f32),
    SmallInt(i16),
    BigInt(i64),
    BigInts(Vec<i64>),
    Timestamptz(DateTime<Utc>),
    Json(serde_json::Value),
}

#[derive(Debug, Clone)]
enum Piece {
    Sql(String),
    Bind(Bind),
}

/// A statement built piece by piece: SQL text and binds, numbered in order.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    pieces: Vec<Piece>,
    binds: usize,
}

impl Prepared {
    pub fn sql(&mut self, sql: &str) -> &mut Self {
        match self.pieces.last_mut() {
            Some(Piece::Sql(last)) => last.push_str(sql),
            _ => self.pieces.push(Piece::Sql(sql.to_owned())),
        }
        self
    }

    /// Adds a parameter at this point of the text and answers its placeholder, with which the
    /// text may refer to it again later on.
    pub fn bind(&mut self, value: Bind) -> String {
        self.pieces.push(Piece::Bind(value));
        self.binds += 1;
        format!("${}", self.binds)
    }
}

impl Prepared {
    /// Appends `template`, in which `:name` stands for the value of that name in `values`:
    /// its first use binds it, later uses repeat its placeholder. Names not in `values`, and
    /// casts (`::type`), are left as they are.
    pub fn template(&mut self, template: &str, values: &[(&str, Bind)]) -> &mut Self {
        let mut placeholders: Vec<Option<String>> = vec![None; values.len()];
        let mut rest = template;
        while let Some(at) = rest.find(':') {
            let (before, after) = rest.split_at(at);
            self.sql(before);
            let after = &after[1..];
            if let Some(cast) = after.strip_prefix(':') {
                self.sql("::");
                rest = cast;
                continue;
            }
            let name_len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            let name = &after[..name_len];
            match values
                .iter()
                .position(|(known, _)| *known == name && !name.is_empty())
            {
                Some(index) => {
                    let placeholder = match &placeholders[index] {
                        Some(placeholder) => {
                            let placeholder = placeholder.clone();
                            self.sql(&placeholder);
                            placeholder
                        }
                        None => self.bind(values[index].1.clone()),
                    };
                    placeholders[index] = Some(placeholder);
                    rest = &after[name_len..];
                }
                None => {
                    self.sql(":");
                    rest = after;
                }
            }
        }
        self.sql(rest)
    }
}

impl QueryId for Prepared {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Prepared {
    type SqlType = Untyped;
}

impl QueryFragment<Pg> for Prepared {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // The placeholders come out numbered in order, as `bind` numbered them.
        for piece in &self.pieces {
            match piece {
                Piece::Sql(sql) => out.push_sql(sql),
                Piece::Bind(Bind::Text(v)) => out.push_bind_param::<Text, _>(v)?,
                Piece::Bind(Bind::OptionalText(v)) => {
                    out.push_bind_param::<Nullable<Text>, _>(v)?
                }
                Piece::Bind(Bind::Texts(v)) => out.push_bind_param::<Array<Text>, _>(v)?,
                Piece::Bind(Bind::Uuid(v)) => out.push_bind_param::<SqlUuid, _>(v)?,
                Piece::Bind(Bind::OptionalUuid(v)) => {
                    out.push_bind_param::<Nullable<SqlUuid>, _>(v)?
                }
                Piece::Bind(Bind::Uuids(v)) => out.push_bind_param::<Array<SqlUuid>, _>(v)?,
                Piece::Bind(Bind::Double(v)) => out.push_bind_param::<Double, _>(v)?,
                Piece::Bind(Bind::Real(v)) => out.push_bind_param::<Float4, _>(v)?,
                Piece::Bind(Bind::SmallInt(v)) => out.push_bind_param::<SmallInt, _>(v)?,
                Piece::Bind(Bind::BigInt(v)) => out.push_bind_param::<BigInt, _>(v)?,
                Piece::Bind(Bind::BigInts(v)) => out.push_bind_param::<Array<BigInt>, _>(v)?,
                Piece::Bind(Bind::Timestamptz(v)) => out.push_bind_param::<Timestamptz, _>(v)?,
                Piece::Bind(Bind::Json(v)) => out.push_bind_param::<Jsonb, _>(v)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(statement: &Prepared) -> String {
        statement
            .pieces
            .iter()
            .map(|piece| match piece {
                Piece::Sql(sql) => sql.clone(),
                Piece::Bind(_) => "?".into(),
            })
            .collect()
    }

    #[test]
    fn templates_bind_each_name_once_and_leave_casts_and_literals() {
        let mut s = Prepared::default();
        s.sql("SELECT ");
        s.template(
            "a = :x AND b = :y::int AND c = :x || ':' || :unknown",
            &[("x", Bind::BigInt(1)), ("y", Bind::Text("2".into()))],
        );
        // The first `:x` and `:y` are binds, the second `:x` repeats `$1`.
        assert_eq!(
            text(&s),
            "SELECT a = ? AND b = ?::int AND c = $1 || ':' || :unknown"
        );
        assert_eq!(s.binds, 2);
    }
}
