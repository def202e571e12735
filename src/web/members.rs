//! The pages and forms of members and accounts: on `/workspace` an owner invites, removes and
//! passes ownership on; on `/workspace/account` anyone edits their profile (and asks for a new
//! address-confirmation link), an owner the organisation's details; and the two public pages
//! mails link to: accepting an invitation (`/invitation?token=…`) and confirming an address
//! (`/verify-email?token=…`). Each form calls the same use case as the API.

use super::page::{field_errors, render_with, see_other, PageError};
use super::session::{Submitted, Visitor};
use super::views;
use crate::app::accounts::members::{self, Acceptance};
use crate::app::accounts::profile::{self, OrganisationChange, ProfileChange};
use crate::app::accounts::verification;
use crate::app::error::AppError;
use crate::app::Ctx;
use crate::domain::account::{Locale, OrgRole};
use crate::domain::geo::Location;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use minijinja::context;
use serde::Deserialize;
use uuid::Uuid;

#[derive(Debug, Deserialize)]
pub struct InviteForm {
    email: String,
    role: String,
}

/// `POST /workspace/invitations`: an owner invites an address.
pub async fn invite(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    form: Submitted<InviteForm>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let role = match form.0.role.as_str() {
        "owner" => OrgRole::Owner,
        "member" => OrgRole::Member,
        _ => return Err(AppError::BadRequest("role must be owner or member".into()).into()),
    };
    members::invite(&ctx, actor, &form.0.email, role).await?;
    Ok(see_other("/workspace?notice=invited#members"))
}

/// `POST /workspace/invitations/{id}/revoke`.
pub async fn revoke_invitation(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    id: web::Path<Uuid>,
    _form: Submitted<NoFields>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    members::revoke_invitation(&ctx, actor, id.into_inner()).await?;
    Ok(see_other("/workspace?notice=invitation_revoked#members"))
}

#[derive(Debug, Deserialize)]
pub struct NoFields {}

/// `POST /workspace/members/{id}/remove`: an owner removes a member (or someone leaves).
pub async fn remove(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    id: web::Path<Uuid>,
    _form: Submitted<NoFields>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let id = id.into_inner();
    members::remove(&ctx, actor, id).await?;
    if id == actor.user_id {
        return Ok(see_other("/"));
    }
    Ok(see_other("/workspace?notice=member_removed#members"))
}

#[derive(Debug, Deserialize)]
pub struct OwnerForm {
    user_id: Uuid,
}

/// `POST /workspace/owner`: an owner passes ownership on.
pub async fn pass_ownership(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    form: Submitted<OwnerForm>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    members::pass_ownership(&ctx, actor, form.0.user_id).await?;
    Ok(see_other("/workspace?notice=ownership_passed#members"))
}

#[derive(Debug, Deserialize)]
pub struct ProfileForm {
    display_name: String,
    locale: String,
}

/// `POST /workspace/profile`: one's display name and language.
pub async fn save_profile(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    form: Submitted<ProfileForm>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let locale = Some(locale_of(&form.0.locale)?);
    let change = ProfileChange {
        display_name: Some(form.0.display_name),
        locale,
    };
    profile::update_me(&ctx, actor, change).await?;
    Ok(see_other("/workspace/account?notice=profile_saved#profile"))
}

#[derive(Debug, Deserialize)]
pub struct OrganisationForm {
    name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lon: String,
}

/// `POST /workspace/organisation`: an owner edits the organisation's details; empty address or
/// coordinates clear them.
pub async fn save_organisation(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    form: Submitted<OrganisationForm>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let form = form.0;
    let address = Some(Some(form.address.trim().to_owned()).filter(|a| !a.is_empty()));
    let location = match (form.lat.trim(), form.lon.trim()) {
        ("", "") => Some(None),
        (lat, lon) => match (lat.parse::<f64>(), lon.parse::<f64>()) {
            (Ok(lat), Ok(lon)) => Some(Some(Location { lat, lon })),
            _ => {
                return Err(AppError::BadRequest(
                    "latitude and longitude must both be numbers, or both empty".into(),
                )
                .into())
            }
        },
    };
    let change = OrganisationChange {
        name: Some(form.name),
        address,
        location,
    };
    profile::update_organisation(&ctx, actor, change).await?;
    Ok(see_other(
        "/workspace/account?notice=organisation_saved#organisation",
    ))
}

/// `POST /workspace/verification`: a new link to confirm one's address.
pub async fn resend_verification(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    _form: Submitted<NoFields>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    verification::resend(&ctx, actor).await?;
    Ok(see_other(
        "/workspace/account?notice=verification_sent#profile",
    ))
}

fn locale_of(code: &str) -> Result<Locale, PageError> {
    code.parse::<Locale>()
        .map_err(|_| PageError::from(AppError::BadRequest("language must be nl or en".into())))
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

/// `GET /invitation?token=…`: what the invitation is for, and the form to accept it.
pub async fn invitation_form(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, PageError> {
    let token = query.into_inner().token.unwrap_or_default();
    let preview = if token.is_empty() {
        None
    } else {
        members::invitation_preview(&ctx, &token).await?
    };
    let status = if preview.is_some() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    render_with(
        &visitor,
        None,
        "invitation.html",
        views::t(&visitor, "invitation_title"),
        context! { token => token, invitation => preview, done => false, error => None::<String> },
        status,
    )
}

#[derive(Debug, Deserialize)]
pub struct AcceptForm {
    token: String,
    display_name: String,
    password: String,
    locale: String,
}

/// `POST /invitation`: accepts the invitation, making the account.
pub async fn accept_invitation(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    form: Submitted<AcceptForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.0;
    let locale = locale_of(&form.locale)?;
    let accepted = members::accept(
        &ctx,
        Acceptance {
            token: &form.token,
            display_name: &form.display_name,
            password: &form.password,
            locale: Some(locale),
        },
    )
    .await;
    let (error, status) = match accepted {
        Ok(me) => {
            return render_with(
                &visitor,
                None,
                "invitation.html",
                views::t(&visitor, "invitation_title"),
                context! { token => "", invitation => None::<()>, done => true,
                organisation => me.organisation.name, error => None::<String> },
                StatusCode::CREATED,
            )
        }
        Err(AppError::Validation(errors)) => (
            field_errors(&errors)
                .into_values()
                .collect::<Vec<_>>()
                .join("; "),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(AppError::Conflict { detail, .. }) => (detail, StatusCode::CONFLICT),
        Err(other) => return Err(other.into()),
    };
    let preview = members::invitation_preview(&ctx, &form.token).await?;
    render_with(
        &visitor,
        None,
        "invitation.html",
        views::t(&visitor, "invitation_title"),
        context! { token => form.token, invitation => preview, done => false, error => error },
        status,
    )
}

/// `GET /verify-email?token=…`: a button that confirms the address (a link opened by a mail
/// scanner confirms nothing).
pub async fn verify_email_form(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, PageError> {
    let token = query.into_inner().token.unwrap_or_default();
    let usable = !token.is_empty() && verification::link_usable(&ctx, &token).await?;
    let status = if usable {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    render_with(
        &visitor,
        None,
        "verify_email.html",
        views::t(&visitor, "verify_email_title"),
        context! { token => token, usable => usable, done => false },
        status,
    )
}

#[derive(Debug, Deserialize)]
pub struct VerifyForm {
    token: String,
}

/// `POST /verify-email`: confirms the address.
pub async fn verify_email(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    form: Submitted<VerifyForm>,
) -> Result<HttpResponse, PageError> {
    let (done, status) = match verification::verify(&ctx, &form.0.token).await {
        Ok(()) => (true, StatusCode::OK),
        Err(AppError::Validation(_)) => (false, StatusCode::UNPROCESSABLE_ENTITY),
        Err(other) => return Err(other.into()),
    };
    render_with(
        &visitor,
        None,
        "verify_email.html",
        views::t(&visitor, "verify_email_title"),
        context! { token => "", usable => false, done => done },
        status,
    )
}
