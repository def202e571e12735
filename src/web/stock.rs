//! The city's stock map (`/`), a lot's page with its passport and custody chain, and
//! reserving from it. The search is the API's search (`app::listings::search`), so the page
//! and `GET /api/v1/listings` answer alike; locations on the map are rounded as in open data.

use super::page::{field_errors, render, render_with, see_other, urlencode, PageError};
use super::session::{Submitted, Visitor};
use super::views::{self, CategoryOption, DistrictOption, LotView};
use crate::app::accounts;
use crate::app::error::AppError;
use crate::app::listings::{self, Search};
use crate::app::paging::PageQuery;
use crate::app::reservations::{self, NewReservation};
use crate::app::{passports, Ctx};
use crate::db::listings::SearchOrder;
use crate::domain::passport::Condition;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use minijinja::context;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The map page's search, as the form sends it.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct MapQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    category: String,
    /// A district's code: searches around its centre.
    #[serde(default)]
    district: String,
    #[serde(default)]
    radius_km: String,
    #[serde(default)]
    condition_min: String,
    #[serde(default, skip_serializing)]
    cursor: Option<String>,
}

/// `GET /`: the stock map with the search form and its results.
pub async fn map(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    query: web::Query<MapQuery>,
) -> Result<HttpResponse, PageError> {
    let me = views::me(&ctx, &visitor).await?;
    let form = query.into_inner();
    let categories = CategoryOption::all(&ctx, visitor.lang).await?;
    let districts = DistrictOption::all(&ctx).await?;
    let mut errors = std::collections::BTreeMap::new();
    let search = search_of(&form, &districts, &mut errors);
    let (lots, next_page) = match search {
        Some(search) => match listings::search(&ctx, visitor.actor.as_ref(), search).await {
            Ok(page) => {
                let next = page.next_cursor.as_ref().map(|cursor| {
                    let base = serde_urlencoded::to_string(&form).unwrap_or_default();
                    format!("/?{base}&cursor={}", urlencode(cursor))
                });
                (page.items, next)
            }
            Err(AppError::Validation(found)) => {
                errors.extend(field_errors(&found));
                (Vec::new(), None)
            }
            Err(other) => return Err(other.into()),
        },
        None => (Vec::new(), None),
    };
    let names = views::district_names(&districts);
    let lots: Vec<LotView> = lots
        .into_iter()
        .map(|lot| LotView::of(lot, &names, true))
        .collect();
    let lots_json = views::script_json(
        &lots
            .iter()
            .map(|lot| serde_json::json!({"id": lot.id, "title": lot.title, "lat": lot.lat, "lon": lot.lon, "status": lot.status}))
            .collect::<Vec<_>>(),
    );
    let can_wish = visitor
        .actor
        .as_ref()
        .is_some_and(|a| a.require_verified().is_ok());
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let title = views::t(&visitor, "map_title");
    render_with(
        &visitor,
        me.as_ref(),
        "map.html",
        title,
        context! {
            form => form,
            categories => categories,
            districts => districts,
            conditions => views::CONDITIONS,
            units => views::UNITS,
            errors => errors,
            wish_errors => false,
            lots => lots,
            lots_json => lots_json,
            next_page => next_page,
            can_wish => can_wish,
            tiles => ctx.map_tiles.clone(),
        },
        status,
    )
}

/// The API's search from the map's form; field errors go into `errors`.
fn search_of(
    form: &MapQuery,
    districts: &[DistrictOption],
    errors: &mut std::collections::BTreeMap<String, String>,
) -> Option<Search> {
    let near = match form.district.trim() {
        "" => None,
        code => match districts.iter().find(|d| d.code == code) {
            Some(district) => district.centre,
            None => {
                errors.insert("district".into(), "unknown district".into());
                None
            }
        },
    };
    let radius_km = match form.radius_km.trim() {
        "" => None,
        raw => match raw.parse::<f64>() {
            Ok(km) => Some(km),
            Err(_) => {
                errors.insert("radius_km".into(), "must be a number of km".into());
                None
            }
        },
    };
    let condition_min = match form.condition_min.trim() {
        "" => None,
        raw => match raw.parse::<Condition>() {
            Ok(condition) => Some(condition),
            Err(_) => {
                errors.insert("condition_min".into(), "unknown condition".into());
                None
            }
        },
    };
    if !errors.is_empty() {
        return None;
    }
    let q = Some(form.q.trim().to_owned()).filter(|q| !q.is_empty());
    let sort = match (&q, near) {
        (Some(_), _) => Some(SearchOrder::Relevance),
        (None, Some(_)) => Some(SearchOrder::Distance),
        _ => Some(SearchOrder::Date),
    };
    Some(Search {
        category: Some(form.category.trim().to_owned()).filter(|c| !c.is_empty()),
        q,
        near,
        radius_km: near.and(radius_km.or(Some(10.0))),
        status: Vec::new(),
        available_by: None,
        min_quantity: None,
        max_price: None,
        currency: None,
        condition_min,
        sort,
        page: PageQuery {
            cursor: form.cursor.clone(),
            limit: Some(50),
        },
    })
}

#[derive(Debug, Deserialize)]
pub struct LotQuery {
    /// The match that led here (from a match mail): reserving answers it.
    #[serde(rename = "match")]
    match_id: Option<Uuid>,
}

/// `GET /lots/{id}`: a lot, its passport, documents and custody chain, and the form to reserve.
pub async fn lot(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    id: web::Path<Uuid>,
    query: web::Query<LotQuery>,
) -> Result<HttpResponse, PageError> {
    lot_page(&ctx, &visitor, id.into_inner(), query.match_id, None).await
}

async fn lot_page(
    ctx: &Ctx,
    visitor: &Visitor,
    id: Uuid,
    match_id: Option<Uuid>,
    reserve_error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let me = views::me(ctx, visitor).await?;
    let actor = visitor.actor.as_ref();
    let listing = listings::get(ctx, actor, id).await?;
    let districts = DistrictOption::all(ctx).await?;
    let names = views::district_names(&districts);
    let own = actor.is_some_and(|a| a.organisation_id == listing.organisation_id);
    let passport = passports::get(ctx, actor, listing.passport_id).await.ok();
    let custody = passports::custody(ctx, actor, listing.passport_id)
        .await
        .ok();
    let photos: Vec<super::passports::FileView> = if passport.is_some() {
        super::passports::FileView::all(ctx, actor, listing.passport_id)
            .await?
            .into_iter()
            .filter(|f| f.thumbnail.is_some())
            .collect()
    } else {
        Vec::new()
    };
    // The use case rounds the point (and leaves out the address) for whoever may not see it.
    let lot = LotView::of(listing, &names, false);
    let reserve = actor.is_some_and(|a| a.require_verified().is_ok())
        && !own
        && lot.available > 0
        && (lot.status == "available" || lot.status == "announced");
    let status = if reserve_error.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    let title = lot.title.clone();
    render_with(
        visitor,
        me.as_ref(),
        "lot.html",
        &title,
        context! {
            lot => lot,
            passport => passport.as_ref().map(views::PassportView::of),
            photos => photos,
            custody => custody.as_ref().map(|c| c.events.clone()).unwrap_or_default(),
            custody_verified => custody.as_ref().is_some_and(|c| c.verified),
            reserve => reserve,
            reserve_error => reserve_error,
            signed_in => actor.is_some(),
            match_id => match_id,
        },
        status,
    )
}

#[derive(Debug, Deserialize)]
pub struct ReserveForm {
    quantity: String,
    match_id: Option<Uuid>,
}

/// `POST /lots/{id}/reserve`.
pub async fn reserve(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    id: web::Path<Uuid>,
    form: Submitted<ReserveForm>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let id = id.into_inner();
    let form = form.0;
    let Ok(quantity) = form.quantity.trim().parse::<i64>() else {
        let why = views::t(&visitor, "quantity").to_owned() + ": 1…";
        return lot_page(&ctx, &visitor, id, form.match_id, Some(why)).await;
    };
    let input = NewReservation {
        listing_id: id,
        quantity,
        match_id: form.match_id,
    };
    match reservations::reserve(&ctx, actor, None, input).await {
        Ok(answer) => {
            let reservation: Option<Uuid> =
                serde_json::from_slice::<serde_json::Value>(&answer.body)
                    .ok()
                    .and_then(|body| body.get("id")?.as_str()?.parse().ok());
            Ok(see_other(&match reservation {
                Some(rid) => format!("/workspace/reservations/{rid}?notice=reserved"),
                None => "/workspace?notice=reserved#reservations".into(),
            }))
        }
        Err(
            error @ (AppError::Conflict { .. } | AppError::Validation(_) | AppError::BadRequest(_)),
        ) => {
            let why = match &error {
                AppError::Validation(errors) => field_errors(errors)
                    .into_values()
                    .collect::<Vec<_>>()
                    .join("; "),
                other => other.to_string(),
            };
            lot_page(&ctx, &visitor, id, form.match_id, Some(why)).await
        }
        Err(other) => Err(other.into()),
    }
}

/// `GET /login`.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

pub async fn login_form(
    visitor: Visitor,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, PageError> {
    let next = super::session::local_path(query.next.as_deref());
    if visitor.actor.is_some() {
        return Ok(see_other(&next));
    }
    render(
        &visitor,
        None,
        "login.html",
        views::t(&visitor, "sign_in"),
        context! { next => next, email => "", failed => None::<String> },
    )
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

/// `POST /login`: the API's throttling applies; a session cookie on success.
pub async fn login(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    client: crate::http::extract::ClientAddr,
    form: Submitted<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.0;
    let next = super::session::local_path(form.next.as_deref());
    let email = form.email.trim().to_owned();
    match accounts::sessions::sign_in(&ctx, &email, form.password, &client.0).await {
        Ok(session) => {
            let age = (session.expires_at - ctx.now()).num_seconds().max(60);
            let mut response = see_other(&next);
            let cookie = visitor.cookie(
                super::session::SESSION_COOKIE,
                session.secret,
                Some(actix_web::cookie::time::Duration::seconds(age)),
            );
            response
                .add_cookie(&cookie)
                .map_err(|_| PageError::internal("the session cookie"))?;
            Ok(response)
        }
        Err(error) => {
            let (status, key) = match &error {
                AppError::InvalidCredentials
                | AppError::Validation(_)
                | AppError::BadRequest(_) => (StatusCode::UNAUTHORIZED, "login_failed"),
                AppError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "login_throttled"),
                AppError::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
                _ => return Err(error.into()),
            };
            let mut response = render_with(
                &visitor,
                None,
                "login.html",
                views::t(&visitor, "sign_in"),
                context! { next => next, email => email, failed => views::t(&visitor, key) },
                status,
            )?;
            if let AppError::RateLimited { retry_after_secs }
            | AppError::Busy { retry_after_secs } = error
            {
                response.headers_mut().insert(
                    actix_web::http::header::RETRY_AFTER,
                    actix_web::http::header::HeaderValue::from(retry_after_secs),
                );
            }
            Ok(response)
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Empty {}

/// `POST /logout`: ends the session and forgets the cookie.
pub async fn logout(
    ctx: web::Data<Ctx>,
    req: actix_web::HttpRequest,
    visitor: Visitor,
    _form: Submitted<Empty>,
) -> Result<HttpResponse, PageError> {
    if let Some(cookie) = req.cookie(super::session::SESSION_COOKIE) {
        accounts::sessions::sign_out(&ctx, cookie.value()).await?;
    }
    let mut response = see_other("/");
    let mut gone = visitor.cookie(super::session::SESSION_COOKIE, String::new(), None);
    gone.make_removal();
    response
        .add_cookie(&gone)
        .map_err(|_| PageError::internal("the session cookie"))?;
    Ok(response)
}

/// `GET /lang/{code}`: remembers the language and goes back.
pub async fn language(
    visitor: Visitor,
    code: web::Path<String>,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, PageError> {
    let next = super::session::local_path(query.next.as_deref());
    let Some(lang) = super::i18n::Lang::parse(&code) else {
        return Err(AppError::NotFound("language").into());
    };
    let mut response = see_other(&next);
    let cookie = visitor.cookie(
        super::session::LANG_COOKIE,
        lang.code().to_owned(),
        Some(actix_web::cookie::time::Duration::days(365)),
    );
    response
        .add_cookie(&cookie)
        .map_err(|_| PageError::internal("the language cookie"))?;
    Ok(response)
}
