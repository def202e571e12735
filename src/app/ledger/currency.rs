//! The currency: what anyone may read of it, and the broker's policy (code, rates, issuance,
//! demurrage).

use super::{Currency, CurrencySettings};
use crate::app::actor::Actor;
use crate::app::audit::Audit;
use crate::app::error::{AppError, AppResult, Conflict};
use crate::app::Ctx;
use crate::db::ledger as q;
use crate::db::{Atomic, Conn};
use crate::domain::audit::AuditAction;
use crate::domain::ledger::{CurrencyConfig, CurrencyInput, IssuancePolicy};
use crate::domain::validation::FieldErrors;

pub(super) async fn policy(conn: &mut Conn) -> AppResult<IssuancePolicy> {
    let currency = q::currency(conn).await?;
    let rates = q::issuance_rates(conn).await?;
    Ok(IssuancePolicy {
        default_per_kg: currency.issuance_default_per_kg,
        per_category: rates.into_iter().collect(),
    })
}

pub(super) async fn load_currency(conn: &mut Conn) -> AppResult<Currency> {
    let row = q::currency(conn).await?;
    let rates = q::issuance_rates(conn).await?;
    Ok(Currency {
        code: row.code,
        name: row.name,
        decimals: row.decimals,
        eur_rate_micros: row.eur_rate_micros,
        demurrage_bp_per_month: row.demurrage_bp_per_month,
        issuance_policy: IssuancePolicy {
            default_per_kg: row.issuance_default_per_kg,
            per_category: rates.into_iter().collect(),
        },
        version: row.version,
        updated_at: row.updated_at,
    })
}

/// `GET /currency`.
pub async fn current(ctx: &Ctx) -> AppResult<Currency> {
    let mut conn = ctx.conn().await?;
    load_currency(&mut conn).await
}

/// `PUT /admin/currency`: the broker's configuration, replaced whole. Code and decimals give
/// every stored amount its meaning, so they cannot change once money has moved.
pub async fn configure(
    ctx: &Ctx,
    actor: &Actor,
    if_match: Option<i32>,
    settings: CurrencySettings,
) -> AppResult<Currency> {
    actor.require_broker()?;
    let if_match = if_match.ok_or(AppError::PreconditionRequired)?;
    let config = CurrencyConfig::parse(CurrencyInput {
        code: settings.code,
        name: settings.name,
        decimals: settings.decimals,
        eur_rate_micros: settings.eur_rate_micros,
        demurrage_bp_per_month: settings.demurrage_bp_per_month,
        issuance: settings.issuance_policy,
    })?;
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        let current = q::lock_currency(conn).await?;
        if current.version != if_match {
            return Err(AppError::PreconditionFailed);
        }
        let before = load_currency(conn).await?;
        if config.changes_meaning_of_amounts(&current.code, current.decimals)
            && q::any_transfer(conn).await?
        {
            return Err(AppError::Conflict {
                kind: Conflict::CurrencyInUse,
                detail: "code and decimals cannot change once money has moved".into(),
            });
        }
        let mut errors = FieldErrors::new();
        let mut rates = Vec::new();
        for (code, per_kg) in &config.issuance.per_category {
            match crate::db::categories::find_by_code(conn, code).await? {
                Some(category) => rates.push((category.id, *per_kg)),
                None => errors.push(
                    format!("/issuance_policy/per_category/{code}"),
                    "unknown_category",
                    "no category has this code",
                ),
            }
        }
        errors.finish()?;
        q::update_currency(
            conn,
            &q::CurrencyChanges {
                code: config.code.as_str(),
                name: &config.name,
                decimals: i16::from(config.decimals),
                eur_rate_micros: config.eur_rate_micros,
                demurrage_bp_per_month: config.demurrage_bp_per_month,
                issuance_default_per_kg: config.issuance.default_per_kg,
                updated_at: now,
            },
        )
        .await?;
        q::replace_issuance_rates(conn, &rates).await?;
        let after = load_currency(conn).await?;
        Audit::new(AuditAction::ConfigureCurrency, None)
            .before(&before)
            .after(&after)
            .record(conn, actor, now)
            .await?;
        Ok(after)
    })
    .await
}
