//! The taxonomy: reading the category tree, and the broker keeping it.

use super::actor::Actor;
use super::audit::Audit;
use super::error::{is_unique_violation, AppError, AppResult, Conflict};
use super::Ctx;
use crate::db::categories::{self as q, CategoryChanges, CategoryRow, NewCategoryRow};
use crate::db::listings::{category_subtree, CategoryKey};
use crate::db::Pool;
use crate::db::{Atomic, Conn};
use crate::domain::audit::AuditAction;
use crate::domain::validation::{bounded_text, FieldErrors, Invalid};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Category {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    #[schema(example = "doors-interior")]
    pub code: String,
    pub name_nl: String,
    pub name_en: String,
    /// EURAL codes of the waste this category becomes.
    pub eural_codes: Vec<String>,
}

impl From<CategoryRow> for Category {
    fn from(row: CategoryRow) -> Self {
        Category {
            id: row.id,
            parent_id: row.parent_id,
            code: row.code,
            name_nl: row.name_nl,
            name_en: row.name_en,
            eural_codes: row.eural_codes.into_iter().flatten().collect(),
        }
    }
}

/// A new category from the broker.
#[derive(Debug, Clone)]
pub struct NewCategory {
    pub code: String,
    pub parent_id: Option<Uuid>,
    pub name_nl: String,
    pub name_en: String,
    pub eural_codes: Vec<String>,
}

/// Changes to a category; `parent_id: Some(None)` moves it to the root.
#[derive(Debug, Clone, Default)]
pub struct CategoryPatch {
    pub parent_id: Option<Option<Uuid>>,
    pub name_nl: Option<String>,
    pub name_en: Option<String>,
    pub eural_codes: Option<Vec<String>>,
}

/// Category subtrees for stock searches, each kept for a few seconds. Brokers change the tree
/// rarely, and a search that sees such a change a few seconds late (on another instance) is
/// harmless; this instance's own changes clear the cache at once. Unknown categories are never
/// kept, so a new category is found at once everywhere.
#[derive(Debug, Default)]
pub struct Subtrees {
    kept: Mutex<HashMap<String, (Instant, Vec<Uuid>)>>,
}

/// How long a subtree is kept.
const SUBTREE_TTL: Duration = Duration::from_secs(10);
/// At most this many are kept (by key as the client wrote it); when full, the cache starts over.
const SUBTREES_KEPT: usize = 1024;

impl Subtrees {
    /// The category (an id or a code) and all its descendants; `None` when there is none.
    pub async fn get(&self, pool: &Pool, key: &str) -> AppResult<Option<Vec<Uuid>>> {
        let now = Instant::now();
        if let Some((at, ids)) = self.lock().get(key) {
            if now.duration_since(*at) < SUBTREE_TTL {
                return Ok(Some(ids.clone()));
            }
        }
        let lookup = match Uuid::parse_str(key) {
            Ok(id) => CategoryKey::Id(id),
            Err(_) => CategoryKey::Code(key),
        };
        let found = category_subtree(&mut *pool.get().await?, lookup).await?;
        if let Some(ids) = &found {
            let mut kept = self.lock();
            if kept.len() >= SUBTREES_KEPT {
                kept.clear();
            }
            kept.insert(key.to_owned(), (now, ids.clone()));
        }
        Ok(found)
    }

    /// Forgets every subtree: the tree has changed.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Vec<Uuid>)>> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn check_code(code: &str) -> Result<String, Invalid> {
    let ok = !code.is_empty()
        && code.len() <= 63
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !code.starts_with('-');
    if ok {
        Ok(code.to_owned())
    } else {
        Err(Invalid::new(
            "invalid_code",
            "must be 1 to 63 lower-case letters, digits and hyphens",
        ))
    }
}

pub async fn list(ctx: &Ctx) -> AppResult<Vec<Category>> {
    let mut conn = ctx.conn().await?;
    Ok(q::all(&mut conn)
        .await?
        .into_iter()
        .map(Category::from)
        .collect())
}

async fn check_eural(conn: &mut Conn, codes: &[String], errors: &mut FieldErrors) -> AppResult<()> {
    for code in q::unknown_eural_codes(conn, codes).await? {
        let index = codes.iter().position(|c| *c == code).unwrap_or_default();
        errors.push(
            format!("/eural_codes/{index}"),
            "unknown_eural_code",
            format!("{code:?} is not on the European List of Waste"),
        );
    }
    Ok(())
}

pub async fn create(ctx: &Ctx, actor: &Actor, input: NewCategory) -> AppResult<Category> {
    actor.require_broker()?;
    let mut errors = FieldErrors::new();
    errors.take("/code", check_code(&input.code));
    errors.take("/name_nl", bounded_text(&input.name_nl, 1, 120));
    errors.take("/name_en", bounded_text(&input.name_en, 1, 120));
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    check_eural(&mut conn, &input.eural_codes, &mut errors).await?;
    if let Some(parent) = input.parent_id {
        if q::find(&mut conn, parent).await?.is_none() {
            errors.push("/parent_id", "unknown_category", "no category with that id");
        }
    }
    errors.finish()?;
    let code = input.code.clone();
    let row = conn
        .transaction::<_, crate::db::Error, _>(async move |conn| {
            let row = q::insert(
                conn,
                &NewCategoryRow {
                    id: Uuid::now_v7(),
                    parent_id: input.parent_id,
                    code: &input.code,
                    name_nl: input.name_nl.trim(),
                    name_en: input.name_en.trim(),
                    eural_codes: &input.eural_codes,
                    created_at: now,
                    updated_at: now,
                },
            )
            .await?;
            Audit::new(AuditAction::CreateCategory, Some(row.id))
                .after(&Category::from(row.clone()))
                .record(conn, actor, now)
                .await?;
            Ok(row)
        })
        .await
        .map_err(|error| {
            if is_unique_violation(&error, "categories_code_key") {
                AppError::Conflict {
                    kind: Conflict::CodeTaken,
                    detail: format!("a category with code {code:?} exists"),
                }
            } else {
                error.into()
            }
        })?;
    ctx.subtrees.clear();
    Ok(row.into())
}

/// True when `candidate` is `id` itself or lies below it.
fn is_within(rows: &[CategoryRow], id: Uuid, candidate: Uuid) -> bool {
    let parents: HashMap<Uuid, Option<Uuid>> =
        rows.iter().map(|row| (row.id, row.parent_id)).collect();
    let mut current = Some(candidate);
    let mut steps = 0;
    while let Some(node) = current {
        if node == id {
            return true;
        }
        steps += 1;
        if steps > rows.len() {
            return true;
        }
        current = parents.get(&node).copied().flatten();
    }
    false
}

pub async fn update(
    ctx: &Ctx,
    actor: &Actor,
    id: Uuid,
    patch: CategoryPatch,
) -> AppResult<Category> {
    actor.require_broker()?;
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            // One broker at a time reshapes the tree, so that two moves cannot make a cycle.
            q::lock_tree(conn).await?;
            let rows = q::all(conn).await?;
            let Some(before) = rows.iter().find(|row| row.id == id).cloned() else {
                return Err(AppError::NotFound("category"));
            };
            let mut errors = FieldErrors::new();
            if let Some(name) = &patch.name_nl {
                errors.take("/name_nl", bounded_text(name, 1, 120));
            }
            if let Some(name) = &patch.name_en {
                errors.take("/name_en", bounded_text(name, 1, 120));
            }
            if let Some(codes) = &patch.eural_codes {
                check_eural(conn, codes, &mut errors).await?;
            }
            if let Some(Some(parent)) = patch.parent_id {
                if !rows.iter().any(|row| row.id == parent) {
                    errors.push("/parent_id", "unknown_category", "no category with that id");
                } else if is_within(&rows, id, parent) {
                    errors.push("/parent_id", "cycle", "a category cannot move below itself");
                }
            }
            errors.finish()?;
            let changes = CategoryChanges {
                parent_id: patch.parent_id,
                name_nl: patch.name_nl.as_deref().map(str::trim),
                name_en: patch.name_en.as_deref().map(str::trim),
                eural_codes: patch.eural_codes.as_deref(),
                updated_at: now,
            };
            let row = q::update(conn, id, &changes).await?;
            Audit::new(AuditAction::UpdateCategory, Some(id))
                .before(&Category::from(before))
                .after(&Category::from(row.clone()))
                .record(conn, actor, now)
                .await?;
            Ok(row)
        })
        .await?;
    ctx.subtrees.clear();
    Ok(row.into())
}

pub async fn delete(ctx: &Ctx, actor: &Actor, id: Uuid) -> AppResult<()> {
    actor.require_broker()?;
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        q::lock_tree(conn).await?;
        let before = q::find(conn, id).await?.ok_or(AppError::NotFound("category"))?;
        if q::is_in_use(conn, id).await? {
            return Err(AppError::Conflict {
                kind: Conflict::CategoryInUse,
                detail: "the category has subcategories, passports or listings; move or rename it instead".into(),
            });
        }
        q::delete(conn, id).await?;
        Audit::new(AuditAction::DeleteCategory, Some(id))
            .before(&Category::from(before))
            .record(conn, actor, now)
            .await?;
        Ok(())
    })
    .await?;
    ctx.subtrees.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn row(id: u128, parent: Option<u128>) -> CategoryRow {
        CategoryRow {
            id: Uuid::from_u128(id),
            parent_id: parent.map(Uuid::from_u128),
            code: id.to_string(),
            name_nl: String::new(),
            name_en: String::new(),
            eural_codes: vec![],
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn moving_below_oneself_is_a_cycle() {
        let rows = vec![row(1, None), row(2, Some(1)), row(3, Some(2)), row(4, None)];
        let id = |n| Uuid::from_u128(n);
        assert!(is_within(&rows, id(1), id(3)));
        assert!(is_within(&rows, id(2), id(2)));
        assert!(!is_within(&rows, id(3), id(1)));
        assert!(!is_within(&rows, id(1), id(4)));
    }

    #[test]
    fn codes_are_checked() {
        assert!(check_code("doors-interior").is_ok());
        assert!(check_code("Doors").is_err());
        assert!(check_code("-x").is_err());
        assert!(check_code("").is_err());
    }
}
