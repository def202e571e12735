//! Editing one's own profile (display name, language: mail follows it from the next one on)
//! and the organisation's details (owners only: name, address, location, which assigns the
//! organisation to the district it lies in).

use super::{Me, Organisation};
use crate::app::actor::Actor;
use crate::app::error::{AppError, AppResult};
use crate::app::Ctx;
use crate::db::accounts::{self as q, OrganisationProfileChange};
use crate::db::Atomic;
use crate::domain::account::Locale;
use crate::domain::geo::Location;
use crate::domain::validation::{bounded_text, FieldErrors};

/// A change to one's profile; what is `None` stays.
#[derive(Debug, Clone, Default)]
pub struct ProfileChange {
    pub display_name: Option<String>,
    pub locale: Option<Locale>,
}

/// Changes the actor's display name and language.
pub async fn update_me(ctx: &Ctx, actor: &Actor, change: ProfileChange) -> AppResult<Me> {
    let display_name = change
        .display_name
        .as_deref()
        .map(|name| bounded_text(name, 1, 100))
        .transpose()
        .map_err(|invalid| FieldErrors::single("/display_name", invalid))?;
    let now = ctx.now();
    let user_id = actor.user_id;
    let mut conn = ctx.conn().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        let user = q::lock_user_row(conn, user_id)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        let locale = match change.locale {
            Some(locale) => locale.as_str().to_owned(),
            None => user.locale.clone(),
        };
        let name = display_name.unwrap_or(user.display_name);
        q::set_profile(conn, user_id, &name, &locale, now).await?;
        Ok(())
    })
    .await?;
    drop(conn);
    super::me(ctx, actor).await
}

/// A change to the organisation's details; what is `None` stays, `Some(None)` clears the
/// address or location.
#[derive(Debug, Clone, Default)]
pub struct OrganisationChange {
    pub name: Option<String>,
    pub address: Option<Option<String>>,
    pub location: Option<Option<Location>>,
}

/// An owner changes the organisation's name, address or location; a new location assigns the
/// organisation to the district it lies in (none outside every district).
pub async fn update_organisation(
    ctx: &Ctx,
    actor: &Actor,
    change: OrganisationChange,
) -> AppResult<Organisation> {
    actor.require_owner("only an owner of the organisation may change its details")?;
    actor.require_active()?;
    let mut errors = FieldErrors::new();
    let name = change
        .name
        .as_deref()
        .and_then(|name| errors.take("/name", bounded_text(name, 1, 200)));
    let address = match &change.address {
        Some(Some(address)) => errors
            .take("/address", bounded_text(address, 1, 500))
            .map(|address| Some(Some(address))),
        Some(None) => Some(Some(None)),
        None => Some(None),
    };
    let location = match change.location {
        Some(Some(location)) => {
            Location::parse(location.lat, location.lon, "/location", &mut errors)
                .map(|location| Some(Some(location)))
        }
        Some(None) => Some(Some(None)),
        None => Some(None),
    };
    errors.finish()?;
    let (Some(address), Some(location)) = (address, location) else {
        return Err(AppError::Internal(anyhow::anyhow!("checked fields")));
    };
    let now = ctx.now();
    let organisation_id = actor.organisation_id;
    let mut conn = ctx.conn().await?;
    let district = match location {
        Some(Some(location)) => Some(
            crate::app::districts::index(&mut conn)
                .await?
                .locate(location.lat, location.lon),
        ),
        Some(None) => Some(None),
        None => None,
    };
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let current = q::lock_organisation(conn, organisation_id)
                .await?
                .ok_or(AppError::NotFound("organisation"))?;
            let name = name.unwrap_or(current.name.clone());
            let address = address.unwrap_or(current.address.clone());
            let (lat, lon) = match location {
                Some(Some(location)) => (Some(location.lat), Some(location.lon)),
                Some(None) => (None, None),
                None => (current.lat, current.lon),
            };
            let district_id = district.unwrap_or(current.district_id);
            Ok(q::set_organisation_profile(
                conn,
                organisation_id,
                &OrganisationProfileChange {
                    name: &name,
                    address: address.as_deref(),
                    lat,
                    lon,
                    district_id,
                    updated_at: now,
                },
            )
            .await?)
        })
        .await?;
    row.try_into()
}
