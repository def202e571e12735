//! Personal data (AVG/GDPR): a person downloads everything kringloop holds about them, and
//! deletes their account. What the ledger and the flows must keep (amounts, kilograms,
//! districts, who owned which lot) stays, without the person: their user row remains, nameless
//! and unable to sign in, for the rows that refer to it.

use super::organisations::{follow_suspension, tell_reservation_parties};
use super::{Organisation, User};
use crate::app::actor::Actor;
use crate::app::engine::matcher;
use crate::app::error::{stored, AppError, AppResult, Conflict};
use crate::app::Ctx;
use crate::db::accounts as accounts_q;
use crate::db::privacy as q;
use crate::db::Atomic;
use crate::domain::account::{OrgRole, OrganisationStatus};
use crate::domain::validation::{FieldErrors, Invalid};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// The version of the export's format.
pub const EXPORT_FORMAT: &str = "kringloop-personal-data/1";

/// Everything kringloop holds about a person.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonalData {
    #[schema(example = "kringloop-personal-data/1")]
    pub format: &'static str,
    pub exported_at: DateTime<Utc>,
    pub user: User,
    pub notification_settings: NotificationPreferences,
    /// The organisation the person acts for.
    pub organisation: Organisation,
    /// Sign-ins: when each session began, ends, was renewed or ended (tokens themselves are
    /// kept only as hashes and not shown).
    pub sessions: Vec<SessionRecord>,
    pub password_resets: Vec<ResetRecord>,
    /// The links sent to confirm the person's e-mail address.
    pub email_confirmations: Vec<ResetRecord>,
    /// Failed sign-ins into the account still on record (kept for the login throttle's window).
    pub login_failures: Vec<LoginFailureRecord>,
    /// Every notification queued for the person, by mail or in the app, with its content.
    pub notifications: Vec<NotificationRecord>,
    /// Wishes the person wrote for the organisation.
    pub wishes_written: Vec<WrittenRecord>,
    /// Reservations the person made for the organisation.
    pub reservations_made: Vec<ReservationRecord>,
    /// What the person did as the city's broker (the audit log).
    pub broker_actions: Vec<BrokerActionRecord>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPreferences {
    pub email_notifications: bool,
    pub digest: String,
    pub quiet_start_hour: Option<i16>,
    pub quiet_end_hour: Option<i16>,
    pub last_digest_on: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionRecord {
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub renewed_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResetRecord {
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginFailureRecord {
    pub at: DateTime<Utc>,
    /// The client address the attempt came from.
    pub address: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationRecord {
    pub id: Uuid,
    pub kind: String,
    pub channel: String,
    pub status: String,
    pub content: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub read_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WrittenRecord {
    pub id: Uuid,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReservationRecord {
    pub id: Uuid,
    pub listing_id: Uuid,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BrokerActionRecord {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub action: String,
    pub object_kind: String,
    pub object_id: Option<Uuid>,
}

/// `GET /me/export`: everything kringloop holds about the actor, read in one transaction.
pub async fn export(ctx: &Ctx, actor: &Actor) -> AppResult<PersonalData> {
    let now = ctx.now();
    let user_id = actor.user_id;
    let mut conn = ctx.conn().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        let person = q::person(conn, user_id)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        let organisation = accounts_q::find_organisation(conn, person.organisation_id)
            .await?
            .ok_or(AppError::NotFound("organisation"))?;
        Ok(PersonalData {
            format: EXPORT_FORMAT,
            exported_at: now,
            user: User {
                id: person.id,
                email: person.email.clone(),
                display_name: person.display_name.clone(),
                locale: stored(&person.locale)?,
                role: stored(&person.org_role)?,
                is_broker: person.is_broker,
                email_verified: person.email_verified_at.is_some(),
                created_at: person.created_at,
            },
            notification_settings: NotificationPreferences {
                email_notifications: person.email_notifications,
                digest: person.digest.clone(),
                quiet_start_hour: person.quiet_start_hour,
                quiet_end_hour: person.quiet_end_hour,
                last_digest_on: person.last_digest_on,
            },
            organisation: organisation.try_into()?,
            sessions: q::sessions(conn, user_id)
                .await?
                .into_iter()
                .map(|s| SessionRecord {
                    issued_at: s.issued_at,
                    expires_at: s.expires_at,
                    renewed_at: s.rotated_at,
                    ended_at: s.revoked_at,
                })
                .collect(),
            password_resets: q::password_resets(conn, user_id)
                .await?
                .into_iter()
                .map(|r| ResetRecord {
                    requested_at: r.created_at,
                    expires_at: r.expires_at,
                    used_at: r.used_at,
                })
                .collect(),
            email_confirmations: q::email_confirmations(conn, user_id)
                .await?
                .into_iter()
                .map(|(requested_at, expires_at, used_at)| ResetRecord {
                    requested_at,
                    expires_at,
                    used_at,
                })
                .collect(),
            login_failures: q::login_failures(conn, &person.email)
                .await?
                .into_iter()
                .map(|f| LoginFailureRecord {
                    at: f.failed_at,
                    address: f.client_addr,
                })
                .collect(),
            notifications: q::notifications(conn, user_id)
                .await?
                .into_iter()
                .map(|n| NotificationRecord {
                    id: n.id,
                    kind: n.event,
                    channel: n.channel,
                    status: n.status,
                    content: n.payload,
                    created_at: n.created_at,
                    delivered_at: n.delivered_at,
                    read_at: n.read_at,
                })
                .collect(),
            wishes_written: q::wishes_written(conn, user_id)
                .await?
                .into_iter()
                .map(|(id, at)| WrittenRecord { id, at })
                .collect(),
            reservations_made: q::reservations_made(conn, user_id)
                .await?
                .into_iter()
                .map(|(id, listing_id, at)| ReservationRecord { id, listing_id, at })
                .collect(),
            broker_actions: q::broker_actions(conn, user_id)
                .await?
                .into_iter()
                .map(|a| BrokerActionRecord {
                    id: a.id,
                    at: a.at,
                    action: a.action,
                    object_kind: a.object_kind,
                    object_id: a.object_id,
                })
                .collect(),
        })
    })
    .await
}

/// `DELETE /me`: the actor's account, after their password. Their address, name, password,
/// settings, sessions, reset and confirmation links, recorded login failures and notifications
/// are gone at once, and every token they hold stops working. The organisation's only owner must pass
/// ownership on first while others remain; the city's last broker cannot leave. When nobody
/// is left in the organisation, it is closed: its name, address and registration number are
/// taken off (its district stays for the flows), it is suspended (its lots and wishes leave the
/// market) and the other side of each of its open reservations is told.
pub async fn delete_account(ctx: &Ctx, actor: &Actor, password: String) -> AppResult<()> {
    let stored_hash = {
        let mut conn = ctx.conn().await?;
        accounts_q::find_user_with_organisation(&mut conn, actor.user_id)
            .await?
            .ok_or(AppError::NotFound("user"))?
            .0
            .password_hash
    };
    if !ctx.passwords.verify(Some(stored_hash), password).await? {
        return Err(FieldErrors::single(
            "/password",
            Invalid::new("wrong_password", "is not your password"),
        )
        .into());
    }
    let now = ctx.now();
    let user_id = actor.user_id;
    let mut conn = ctx.conn().await?;
    let jobs = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let organisation = accounts_q::lock_organisation(conn, actor.organisation_id)
                .await?
                .ok_or(AppError::NotFound("organisation"))?;
            let person = q::lock_person(conn, user_id)
                .await?
                .ok_or(AppError::NotFound("user"))?;
            if person.is_broker && q::brokers(conn).await? <= 1 {
                return Err(AppError::conflict(
                    Conflict::LastBroker,
                    "you are the city's only broker: make another broker (kringloop \
                     create-broker) before you delete your account",
                ));
            }
            let others: Vec<_> = accounts_q::members(conn, organisation.id)
                .await?
                .into_iter()
                .filter(|member| member.id != user_id)
                .collect();
            let owner = OrgRole::Owner.as_str();
            if person.org_role == owner
                && !others.is_empty()
                && !others.iter().any(|member| member.org_role == owner)
            {
                return Err(AppError::conflict(
                    Conflict::LastOwner,
                    "you are the organisation's only owner: pass ownership to another member \
                     before you delete your account",
                ));
            }
            q::erase(conn, &person, now).await?;
            let mut jobs = Vec::new();
            if others.is_empty() {
                let suspended = OrganisationStatus::Suspended;
                if organisation.status != suspended.as_str() {
                    jobs = follow_suspension(conn, organisation.id, true, now).await?;
                }
                let name = format!(
                    "Verwijderde organisatie {}",
                    &organisation.id.simple().to_string()[..8]
                );
                q::close_organisation(conn, organisation.id, &name, suspended.as_str(), now)
                    .await?;
                let closed = accounts_q::find_organisation(conn, organisation.id)
                    .await?
                    .ok_or(AppError::NotFound("organisation"))?;
                tell_reservation_parties(conn, &closed, now).await?;
            }
            Ok(jobs)
        })
        .await?;
    drop(conn);
    matcher::work_now(ctx, &jobs).await;
    Ok(())
}
