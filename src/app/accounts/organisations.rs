//! Organisations: signing up (a person and their unverified organisation), public profiles,
//! the broker's verification queue and decisions, and broker accounts made from the command line.

use super::{Me, Member, Organisation, OrganisationProfile, User};
use crate::app::actor::Actor;
use crate::app::audit::Audit;
use crate::app::engine::matcher::{self, Subject};
use crate::app::error::{is_unique_violation, stored, AppError, AppResult, Conflict};
use crate::app::notices::{Notice, OrganisationNews, PartySuspended};
use crate::app::notifications::{members, notify};
use crate::app::paging::{id_cursor, page_size, split, Page};
use crate::app::Ctx;
use crate::db::accounts::{self as q, NewOrganisationRow, NewUserRow, OrganisationRow};
use crate::db::listings as listings_q;
use crate::db::reservations as reservations_q;
use crate::db::wishes as wishes_q;
use crate::db::{Atomic, Conn};
use crate::domain::account::{
    Email, Locale, OrgRole, OrganisationKind, OrganisationStatus, Password, Registration,
};
use crate::domain::audit::{AuditAction, Reason};
use crate::domain::validation::{bounded_text, FieldErrors, Invalid};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Signs up a person and founds their (unverified) organisation, and mails them a link to
/// confirm their address. `client_addr` is the address a request came from, throttled per
/// hour; `None` from the command line.
///
/// The platform's own kind, `municipality`, cannot be signed up for: the city's organisation
/// is made by `create-broker`, and one named like it must not catch its brokers.
pub async fn register(
    ctx: &Ctx,
    registration: Registration,
    client_addr: Option<&str>,
) -> AppResult<Me> {
    if registration.organisation.kind == OrganisationKind::Municipality {
        return Err(FieldErrors::single(
            "/organisation/kind",
            Invalid::new(
                "not_allowed",
                "the municipality's organisation is made by the platform, not signed up for",
            ),
        )
        .into());
    }
    let now = ctx.now();
    if let Some(addr) = client_addr {
        let window = ctx.policy.registration_window;
        let claim = q::claim_registration(
            &mut *ctx.conn().await?,
            addr,
            now,
            now - window,
            ctx.policy.registrations_per_address,
        )
        .await?;
        if let Err(oldest) = claim {
            let retry_after_secs = (oldest + window - now).num_seconds().max(1) as u64;
            return Err(AppError::RateLimited { retry_after_secs });
        }
    }
    // No connection is held while the password is hashed: a burst of sign-ups waits for its
    // turn to hash without taking the pool from everyone else.
    let password_hash = ctx.passwords.hash(registration.password.clone()).await?;
    let mut conn = ctx.conn().await?;
    let district_id = match registration.organisation.location {
        Some(location) => crate::app::districts::index(&mut conn)
            .await?
            .locate(location.lat, location.lon),
        None => None,
    };
    let result = conn
        .transaction::<_, crate::db::Error, _>(async move |conn| {
            let org = &registration.organisation;
            let organisation = q::insert_organisation(
                conn,
                &NewOrganisationRow {
                    id: Uuid::now_v7(),
                    name: &org.name,
                    kind: org.kind.as_str(),
                    status: OrganisationStatus::Unverified.as_str(),
                    kvk_number: org.kvk_number.as_ref().map(|k| k.as_str()),
                    address: org.address.as_deref(),
                    lat: org.location.map(|l| l.lat),
                    lon: org.location.map(|l| l.lon),
                    verified_at: None,
                    district_id,
                    created_at: now,
                    updated_at: now,
                },
            )
            .await?;
            let user = q::insert_user(
                conn,
                &NewUserRow {
                    id: Uuid::now_v7(),
                    organisation_id: organisation.id,
                    email: registration.email.as_str(),
                    password_hash: &password_hash,
                    display_name: &registration.display_name,
                    locale: registration.locale.as_str(),
                    org_role: OrgRole::Owner.as_str(),
                    is_broker: false,
                    created_at: now,
                    updated_at: now,
                    email_verified_at: None,
                },
            )
            .await?;
            super::verification::send_link(conn, user.id, now).await?;
            Ok((user, organisation))
        })
        .await;
    match result {
        Ok((user, organisation)) => Ok(Me {
            user: user.try_into()?,
            organisation: organisation.try_into()?,
        }),
        Err(error) if is_unique_violation(&error, "users_email_key") => Err(AppError::Conflict {
            kind: Conflict::EmailTaken,
            detail: "an account with this e-mail address already exists".into(),
        }),
        Err(error) => Err(error.into()),
    }
}
/// An organisation's public profile; members' e-mail addresses only for its own members and
/// for brokers.
pub async fn organisation_profile(
    ctx: &Ctx,
    actor: &Actor,
    id: Uuid,
) -> AppResult<OrganisationProfile> {
    let mut conn = ctx.conn().await?;
    let organisation = q::find_organisation(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound("organisation"))?;
    let show_email = actor.organisation_id == id || actor.is_broker;
    let members = q::members(&mut conn, id)
        .await?
        .into_iter()
        .map(|user| {
            Ok(Member {
                id: user.id,
                role: stored(&user.org_role)?,
                display_name: user.display_name,
                email: show_email.then_some(user.email),
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(OrganisationProfile {
        organisation: organisation.try_into()?,
        members,
    })
}

/// Organisations for the broker's review, oldest first.
pub async fn list_organisations(
    ctx: &Ctx,
    actor: &Actor,
    status: Option<OrganisationStatus>,
    cursor: Option<&str>,
    limit: u32,
) -> AppResult<Page<Organisation>> {
    actor.require_broker()?;
    let after = id_cursor(cursor)?;
    let limit = page_size(limit);
    let mut conn = ctx.conn().await?;
    let rows = q::list_organisations(
        &mut conn,
        status.map(OrganisationStatus::as_str),
        after,
        limit + 1,
    )
    .await?;
    let (rows, more) = split(rows, limit);
    let items = rows
        .into_iter()
        .map(Organisation::try_from)
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Page::new(items, more, |o| o.id.to_string()))
}

/// The broker verifies or suspends an organisation; its owners are told (with the broker's
/// reason, when one is given). Suspending takes its listings and wishes out of search, matching
/// and open data (their matches are retracted) and tells the other side of each open
/// reservation; lifting it brings them back. All in the one transaction that changes the
/// status and writes the audit entry; asking for the status it has changes nothing.
pub async fn set_organisation_status(
    ctx: &Ctx,
    actor: &Actor,
    id: Uuid,
    status: OrganisationStatus,
    reason: Option<Reason>,
) -> AppResult<Organisation> {
    actor.require_broker()?;
    let now = ctx.now();
    let broker = actor.user_id;
    let mut conn = ctx.conn().await?;
    let (row, jobs) = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let current = q::lock_organisation(conn, id)
                .await?
                .ok_or(AppError::NotFound("organisation"))?;
            if current.status == status.as_str() {
                return Ok((current, Vec::new()));
            }
            if status == OrganisationStatus::Verified && !q::has_verified_owner(conn, id).await? {
                return Err(AppError::conflict(
                    Conflict::EmailNotVerified,
                    "the organisation's owner has not confirmed their e-mail address yet (the \
                     link in the mail sent at registration); it can be verified once they have",
                ));
            }
            if status != OrganisationStatus::Verified
                && q::find_platform_organisation(conn)
                    .await?
                    .is_some_and(|platform| platform.id == id)
            {
                return Err(AppError::conflict(
                    Conflict::PlatformOrganisation,
                    "the platform's own organisation stays verified: the brokers act through it",
                ));
            }
            let before = Organisation::try_from(current.clone())?;
            let suspended = status == OrganisationStatus::Suspended;
            let jobs = if suspended != (current.status == OrganisationStatus::Suspended.as_str()) {
                follow_suspension(conn, id, suspended, now).await?
            } else {
                Vec::new()
            };
            let verified = match status {
                OrganisationStatus::Verified => Some((now, broker)),
                _ => None,
            };
            let updated =
                q::set_organisation_status(conn, id, status.as_str(), verified, now).await?;
            let owners: Vec<Uuid> = q::members(conn, id)
                .await?
                .into_iter()
                .filter(|user| user.org_role == OrgRole::Owner.as_str())
                .map(|user| user.id)
                .collect();
            let action = match status {
                OrganisationStatus::Verified => AuditAction::VerifyOrganisation,
                OrganisationStatus::Unverified => AuditAction::UnverifyOrganisation,
                OrganisationStatus::Suspended => AuditAction::SuspendOrganisation,
            };
            Audit::new(action, Some(id))
                .before(&before)
                .after(&Organisation::try_from(updated.clone())?)
                .reason(reason.as_ref().map(Reason::as_str))
                .record(conn, actor, now)
                .await?;
            let notice = Notice::organisation(
                status,
                OrganisationNews {
                    organisation_id: id,
                    name: updated.name.clone(),
                    status,
                    reason: reason.as_ref().map(|r| r.as_str().to_owned()),
                },
            );
            notify(
                conn,
                &notice,
                &now.timestamp_micros().to_string(),
                &owners,
                now,
            )
            .await?;
            if suspended {
                tell_reservation_parties(conn, &updated, now).await?;
            }
            Ok((updated, jobs))
        })
        .await?;
    drop(conn);
    matcher::work_now(ctx, &jobs).await;
    row.try_into()
}

/// Marks the organisation's listings and wishes as (no longer) suspended and queues the open
/// and active ones for the matcher, which retracts their matches or finds them again; returns
/// the queued jobs.
pub(crate) async fn follow_suspension(
    conn: &mut Conn,
    organisation_id: Uuid,
    suspended: bool,
    now: DateTime<Utc>,
) -> AppResult<Vec<i64>> {
    let mut jobs = Vec::new();
    for listing in listings_q::set_suspended_of(conn, organisation_id, suspended).await? {
        jobs.push(matcher::enqueue(conn, Subject::Listing(listing), now).await?);
    }
    for wish in wishes_q::set_suspended_of(conn, organisation_id, suspended).await? {
        jobs.push(matcher::enqueue(conn, Subject::Wish(wish), now).await?);
    }
    Ok(jobs)
}

/// Tells the members on the other side of each of the organisation's open reservations that
/// it was suspended.
pub(crate) async fn tell_reservation_parties(
    conn: &mut Conn,
    organisation: &OrganisationRow,
    now: DateTime<Utc>,
) -> AppResult<()> {
    for row in reservations_q::open_of_organisation(conn, organisation.id, now).await? {
        let (other, side) = if row.donor_id == organisation.id {
            (row.demander_id, "donor")
        } else {
            (row.donor_id, "demander")
        };
        let notice = Notice::ReservationPartySuspended(PartySuspended {
            reservation_id: row.id,
            listing_id: row.listing_id,
            quantity: row.quantity,
            unit: row.unit.clone(),
            status: row.status.clone(),
            organisation_id: organisation.id,
            organisation_name: organisation.name.clone(),
            side: side.to_owned(),
        });
        let recipients = members(conn, other).await?;
        let occurrence = format!("{}:{}", row.id, now.timestamp_micros());
        notify(conn, &notice, &occurrence, &recipients, now).await?;
    }
    Ok(())
}

/// Makes a broker account (from the command line) in the platform's own organisation: the one
/// marked as such, found by that mark and never by name (an organisation anyone registered under
/// the same name must not catch the broker). The first call creates it, verified, of kind
/// `municipality`, under `organisation_name`; later calls ignore the name.
pub async fn create_broker(
    ctx: &Ctx,
    email: &str,
    password: &str,
    display_name: &str,
    organisation_name: &str,
) -> AppResult<User> {
    let mut errors = crate::domain::validation::FieldErrors::new();
    let password = errors.take(
        "/password",
        Password::parse_new(password, &[email, display_name]),
    );
    let email = errors.take("/email", Email::parse(email));
    let display_name = errors.take("/display_name", bounded_text(display_name, 1, 100));
    let organisation_name = errors.take("/organisation", bounded_text(organisation_name, 1, 200));
    let (Some(email), Some(password), Some(display_name), Some(organisation_name)) =
        (email, password, display_name, organisation_name)
    else {
        return Err(AppError::Validation(errors));
    };
    let password_hash = ctx.passwords.hash(password).await?;
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    let result = conn
        .transaction::<_, crate::db::Error, _>(async move |conn| {
            let organisation = match q::find_platform_organisation(conn).await? {
                Some(existing) => existing,
                None => {
                    let made = q::insert_organisation(
                        conn,
                        &NewOrganisationRow {
                            id: Uuid::now_v7(),
                            name: &organisation_name,
                            kind: OrganisationKind::Municipality.as_str(),
                            status: OrganisationStatus::Verified.as_str(),
                            kvk_number: None,
                            address: None,
                            lat: None,
                            lon: None,
                            verified_at: Some(now),
                            district_id: None,
                            created_at: now,
                            updated_at: now,
                        },
                    )
                    .await?;
                    q::mark_platform(conn, made.id).await?;
                    made
                }
            };
            q::insert_user(
                conn,
                &NewUserRow {
                    id: Uuid::now_v7(),
                    organisation_id: organisation.id,
                    email: email.as_str(),
                    password_hash: &password_hash,
                    display_name: &display_name,
                    locale: Locale::Nl.as_str(),
                    org_role: OrgRole::Owner.as_str(),
                    is_broker: true,
                    created_at: now,
                    updated_at: now,
                    // Made by the operator, who vouches for the address.
                    email_verified_at: Some(now),
                },
            )
            .await
        })
        .await;
    match result {
        Ok(user) => user.try_into(),
        Err(error) if is_unique_violation(&error, "users_email_key") => Err(AppError::Conflict {
            kind: Conflict::EmailTaken,
            detail: "an account with this e-mail address already exists".into(),
        }),
        Err(error) => Err(error.into()),
    }
}
