//! Members and roles: an owner invites people by e-mail (a link that works once and expires
//! after [`INVITATION_TTL_DAYS`]), removes members and passes ownership on.
//!
//! Owners decide about the organisation: its members, its details and settings, and its money
//! (paying from its account); members work in the market (passports, listings, wishes,
//! reservations). Every change of membership locks the organisation's row first, so two
//! owners acting at once cannot leave it without an owner. A removed member is signed out
//! everywhere (every refresh token revoked) and refused from the next request on, since every
//! request reads the actor afresh ([`super::actor`]).
//!
//! A person belongs to one organisation: an invitation to an address that has an account in
//! another organisation cannot be accepted (the answer says so); an address whose account was
//! removed from its organisation is admitted again with the name and password given.

use super::{Me, Member};
use crate::app::actor::Actor;
use crate::app::engine::tokens::{hash_refresh_token, new_refresh_token};
use crate::app::error::{is_unique_violation, stored, AppError, AppResult, Conflict};
use crate::app::notices::{InvitationNews, MembershipNews, Notice};
use crate::app::notifications::{members as member_ids, notify, notify_address};
use crate::app::Ctx;
use crate::db::accounts::{self as q, InvitationRow, NewInvitationRow, NewUserRow, UserRow};
use crate::db::{Atomic, Conn};
use crate::domain::account::{Email, Locale, OrgRole, Password};
use crate::domain::validation::{bounded_text, FieldErrors, Invalid};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// How long an invitation holds.
pub const INVITATION_TTL_DAYS: i64 = 7;

/// An invitation that has not been accepted yet.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Invitation {
    pub id: Uuid,
    pub email: String,
    pub role: OrgRole,
    /// The owner who sent it.
    pub invited_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl TryFrom<InvitationRow> for Invitation {
    type Error = AppError;

    fn try_from(row: InvitationRow) -> AppResult<Self> {
        Ok(Invitation {
            id: row.id,
            role: stored(&row.role)?,
            email: row.email,
            invited_by: row.invited_by,
            created_at: row.created_at,
            expires_at: row.expires_at,
        })
    }
}

/// What the page an invitation links to shows before it is accepted.
#[derive(Debug, Clone, Serialize)]
pub struct InvitationPreview {
    pub organisation_name: String,
    pub email: String,
    pub role: OrgRole,
}

/// The actor's organisation's members, with their e-mail addresses.
pub async fn members(ctx: &Ctx, actor: &Actor) -> AppResult<Vec<Member>> {
    Ok(
        super::organisations::organisation_profile(ctx, actor, actor.organisation_id)
            .await?
            .members,
    )
}

/// An owner invites `email` to the organisation as `role`. A newer invitation to the same
/// address replaces an open one. The mail is written in the inviting owner's language.
pub async fn invite(ctx: &Ctx, actor: &Actor, email: &str, role: OrgRole) -> AppResult<Invitation> {
    actor.require_owner("only an owner of the organisation may invite members")?;
    actor.require_active()?;
    let email = Email::parse(email).map_err(|invalid| FieldErrors::single("/email", invalid))?;
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        let organisation = q::lock_organisation(conn, actor.organisation_id)
            .await?
            .ok_or(AppError::NotFound("organisation"))?;
        let inviter = live_owner(conn, actor).await?;
        if let Some(existing) = q::find_user_by_email(conn, email.as_str()).await? {
            if existing.organisation_id == organisation.id && existing.removed_at.is_none() {
                return Err(AppError::conflict(
                    Conflict::AlreadyMember,
                    "this address already belongs to a member of your organisation",
                ));
            }
        }
        q::revoke_invitations_to(conn, organisation.id, email.as_str(), now).await?;
        let (token, hash) = new_refresh_token();
        let row = q::insert_invitation(
            conn,
            &NewInvitationRow {
                id: Uuid::now_v7(),
                organisation_id: organisation.id,
                email: email.as_str(),
                role: role.as_str(),
                token_hash: &hash,
                invited_by: inviter.id,
                created_at: now,
                expires_at: now + Duration::days(INVITATION_TTL_DAYS),
            },
        )
        .await?;
        let notice = Notice::Invitation(InvitationNews {
            token,
            email: row.email.clone(),
            organisation_name: organisation.name,
            inviter_name: inviter.display_name,
            role: role.as_str().to_owned(),
            valid_days: INVITATION_TTL_DAYS,
        });
        notify_address(
            conn,
            &notice,
            &row.id.to_string(),
            inviter.id,
            &row.email,
            now,
        )
        .await?;
        row.try_into()
    })
    .await
}

/// The organisation's invitations that can still be accepted, newest first (owners only).
pub async fn invitations(ctx: &Ctx, actor: &Actor) -> AppResult<Vec<Invitation>> {
    actor.require_owner("only an owner of the organisation may see its invitations")?;
    let mut conn = ctx.conn().await?;
    q::open_invitations(&mut conn, actor.organisation_id, ctx.now())
        .await?
        .into_iter()
        .map(Invitation::try_from)
        .collect()
}

/// An owner takes an invitation back before it is accepted.
pub async fn revoke_invitation(ctx: &Ctx, actor: &Actor, id: Uuid) -> AppResult<()> {
    actor.require_owner("only an owner of the organisation may take invitations back")?;
    let mut conn = ctx.conn().await?;
    if q::revoke_invitation(&mut conn, actor.organisation_id, id, ctx.now()).await? {
        Ok(())
    } else {
        Err(AppError::NotFound("invitation"))
    }
}

/// What an invitation link is for, while it can still be accepted.
pub async fn invitation_preview(ctx: &Ctx, token: &str) -> AppResult<Option<InvitationPreview>> {
    let mut conn = ctx.conn().await?;
    let Some(row) = q::usable_invitation(&mut conn, &hash_refresh_token(token), ctx.now()).await?
    else {
        return Ok(None);
    };
    let organisation = q::find_organisation(&mut conn, row.organisation_id)
        .await?
        .ok_or_else(invalid_link)?;
    Ok(Some(InvitationPreview {
        organisation_name: organisation.name,
        role: stored(&row.role)?,
        email: row.email,
    }))
}

/// What the invited person chooses on accepting.
#[derive(Debug, Clone)]
pub struct Acceptance<'a> {
    pub token: &'a str,
    pub display_name: &'a str,
    pub password: &'a str,
    pub locale: Option<Locale>,
}

/// Accepts an invitation: makes the account in the inviting organisation with the invited
/// role (its address counts as confirmed: the link reached it), or admits a removed account
/// again. Once per link, before it expires; an address with an account in another
/// organisation is refused and the link stays usable.
pub async fn accept(ctx: &Ctx, acceptance: Acceptance<'_>) -> AppResult<Me> {
    let hash = hash_refresh_token(acceptance.token);
    let now = ctx.now();
    let (invitation, organisation) = {
        let mut conn = ctx.conn().await?;
        let invitation = q::usable_invitation(&mut conn, &hash, now)
            .await?
            .ok_or_else(invalid_link)?;
        let organisation = q::find_organisation(&mut conn, invitation.organisation_id)
            .await?
            .ok_or_else(invalid_link)?;
        if let Some(existing) = q::find_user_by_email(&mut conn, &invitation.email).await? {
            refuse_live_account(&existing, invitation.organisation_id)?;
        }
        (invitation, organisation)
    };
    let mut errors = FieldErrors::new();
    let display_name = errors.take(
        "/display_name",
        bounded_text(acceptance.display_name, 1, 100),
    );
    let password = errors.take(
        "/password",
        Password::parse_new(
            acceptance.password,
            &[
                &invitation.email,
                acceptance.display_name,
                &organisation.name,
            ],
        ),
    );
    let (Some(display_name), Some(password)) = (display_name, password) else {
        return Err(errors.into());
    };
    let password_hash = ctx.passwords.hash(password).await?;
    let locale = acceptance.locale.unwrap_or_default();
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    let (user, organisation) = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let invitation = q::accept_invitation(conn, &hash, now)
                .await?
                .ok_or_else(invalid_link)?;
            let organisation = q::lock_organisation(conn, invitation.organisation_id)
                .await?
                .ok_or_else(invalid_link)?;
            let user = match q::find_user_by_email(conn, &invitation.email).await? {
                Some(existing) => {
                    refuse_live_account(&existing, invitation.organisation_id)?;
                    q::readmit_user(
                        conn,
                        existing.id,
                        organisation.id,
                        &invitation.role,
                        &password_hash,
                        &display_name,
                        locale.as_str(),
                        now,
                    )
                    .await?
                }
                None => q::insert_user(
                    conn,
                    &NewUserRow {
                        id: Uuid::now_v7(),
                        organisation_id: organisation.id,
                        email: &invitation.email,
                        password_hash: &password_hash,
                        display_name: &display_name,
                        locale: locale.as_str(),
                        org_role: &invitation.role,
                        is_broker: false,
                        created_at: now,
                        updated_at: now,
                        email_verified_at: Some(now),
                    },
                )
                .await
                .map_err(|error| {
                    if is_unique_violation(&error, "users_email_key") {
                        member_elsewhere()
                    } else {
                        error.into()
                    }
                })?,
            };
            q::set_invitation_accepted_by(conn, invitation.id, user.id).await?;
            Ok((user, organisation))
        })
        .await?;
    Ok(Me {
        user: user.try_into()?,
        organisation: organisation.try_into()?,
    })
}

/// Removes a member from the organisation: an owner removes anyone, a member only themselves
/// (leaving). The last owner cannot go: ownership is passed on first. The member is signed out
/// everywhere and told.
pub async fn remove(ctx: &Ctx, actor: &Actor, user_id: Uuid) -> AppResult<()> {
    let leaving = user_id == actor.user_id;
    if !leaving {
        actor.require_owner("only an owner of the organisation may remove members")?;
    }
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        let organisation = q::lock_organisation(conn, actor.organisation_id)
            .await?
            .ok_or(AppError::NotFound("organisation"))?;
        let by = if leaving {
            live_member(conn, actor.organisation_id, actor.user_id).await?
        } else {
            live_owner(conn, actor).await?
        };
        let member = live_member(conn, organisation.id, user_id).await?;
        if member.org_role == OrgRole::Owner.as_str() {
            let owners = q::members(conn, organisation.id)
                .await?
                .into_iter()
                .filter(|user| user.org_role == OrgRole::Owner.as_str())
                .count();
            if owners <= 1 {
                return Err(AppError::conflict(
                    Conflict::LastOwner,
                    "the organisation's last owner cannot be removed: pass ownership on to \
                     another member first",
                ));
            }
        }
        q::mark_removed(conn, member.id, now).await?;
        q::revoke_user_tokens(conn, member.id, now).await?;
        let notice = Notice::MemberRemoved(MembershipNews {
            organisation_id: organisation.id,
            organisation_name: organisation.name,
            member_id: member.id,
            member_name: member.display_name,
            by_name: by.display_name,
        });
        notify(
            conn,
            &notice,
            &now.timestamp_micros().to_string(),
            &[member.id],
            now,
        )
        .await?;
        Ok(())
    })
    .await
}

/// An owner passes ownership on to another member: they become an owner, the actor a member.
/// Every member is told. Answers the members as they are now.
pub async fn pass_ownership(ctx: &Ctx, actor: &Actor, to: Uuid) -> AppResult<Vec<Member>> {
    actor.require_owner("only an owner of the organisation may pass ownership on")?;
    if to == actor.user_id {
        return Err(FieldErrors::single(
            "/user_id",
            Invalid::new("is_yourself", "is you: choose another member"),
        )
        .into());
    }
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        let organisation = q::lock_organisation(conn, actor.organisation_id)
            .await?
            .ok_or(AppError::NotFound("organisation"))?;
        let previous = live_owner(conn, actor).await?;
        let next = live_member(conn, organisation.id, to).await?;
        q::set_role(conn, next.id, OrgRole::Owner.as_str(), now).await?;
        q::set_role(conn, previous.id, OrgRole::Member.as_str(), now).await?;
        let notice = Notice::OwnershipPassed(MembershipNews {
            organisation_id: organisation.id,
            organisation_name: organisation.name,
            member_id: next.id,
            member_name: next.display_name,
            by_name: previous.display_name,
        });
        let everyone = member_ids(conn, organisation.id).await?;
        notify(
            conn,
            &notice,
            &now.timestamp_micros().to_string(),
            &everyone,
            now,
        )
        .await?;
        Ok(())
    })
    .await?;
    members(ctx, actor).await
}

/// The actor's row, locked, when they are still an owner of their organisation: a role read
/// at the start of the request may have changed since (ownership passed on meanwhile).
async fn live_owner(conn: &mut Conn, actor: &Actor) -> AppResult<UserRow> {
    let me = live_member(conn, actor.organisation_id, actor.user_id).await?;
    if me.org_role != OrgRole::Owner.as_str() {
        return Err(AppError::Forbidden(
            "only an owner of the organisation may do this",
        ));
    }
    Ok(me)
}

/// A user of the organisation who was not removed, locked until the transaction ends.
async fn live_member(conn: &mut Conn, organisation_id: Uuid, user_id: Uuid) -> AppResult<UserRow> {
    q::lock_user_row(conn, user_id)
        .await?
        .filter(|user| user.organisation_id == organisation_id && user.removed_at.is_none())
        .ok_or(AppError::NotFound("member"))
}

/// Refuses an invitation to an address whose account is still in an organisation.
fn refuse_live_account(existing: &UserRow, organisation_id: Uuid) -> AppResult<()> {
    if existing.removed_at.is_some() {
        return Ok(());
    }
    if existing.organisation_id == organisation_id {
        return Err(AppError::conflict(
            Conflict::AlreadyMember,
            "this address is a member of the organisation already: sign in instead",
        ));
    }
    Err(member_elsewhere())
}

fn member_elsewhere() -> AppError {
    AppError::conflict(
        Conflict::MemberElsewhere,
        "this address has an account in another organisation, and a person belongs to one \
         organisation on kringloop: leave that organisation (or have an owner remove you) and \
         follow this link again while it holds",
    )
}

fn invalid_link() -> AppError {
    FieldErrors::single(
        "/token",
        Invalid::new(
            "invalid_invitation",
            "the invitation is not valid: it was accepted or taken back already, or has \
             expired; ask the organisation's owner for a new one",
        ),
    )
    .into()
}
