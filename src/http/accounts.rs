//! Accounts and organisations: registration, tokens, the current user and profiles.

use super::extract::{Authenticated, ClientAddr, Paged};
use super::json::{Json, OptionalJson};
use super::problem::Problem;
use crate::app::accounts::{self, Me, Organisation, OrganisationProfile, TokenPair};
use crate::app::error::AppError;
use crate::app::paging::{Page, PageQuery};
use crate::app::Ctx;
use crate::domain::account::{
    Locale, OrganisationKind, OrganisationStatus, Registration, RegistrationInput,
};
use crate::domain::audit::Reason;
use crate::domain::geo::Location;
use crate::domain::validation::FieldErrors;
use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{get, post, web, HttpResponse};
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

/// Verify an organisation (brokers only): it may then list, wish and reserve. Its owners are told.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Organisation id")),
    responses(
        (status = 200, body = Organisation),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
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
