//! Accounts and organisations: registration, tokens, the current user and profiles.

use super::extract::{Authenticated, ClientAddr, Paged};
use super::json::{Json, OptionalJson};
use super::problem::Problem;
use crate::app::accounts::members::{Acceptance, Invitation};
use crate::app::accounts::profile::{OrganisationChange, ProfileChange};
use crate::app::accounts::{self, Me, Member, Organisation, OrganisationProfile, TokenPair};
use crate::app::error::AppError;
use crate::app::paging::{Page, PageQuery};
use crate::app::Ctx;
use crate::domain::account::{
    Locale, OrgRole, OrganisationKind, OrganisationStatus, Registration, RegistrationInput,
};
use crate::domain::audit::Reason;
use crate::domain::geo::Location;
use crate::domain::validation::FieldErrors;
use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{delete, get, patch, post, web, HttpResponse};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(register)
        .service(token)
        .service(refresh)
        .service(logout)
        .service(change_password)
        .service(request_password_reset)
        .service(reset_password)
        .service(current_user)
        .service(update_me)
        .service(verify_email)
        .service(resend_verification)
        .service(accept_invitation)
        .service(list_members)
        .service(invite)
        .service(list_invitations)
        .service(revoke_invitation)
        .service(remove_member)
        .service(pass_ownership)
        .service(update_organisation)
        .service(organisation_profile)
        .service(list_organisations)
        .service(verify_organisation)
        .service(suspend_organisation);
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[schema(example = "sanne@sloopbedrijf.nl")]
    email: String,
    /// 10 to 128 characters.
    #[schema(value_type = String, format = Password)]
    password: SecretString,
    #[schema(example = "Sanne de Vries")]
    display_name: String,
    /// Language for mail and messages; `nl` when absent.
    locale: Option<Locale>,
    organisation: NewOrganisationRequest,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganisationRequest {
    #[schema(example = "Sloopbedrijf Haaglanden")]
    name: String,
    kind: OrganisationKind,
    /// Chamber of Commerce number, eight digits.
    #[schema(example = "12345678")]
    kvk_number: Option<String>,
    address: Option<String>,
    location: Option<Location>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    email: String,
    #[schema(value_type = String, format = Password)]
    password: SecretString,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[schema(value_type = String)]
    refresh_token: SecretString,
}

/// Why a broker suspends an organisation.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuspendRequest {
    /// 1 to 500 characters; kept in the audit log and told to the organisation.
    reason: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OrganisationFilter {
    /// Only organisations with this status.
    status: Option<OrganisationStatus>,
}

/// Sign up, founding an organisation that starts `unverified`.
#[utoipa::path(
    tag = "accounts",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered", body = Me),
        (status = 409, description = "E-mail address taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields; kind `municipality` cannot be signed up for", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many registrations from this address; see Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many passwords being hashed at once; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/register")]
async fn register(
    ctx: web::Data<Ctx>,
    addr: ClientAddr,
    body: Json<RegisterRequest>,
) -> Result<HttpResponse, AppError> {
    let body = body.0;
    let registration = Registration::parse(RegistrationInput {
        email: &body.email,
        password: body.password.expose_secret(),
        display_name: &body.display_name,
        locale: body.locale,
        organisation_name: &body.organisation.name,
        organisation_kind: body.organisation.kind,
        kvk_number: body.organisation.kvk_number.as_deref(),
        address: body.organisation.address.as_deref(),
        location: body.organisation.location.map(|l| (l.lat, l.lon)),
    })?;
    let me = accounts::organisations::register(&ctx, registration, Some(&addr.0)).await?;
    Ok(HttpResponse::Created().json(me))
}

fn no_store(pair: TokenPair) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .json(pair)
}

/// Log in: exchange e-mail address and password for an access and a refresh token.
#[utoipa::path(
    tag = "accounts",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "A new session", body = TokenPair),
        (status = 401, description = "Wrong e-mail address or password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts; see Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many passwords being checked at once; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/token")]
async fn token(
    ctx: web::Data<Ctx>,
    addr: ClientAddr,
    body: Json<TokenRequest>,
) -> Result<HttpResponse, AppError> {
    let body = body.0;
    let pair = accounts::sessions::login(
        &ctx,
        &body.email,
        body.password.expose_secret().to_owned(),
        &addr.0,
    )
    .await?;
    Ok(no_store(pair))
}

/// Rotate a refresh token: the old one stops working; presenting it again ends the session.
#[utoipa::path(
    tag = "accounts",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = TokenPair),
        (status = 401, description = "Unknown, expired, revoked or reused refresh token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/refresh")]
async fn refresh(
    ctx: web::Data<Ctx>,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, AppError> {
    let pair = accounts::sessions::refresh(&ctx, body.0.refresh_token.expose_secret()).await?;
    Ok(no_store(pair))
}

/// Log out: end the session that the refresh token belongs to.
#[utoipa::path(
    tag = "accounts",
    request_body = RefreshRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The session has ended"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/logout")]
async fn logout(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, AppError> {
    accounts::sessions::logout(&ctx, &auth.0, body.0.refresh_token.expose_secret()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    #[schema(value_type = String, format = Password)]
    current_password: SecretString,
    /// 10 to 128 characters; not a common password, nor the e-mail address or a name of the
    /// account.
    #[schema(value_type = String, format = Password)]
    new_password: SecretString,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    #[schema(example = "sanne@sloopbedrijf.nl")]
    email: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPasswordRequest {
    /// The token from the reset link (`/reset?token=…`).
    #[schema(value_type = String)]
    token: SecretString,
    #[schema(value_type = String, format = Password)]
    new_password: SecretString,
}

/// Change the password, given the current one. Every session of the account ends (browser
/// sessions too); the answer is a new session for the caller.
#[utoipa::path(
    tag = "accounts",
    request_body = ChangePasswordRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed; a new session", body = TokenPair),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The current password is wrong, or the new one is refused", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many passwords being hashed at once; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/password")]
async fn change_password(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    body: Json<ChangePasswordRequest>,
) -> Result<HttpResponse, AppError> {
    let body = body.0;
    let pair = accounts::credentials::change_password(
        &ctx,
        &auth.0,
        body.current_password.expose_secret().to_owned(),
        body.new_password.expose_secret(),
    )
    .await?;
    Ok(no_store(pair))
}

/// Ask for a link to choose a new password. Sent to the address when an account has it; the
/// answer is the same either way. The link works once, for an hour.
#[utoipa::path(
    tag = "accounts",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "If the address has an account, a link is on its way"),
    )
)]
#[post("/auth/password-reset")]
async fn request_password_reset(
    ctx: web::Data<Ctx>,
    body: Json<PasswordResetRequest>,
) -> Result<HttpResponse, AppError> {
    accounts::credentials::request_reset(&ctx, &body.0.email).await?;
    Ok(HttpResponse::Accepted().finish())
}

/// Choose a new password with the token of a reset link. Every session of the account ends
/// and failed logins no longer lock it.
#[utoipa::path(
    tag = "accounts",
    request_body = NewPasswordRequest,
    responses(
        (status = 204, description = "The new password is set"),
        (status = 422, description = "The link is used or expired, or the password is refused", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many passwords being hashed at once; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/password-reset/confirm")]
async fn reset_password(
    ctx: web::Data<Ctx>,
    body: Json<NewPasswordRequest>,
) -> Result<HttpResponse, AppError> {
    let body = body.0;
    accounts::credentials::reset_password(
        &ctx,
        body.token.expose_secret(),
        body.new_password.expose_secret(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The signed-in user, their organisation and its status.
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Me),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me")]
async fn current_user(ctx: web::Data<Ctx>, auth: Authenticated) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(accounts::me(&ctx, &auth.0).await?))
}

/// An organisation's public profile. Members' e-mail addresses are shown only to the
/// organisation itself and to brokers.
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Organisation id")),
    responses(
        (status = 200, body = OrganisationProfile),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organisations/{id}")]
async fn organisation_profile(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(accounts::organisations::organisation_profile(&ctx, &auth.0, id.into_inner()).await?))
}

/// Organisations for review (brokers only), oldest first.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(OrganisationFilter, PageQuery),
    responses(
        (status = 200, body = Page<Organisation>),
        (status = 400, description = "Bad cursor", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` outside 1 to 100", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/organisations")]
async fn list_organisations(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    query: Paged<OrganisationFilter>,
) -> Result<HttpResponse, AppError> {
    let page = accounts::organisations::list_organisations(
        &ctx,
        &auth.0,
        query.filter.status,
        query.page.cursor.as_deref(),
        query.page.limit()?,
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Verify an organisation (brokers only): it may then list, wish and reserve. Its owners are
/// told. An owner must have confirmed their e-mail address first.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Organisation id")),
    responses(
        (status = 200, body = Organisation),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No owner of the organisation has confirmed their e-mail address yet (`email-not-verified`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/organisations/{id}/verify")]
async fn verify_organisation(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let organisation = accounts::organisations::set_organisation_status(
        &ctx,
        &auth.0,
        id.into_inner(),
        OrganisationStatus::Verified,
        None,
    )
    .await?;
    Ok(HttpResponse::Ok().json(organisation))
}

/// Suspend an organisation (brokers only): it keeps its data but may no longer list, wish or
/// reserve until verified again. Its owners are told, with the reason when one is given; the
/// reason is kept in the audit log. The body may be left out.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Organisation id")),
    request_body = Option<SuspendRequest>,
    responses(
        (status = 200, body = Organisation),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The platform's own organisation (the brokers') cannot be suspended", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`reason` empty or longer than 500 characters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/organisations/{id}/suspend")]
async fn suspend_organisation(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
    body: OptionalJson<SuspendRequest>,
) -> Result<HttpResponse, AppError> {
    let reason = body
        .0
        .and_then(|body| body.reason)
        .map(|reason| Reason::parse(&reason))
        .transpose()
        .map_err(|invalid| FieldErrors::single("/reason", invalid))?;
    let organisation = accounts::organisations::set_organisation_status(
        &ctx,
        &auth.0,
        id.into_inner(),
        OrganisationStatus::Suspended,
        reason,
    )
    .await?;
    Ok(HttpResponse::Ok().json(organisation))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatchRequest {
    /// 1 to 100 characters.
    display_name: Option<String>,
    /// The language of mail and messages, from the next one on.
    locale: Option<Locale>,
}

/// Change your display name or language (mail follows the language from the next one on).
#[utoipa::path(
    tag = "accounts",
    request_body = ProfilePatchRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Me),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/me")]
async fn update_me(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    body: Json<ProfilePatchRequest>,
) -> Result<HttpResponse, AppError> {
    let body = body.0;
    let change = ProfileChange {
        display_name: body.display_name,
        locale: body.locale,
    };
    Ok(HttpResponse::Ok().json(accounts::profile::update_me(&ctx, &auth.0, change).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenOfLinkRequest {
    /// The token of the link in the mail.
    #[schema(value_type = String)]
    token: SecretString,
}

/// Confirm your e-mail address with the token of the link mailed at registration
/// (`/verify-email?token=…`). Works once, within 48 hours.
#[utoipa::path(
    tag = "accounts",
    request_body = TokenOfLinkRequest,
    responses(
        (status = 204, description = "The address is confirmed"),
        (status = 422, description = "The link is used or expired", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/email/verify")]
async fn verify_email(
    ctx: web::Data<Ctx>,
    body: Json<TokenOfLinkRequest>,
) -> Result<HttpResponse, AppError> {
    accounts::verification::verify(&ctx, body.0.token.expose_secret()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Ask for a new link to confirm your e-mail address (at most three an hour).
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 202, description = "A new link is on its way"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The address is confirmed already (`email-already-verified`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Three links within the hour already; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/email/verification")]
async fn resend_verification(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
) -> Result<HttpResponse, AppError> {
    accounts::verification::resend(&ctx, &auth.0).await?;
    Ok(HttpResponse::Accepted().finish())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitationRequest {
    /// The token of the invitation link (`/invitation?token=…`).
    #[schema(value_type = String)]
    token: SecretString,
    #[schema(example = "Kim Jansen")]
    display_name: String,
    /// 10 to 128 characters; not a common password, nor the address or a name.
    #[schema(value_type = String, format = Password)]
    password: SecretString,
    /// Language for mail and messages; `nl` when absent.
    locale: Option<Locale>,
}

/// Accept an invitation: makes your account in the inviting organisation, with the role the
/// owner chose and your address confirmed; then log in with `/auth/token`. An address whose
/// account an organisation removed is admitted again with the name and password given; an
/// address with an account in another organisation is refused (409
/// `member-of-another-organisation`: a person belongs to one organisation) and the link stays
/// usable until it expires.
#[utoipa::path(
    tag = "accounts",
    request_body = AcceptInvitationRequest,
    responses(
        (status = 201, description = "Joined", body = Me),
        (status = 409, description = "The address is a member already (`already-member`) or of another organisation (`member-of-another-organisation`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The invitation is used, taken back or expired, or a field is refused", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many passwords being hashed at once; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/invitations/accept")]
async fn accept_invitation(
    ctx: web::Data<Ctx>,
    body: Json<AcceptInvitationRequest>,
) -> Result<HttpResponse, AppError> {
    let body = body.0;
    let me = accounts::members::accept(
        &ctx,
        Acceptance {
            token: body.token.expose_secret(),
            display_name: &body.display_name,
            password: body.password.expose_secret(),
            locale: body.locale,
        },
    )
    .await?;
    Ok(HttpResponse::Created().json(me))
}

/// Your organisation's members, with their e-mail addresses and roles.
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<Member>),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organisations/me/members")]
async fn list_members(ctx: web::Data<Ctx>, auth: Authenticated) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(accounts::members::members(&ctx, &auth.0).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationRequest {
    #[schema(example = "kim@sloopbedrijf.nl")]
    email: String,
    /// `member` when absent.
    role: Option<OrgRole>,
}

/// Invite someone to your organisation by e-mail (owners only). The link in the mail works
/// once, for 7 days; a newer invitation to the same address replaces an open one. The mail is
/// written in the inviting owner's language.
#[utoipa::path(
    tag = "accounts",
    request_body = InvitationRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Invited; the mail is on its way", body = Invitation),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an owner, or the organisation is suspended", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The address belongs to a member already (`already-member`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid e-mail address", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organisations/me/invitations")]
async fn invite(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    body: Json<InvitationRequest>,
) -> Result<HttpResponse, AppError> {
    let body = body.0;
    let invitation = accounts::members::invite(
        &ctx,
        &auth.0,
        &body.email,
        body.role.unwrap_or(OrgRole::Member),
    )
    .await?;
    Ok(HttpResponse::Created().json(invitation))
}

/// Your organisation's invitations that can still be accepted, newest first (owners only).
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<Invitation>),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an owner", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organisations/me/invitations")]
async fn list_invitations(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(accounts::members::invitations(&ctx, &auth.0).await?))
}

/// Take an invitation back before it is accepted (owners only).
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Invitation id")),
    responses(
        (status = 204, description = "Taken back; its link no longer works"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such open invitation of your organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/organisations/me/invitations/{id}")]
async fn revoke_invitation(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    accounts::members::revoke_invitation(&ctx, &auth.0, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Remove a member from your organisation (owners; a member may remove only themselves, that
/// is leave). Every session of the member ends and their access tokens are refused from the
/// next request on; what they did stays in the organisation's history. The last owner cannot
/// be removed: pass ownership on first.
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    params(("user_id" = Uuid, Path, description = "The member's user id")),
    responses(
        (status = 204, description = "Removed; the member is told"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such member of your organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The organisation's last owner (`last-owner`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/organisations/me/members/{user_id}")]
async fn remove_member(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    user_id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    accounts::members::remove(&ctx, &auth.0, user_id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOwnerRequest {
    /// The member who becomes owner.
    user_id: Uuid,
}

/// Pass ownership on to another member (owners only): they become an owner, you a member.
/// Every member is told.
#[utoipa::path(
    tag = "accounts",
    request_body = NewOwnerRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The members as they are now", body = Vec<Member>),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such member of your organisation", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`user_id` is yourself", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organisations/me/owner")]
async fn pass_ownership(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    body: Json<NewOwnerRequest>,
) -> Result<HttpResponse, AppError> {
    let members = accounts::members::pass_ownership(&ctx, &auth.0, body.0.user_id).await?;
    Ok(HttpResponse::Ok().json(members))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationPatchRequest {
    /// 1 to 200 characters.
    name: Option<String>,
    /// 1 to 500 characters; `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    address: Option<Option<String>>,
    /// `null` clears it; the organisation is assigned to the district it lies in.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Location>)]
    location: Option<Option<Location>>,
}

fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Change your organisation's name, address or location (owners only); a new location
/// assigns it to the district it lies in.
#[utoipa::path(
    tag = "accounts",
    request_body = OrganisationPatchRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Organisation),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an owner, or the organisation is suspended", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/organisations/me")]
async fn update_organisation(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    body: Json<OrganisationPatchRequest>,
) -> Result<HttpResponse, AppError> {
    let body = body.0;
    let change = OrganisationChange {
        name: body.name,
        address: body.address,
        location: body.location,
    };
    Ok(HttpResponse::Ok()
        .json(accounts::profile::update_organisation(&ctx, &auth.0, change).await?))
}
