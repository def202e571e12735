//! An organisation's workspace (`/workspace`): its passports (create, clear a hazard, offer a
//! lot), lots (withdraw), wishes and their matches, reservations (hand over, confirm,
//! dispute, cancel) and its account. Every form calls the same use case as the API, so the
//! same rules and the same object-level checks hold.

use super::page::{field_errors, render, render_with, see_other, PageError};
use super::session::{Submitted, Visitor};
use super::views::{self, CategoryOption, DistrictOption, LotView, PassportView};
use crate::app::accounts;
use crate::app::error::AppError;
use crate::app::feed::{self, Digest};
use crate::app::listings::{self, NewListing, Pickup, Price};
use crate::app::reservations::{self, Receipt};
use crate::app::wishes::{self, NewWish, NotifyMode};
use crate::app::{ledger, passports, Ctx};
use crate::domain::account::OrgRole;
use crate::domain::custody::CustodyKind;
use crate::domain::geo::Location;
use crate::domain::passport::{Document, DocumentKind, PassportContent};
use crate::domain::quantity::Quantity;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{NaiveDate, TimeZone, Utc};
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

#[derive(Debug, Serialize)]
struct MatchView {
    id: Uuid,
    listing_id: Uuid,
    title: String,
    score: i32,
    status: String,
    predicted: bool,
    expected_on: Option<String>,
    answerable: bool,
    reasons: Vec<String>,
}

#[derive(Debug, Serialize)]
struct MemberView {
    id: Uuid,
    name: String,
    email: String,
    role: String,
}

#[derive(Debug, Serialize)]
struct WishView {
    id: Uuid,
    label: String,
    amount: i64,
    unit: String,
    radius_km: f64,
    notify: String,
}

#[derive(Debug, Serialize)]
struct ReservationView {
    id: Uuid,
    listing_id: Uuid,
    title: String,
    quantity: String,
    status: String,
    expires_at: Option<String>,
    mine_to_give: bool,
    can_hand_over: bool,
    can_cancel: bool,
    can_acknowledge: bool,
}

/// The titles of listings, looked up once each.
async fn titles(
    ctx: &Ctx,
    visitor: &Visitor,
    ids: impl IntoIterator<Item = Uuid>,
) -> HashMap<Uuid, String> {
    let mut titles = HashMap::new();
    for id in ids {
        if titles.contains_key(&id) {
            continue;
        }
        if let Ok(listing) = listings::get(ctx, visitor.actor.as_ref(), id).await {
            titles.insert(id, listing.title);
        }
    }
    titles
}

fn match_view(m: wishes::Match, titles: &HashMap<Uuid, String>, visitor: &Visitor) -> MatchView {
    MatchView {
        id: m.id,
        listing_id: m.listing_id,
        title: titles.get(&m.listing_id).cloned().unwrap_or_default(),
        score: m.score,
        status: m.status.as_str().to_owned(),
        predicted: m.predicted,
        expected_on: m.expected_on.map(|d| d.to_rfc3339()),
        answerable: m.status.as_str() == "open",
        reasons: m
            .reasons
            .into_iter()
            .map(|r| match visitor.lang {
                super::i18n::Lang::Nl => r.nl,
                super::i18n::Lang::En => r.en,
            })
            .collect(),
    }
}

fn wish_view(w: &wishes::Wish, categories: &HashMap<Uuid, String>) -> WishView {
    let category = categories.get(&w.category_id).cloned().unwrap_or_default();
    WishView {
        id: w.id,
        label: if w.keywords.is_empty() {
            category
        } else {
            format!("{category}: {}", w.keywords.join(" "))
        },
        amount: w.quantity.amount,
        unit: w.quantity.unit.as_str().to_owned(),
        radius_km: w.radius_km,
        notify: match w.notify {
            NotifyMode::Instant => "instant".into(),
            NotifyMode::Daily => "daily".into(),
        },
    }
}

fn reservation_view(
    r: reservations::Reservation,
    titles: &HashMap<Uuid, String>,
    organisation: Uuid,
) -> ReservationView {
    let status = r.status.as_str().to_owned();
    let giving = r.donor_id == organisation;
    let held = status == "held";
    ReservationView {
        id: r.id,
        listing_id: r.listing_id,
        title: titles.get(&r.listing_id).cloned().unwrap_or_default(),
        quantity: format!("{} {}", r.quantity.amount, r.quantity.unit.as_str()),
        can_hand_over: giving && held,
        can_cancel: held,
        can_acknowledge: !giving && status == "handed_over" && r.confirmation.is_none(),
        expires_at: held.then(|| r.expires_at.to_rfc3339()),
        status,
        mine_to_give: giving,
    }
}

async fn category_names(ctx: &Ctx, visitor: &Visitor) -> Result<HashMap<Uuid, String>, PageError> {
    Ok(CategoryOption::all(ctx, visitor.lang)
        .await?
        .into_iter()
        .map(|c| (c.id, c.label))
        .collect())
}

/// `GET /workspace`.
pub async fn overview(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let me = views::me(&ctx, &visitor).await?;
    let verified = actor.require_verified().is_ok();
    let passports: Vec<PassportView> = passports::list_own(&ctx, actor, None, 100)
        .await?
        .items
        .iter()
        .map(PassportView::of)
        .collect();
    let districts = views::district_names(&DistrictOption::all(&ctx).await?);
    let own_lots: Vec<LotView> = listings::list_own(&ctx, actor, 100)
        .await?
        .into_iter()
        .map(|l| LotView::of(l, &districts, false))
        .collect();
    let categories = category_names(&ctx, &visitor).await?;
    let wishes: Vec<WishView> = wishes::list(&ctx, actor, None, 100)
        .await?
        .items
        .iter()
        .map(|w| wish_view(w, &categories))
        .collect();
    let matches = wishes::matches_of_organisation(&ctx, actor, None, 50)
        .await?
        .items;
    let reservations = reservations::list(&ctx, actor, None, 50).await?.items;
    let titles = titles(
        &ctx,
        &visitor,
        matches
            .iter()
            .map(|m| m.listing_id)
            .chain(reservations.iter().map(|r| r.listing_id))
            .collect::<Vec<_>>(),
    )
    .await;
    let matches: Vec<MatchView> = matches
        .into_iter()
        .map(|m| match_view(m, &titles, &visitor))
        .collect();
    let reservations: Vec<ReservationView> = reservations
        .into_iter()
        .map(|r| reservation_view(r, &titles, actor.organisation_id))
        .collect();
    let organisation = me
        .as_ref()
        .map(|m| m.organisation.name.clone())
        .unwrap_or_default();
    let members: Vec<MemberView> =
        accounts::organisations::organisation_profile(&ctx, actor, actor.organisation_id)
            .await?
            .members
            .into_iter()
            .map(|m| MemberView {
                id: m.id,
                name: m.display_name,
                email: m.email.unwrap_or_default(),
                role: m.role.as_str().to_owned(),
            })
            .collect();
    let is_owner = actor.org_role == OrgRole::Owner;
    let invitations = if is_owner {
        accounts::members::invitations(&ctx, actor).await?
    } else {
        Vec::new()
    };
    render(
        &visitor,
        me.as_ref(),
        "workspace.html",
        views::t(&visitor, "workspace_title"),
        context! {
            notice => views::notice_text(&visitor, query.notice.as_deref()),
            organisation => organisation,
            verified => verified,
            passports => passports,
            listings => own_lots,
            wishes => wishes,
            matches => matches,
            reservations => reservations,
            members => members,
            is_owner => is_owner,
            my_id => actor.user_id,
            invitations => invitations,
        },
    )
}

/// The passport form, as typed.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct PassportForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    eural_code: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    condition: String,
    #[serde(default)]
    mass_grams: String,
    #[serde(default)]
    mass_per: String,
    #[serde(default)]
    site: String,
    #[serde(default)]
    building_year: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lon: String,
    #[serde(default)]
    hazard: String,
}

/// `GET /workspace/passports/new`.
pub async fn new_passport(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
) -> Result<HttpResponse, PageError> {
    let form = PassportForm {
        condition: "good".into(),
        ..PassportForm::default()
    };
    passport_form(&ctx, &visitor, form, BTreeMap::new(), StatusCode::OK).await
}

async fn passport_form(
    ctx: &Ctx,
    visitor: &Visitor,
    form: PassportForm,
    errors: BTreeMap<String, String>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    visitor.signed_in()?.require_verified()?;
    let me = views::me(ctx, visitor).await?;
    render_with(
        visitor,
        me.as_ref(),
        "passport_new.html",
        views::t(visitor, "new_passport"),
        context! {
            form => form,
            errors => errors,
            categories => CategoryOption::all(ctx, visitor.lang).await?,
            conditions => views::CONDITIONS,
            mass_units => views::MASS_UNITS,
        },
        status,
    )
}

/// The passport's content from the form: the API's JSON shape, so that the API's own checks
/// (and messages) apply.
fn content_of(form: &PassportForm) -> Result<PassportContent, BTreeMap<String, String>> {
    let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let mut errors = BTreeMap::new();
    let mut number = |name: &str, raw: &str| -> Option<serde_json::Value> {
        let raw = raw.trim().replace(',', ".");
        if raw.is_empty() {
            return None;
        }
        match raw.parse::<f64>() {
            Ok(n) if n.is_finite() => Some(serde_json::json!(n)),
            _ => {
                errors.insert(name.to_owned(), "must be a number".to_owned());
                None
            }
        }
    };
    let lat = number("lat", &form.lat);
    let lon = number("lon", &form.lon);
    let grams = number("unit_mass", &form.mass_grams);
    let year = number("building_year", &form.building_year);
    let location = match (lat, lon) {
        (Some(lat), Some(lon)) => serde_json::json!({"lat": lat, "lon": lon}),
        _ => serde_json::Value::Null,
    };
    let as_int =
        |v: Option<serde_json::Value>| v.and_then(|v| v.as_f64()).map(|n| n.round() as i64);
    let json = serde_json::json!({
        "category": form.category.trim(),
        "eural_code": text(&form.eural_code),
        "name": form.name,
        "description": text(&form.description),
        "condition": if form.condition.is_empty() { "good" } else { form.condition.as_str() },
        "unit_mass": as_int(grams).map(|g| serde_json::json!({"grams": g, "per": if form.mass_per.is_empty() { "piece" } else { form.mass_per.as_str() }})),
        "origin": {"site": text(&form.site), "building_year": as_int(year), "location": location},
        "hazards": text(&form.hazard).map(|h| vec![serde_json::json!({"substance": h})]).unwrap_or_default(),
    });
    if !errors.is_empty() {
        return Err(errors);
    }
    serde_json::from_value(json).map_err(|error| {
        let mut errors = BTreeMap::new();
        errors.insert(String::new(), error.to_string());
        errors
    })
}

/// `POST /workspace/passports`.
pub async fn create_passport(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    form: Submitted<PassportForm>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let form = form.0;
    let content = match content_of(&form) {
        Ok(content) => content,
        Err(errors) => {
            return passport_form(
                &ctx,
                &visitor,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    match passports::create(&ctx, actor, content, CustodyKind::Created).await {
        Ok(passport) => Ok(see_other(&format!(
            "/workspace/passports/{}?notice=passport_created",
            passport.id
        ))),
        Err(AppError::Validation(errors)) => {
            passport_form(
                &ctx,
                &visitor,
                form,
                field_errors(&errors),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct LotForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    available_from: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lon: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    note: String,
}

/// `GET /workspace/passports/{id}`.
pub async fn passport(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    id: web::Path<Uuid>,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, PageError> {
    passport_page(
        &ctx,
        &visitor,
        id.into_inner(),
        None,
        BTreeMap::new(),
        query.notice.as_deref(),
    )
    .await
}

async fn passport_page(
    ctx: &Ctx,
    visitor: &Visitor,
    id: Uuid,
    form: Option<LotForm>,
    errors: BTreeMap<String, String>,
    notice: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let passport = passports::get(ctx, Some(actor), id).await?;
    if passport.organisation_id != actor.organisation_id {
        return Err(AppError::NotFound("passport").into());
    }
    let me = views::me(ctx, visitor).await?;
    let files = super::passports::FileView::all(ctx, Some(actor), id).await?;
    let view = PassportView::of(&passport);
    let form = form.unwrap_or_else(|| LotForm {
        amount: "1".into(),
        unit: passport
            .content
            .unit_mass
            .map(|m| m.per.as_str().to_owned())
            .unwrap_or_else(|| "piece".into()),
        available_from: ctx.now().date_naive().to_string(),
        lat: view.lat.map(|v| v.to_string()).unwrap_or_default(),
        lon: view.lon.map(|v| v.to_string()).unwrap_or_default(),
        ..LotForm::default()
    });
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let title = view.name.clone();
    render_with(
        visitor,
        me.as_ref(),
        "passport.html",
        &title,
        context! {
            p => view,
            files => files,
            form => form,
            errors => errors,
            notice => views::notice_text(visitor, notice),
            units => views::UNITS,
            local_currency => ctx.policy.local_currency.clone(),
        },
        status,
    )
}

#[derive(Debug, Deserialize)]
pub struct ClearanceForm {
    /// The hazard the document clears; empty for a document that clears none.
    #[serde(default)]
    clears: String,
    /// `clearance` (the default), `certificate`, `datasheet`, `photo` or `other`.
    #[serde(default)]
    kind: String,
    title: String,
    url: String,
    sha256: String,
}

/// `POST /workspace/passports/{id}/clearance`: a clearance document for a hazard.
pub async fn clear_hazard(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    id: web::Path<Uuid>,
    form: Submitted<ClearanceForm>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let id = id.into_inner();
    let form = form.0;
    let kind = match form.kind.as_str() {
        "" | "clearance" => DocumentKind::Clearance,
        "certificate" => DocumentKind::Certificate,
        "datasheet" => DocumentKind::Datasheet,
        "photo" => DocumentKind::Photo,
        "other" => DocumentKind::Other,
        _ => return Err(AppError::BadRequest("unknown kind of document".into()).into()),
    };
    let clears: Vec<String> = Some(form.clears.trim().to_owned())
        .filter(|c| !c.is_empty())
        .into_iter()
        .collect();
    let notice = if clears.is_empty() {
        "document_added"
    } else {
        "hazard_cleared"
    };
    let document = Document {
        url: form.url.trim().to_owned(),
        sha256: form.sha256.trim().to_ascii_lowercase(),
        kind,
        title: Some(form.title.trim().to_owned()).filter(|t| !t.is_empty()),
        clears,
    };
    match passports::attach_document(&ctx, actor, id, document).await {
        Ok(_) => Ok(see_other(&format!(
            "/workspace/passports/{id}?notice={notice}"
        ))),
        Err(AppError::Validation(errors)) => {
            passport_page(&ctx, &visitor, id, None, field_errors(&errors), None).await
        }
        Err(other) => Err(other.into()),
    }
}

/// A whole number typed into `field`; a message beside it otherwise.
fn whole_number(raw: &str, field: &str, errors: &mut BTreeMap<String, String>) -> Option<i64> {
    let parsed = raw.trim().parse::<i64>().ok();
    if parsed.is_none() {
        errors.insert(field.into(), "must be a whole number".into());
    }
    parsed
}

/// A date picked in `field` (YYYY-MM-DD), as 08:00 UTC that day; a message otherwise.
fn form_date(
    raw: &str,
    field: &str,
    errors: &mut BTreeMap<String, String>,
) -> Option<chrono::DateTime<Utc>> {
    let parsed = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(8, 0, 0))
        .map(|d| Utc.from_utc_datetime(&d));
    if parsed.is_none() {
        errors.insert(field.into(), "must be a date".into());
    }
    parsed
}

/// `POST /workspace/passports/{id}/listings`: offers the passport's material.
pub async fn announce(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    id: web::Path<Uuid>,
    form: Submitted<LotForm>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let id = id.into_inner();
    let form = form.0;
    let mut errors = BTreeMap::new();
    let amount = whole_number(&form.amount, "quantity", &mut errors);
    let unit = form.unit.parse().ok();
    if unit.is_none() {
        errors.insert("unit".into(), "unknown unit".into());
    }
    let from = form_date(&form.available_from, "available_from", &mut errors);
    let lat = form.lat.trim().replace(',', ".").parse::<f64>().ok();
    let lon = form.lon.trim().replace(',', ".").parse::<f64>().ok();
    if lat.is_none() || lon.is_none() {
        errors.insert(
            "pickup".into(),
            "latitude and longitude must be numbers".into(),
        );
    }
    let price = match form.price.trim().replace(',', ".") {
        raw if raw.is_empty() => None,
        raw => match raw.parse::<f64>() {
            Ok(p) if p.is_finite() && p > 0.0 => Some(Price {
                amount: (p * 100.0).round() as i64,
                currency: form.currency.trim().to_owned(),
            }),
            Ok(0.0) => None,
            _ => {
                errors.insert("price".into(), "must be an amount".into());
                None
            }
        },
    };
    let (Some(amount), Some(unit), Some(from), Some(lat), Some(lon)) =
        (amount, unit, from, lat, lon)
    else {
        return passport_page(&ctx, &visitor, id, Some(form), errors, None).await;
    };
    if !errors.is_empty() {
        return passport_page(&ctx, &visitor, id, Some(form), errors, None).await;
    }
    // A date of today means now: the lot is available at once, not announced.
    let now = ctx.now();
    let available_from = if from.date_naive() <= now.date_naive() {
        now
    } else {
        from
    };
    let input = NewListing {
        passport_id: id,
        quantity: Quantity { amount, unit },
        available_from,
        available_until: None,
        pickup: Pickup {
            lat,
            lon,
            address: Some(form.address.trim().to_owned()).filter(|a| !a.is_empty()),
        },
        price,
        note: Some(form.note.trim().to_owned()).filter(|n| !n.is_empty()),
    };
    match listings::create(&ctx, actor, input).await {
        Ok(listing) => Ok(see_other(&format!("/lots/{}", listing.id))),
        Err(AppError::Validation(found)) => {
            passport_page(&ctx, &visitor, id, Some(form), field_errors(&found), None).await
        }
        Err(error @ AppError::Conflict { .. }) => {
            let mut errors = BTreeMap::new();
            errors.insert(String::new(), error.to_string());
            passport_page(&ctx, &visitor, id, Some(form), errors, None).await
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /workspace/listings/{id}/withdraw`.
pub async fn withdraw(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    id: web::Path<Uuid>,
    _form: Submitted<super::stock::Empty>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    listings::withdraw(&ctx, actor, id.into_inner()).await?;
    Ok(see_other("/workspace?notice=withdrawn#listings"))
}

#[derive(Debug, Deserialize)]
pub struct WishForm {
    category: String,
    #[serde(default)]
    keywords: String,
    district: String,
    radius_km: String,
    amount: String,
    unit: String,
    notify: String,
    #[serde(default)]
    include_announced: Option<String>,
}

/// `POST /workspace/wishes`: a wish from the map's search.
pub async fn create_wish(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    form: Submitted<WishForm>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let form = form.0;
    let categories = CategoryOption::all(&ctx, visitor.lang).await?;
    let districts = DistrictOption::all(&ctx).await?;
    let invalid = |why: &str| -> PageError { AppError::BadRequest(why.to_owned()).into() };
    let category = categories
        .iter()
        .find(|c| c.code == form.category.trim())
        .ok_or_else(|| invalid("unknown category"))?;
    let (lat, lon) = districts
        .iter()
        .find(|d| d.code == form.district.trim())
        .and_then(|d| d.centre)
        .ok_or_else(|| invalid("unknown district"))?;
    let input = NewWish {
        category: Some(category.code.clone()),
        category_id: None,
        keywords: form
            .keywords
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        attributes: Default::default(),
        condition_min: None,
        quantity: Quantity {
            amount: form
                .amount
                .trim()
                .parse()
                .map_err(|_| invalid("quantity must be a whole number"))?,
            unit: form.unit.parse().map_err(|_| invalid("unknown unit"))?,
        },
        near: Location { lat, lon },
        radius_km: form
            .radius_km
            .trim()
            .parse()
            .map_err(|_| invalid("radius must be a number"))?,
        needed_by: None,
        max_price: Vec::new(),
        include_announced: form.include_announced.is_some(),
        notify: if form.notify == "daily" {
            NotifyMode::Daily
        } else {
            NotifyMode::Instant
        },
    };
    let wish = wishes::create(&ctx, actor, input).await?;
    Ok(see_other(&format!(
        "/workspace/wishes/{}?notice=wish_saved",
        wish.id
    )))
}

/// `GET /workspace/wishes/{id}`: a wish and its matches.
pub async fn wish(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    id: web::Path<Uuid>,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let id = id.into_inner();
    let me = views::me(&ctx, &visitor).await?;
    let wish = wishes::get(&ctx, actor, id).await?;
    let found = wishes::matches_of(&ctx, actor, id).await?;
    let matches = found.items;
    let bundles: Vec<BundleView> = found
        .bundles
        .into_iter()
        .map(|b| BundleView {
            id: b.id,
            covered: b.covered,
            pickups: b.pickups,
            donors: b.donors,
            distance_km: format!("{:.1}", b.total_distance_km),
            open: b.status == crate::domain::matching::status::BundleStatus::Proposed,
        })
        .collect();
    let titles = titles(
        &ctx,
        &visitor,
        matches.iter().map(|m| m.listing_id).collect::<Vec<_>>(),
    )
    .await;
    let categories = category_names(&ctx, &visitor).await?;
    let view = wish_view(&wish, &categories);
    let title = view.label.clone();
    render(
        &visitor,
        me.as_ref(),
        "wish.html",
        &title,
        context! {
            w => view,
            bundles => bundles,
            notice => views::notice_text(&visitor, query.notice.as_deref()),
            matches => matches.into_iter().map(|m| match_view(m, &titles, &visitor)).collect::<Vec<_>>(),
        },
    )
}

#[derive(Debug, Serialize)]
struct BundleView {
    id: Uuid,
    covered: i64,
    pickups: i32,
    donors: i32,
    distance_km: String,
    open: bool,
}

/// `POST /workspace/bundles/{id}/accept`: takes a bundle as a whole.
pub async fn accept_bundle(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    id: web::Path<Uuid>,
    _form: Submitted<super::stock::Empty>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let bundle = wishes::accept_bundle(&ctx, actor, id.into_inner()).await?;
    Ok(see_other(&format!(
        "/workspace/wishes/{}?notice=bundle_accepted",
        bundle.wish_id
    )))
}

/// `POST /workspace/wishes/{id}/delete`.
pub async fn delete_wish(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    id: web::Path<Uuid>,
    _form: Submitted<super::stock::Empty>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    wishes::delete(&ctx, actor, id.into_inner()).await?;
    Ok(see_other("/workspace?notice=wish_deleted#wishes"))
}

/// `POST /workspace/matches/{id}/{accept|decline}`.
pub async fn answer_match(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    path: web::Path<(Uuid, String)>,
    _form: Submitted<super::stock::Empty>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let (id, answer) = path.into_inner();
    let accept = match answer.as_str() {
        "accept" => true,
        "decline" => false,
        _ => return Err(AppError::NotFound("answer").into()),
    };
    wishes::answer(&ctx, actor, id, accept).await?;
    let notice = if accept { "accepted" } else { "declined" };
    Ok(see_other(&format!("/workspace?notice={notice}#matches")))
}

#[derive(Debug, Deserialize)]
pub struct ListingForm {
    version: i32,
    amount: String,
    available_from: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    note: String,
}

/// `GET /workspace/listings/{id}`: the owner's form to change a lot.
pub async fn listing(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, PageError> {
    listing_page(&ctx, &visitor, id.into_inner(), BTreeMap::new()).await
}

async fn listing_page(
    ctx: &Ctx,
    visitor: &Visitor,
    id: Uuid,
    errors: BTreeMap<String, String>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let lot = listings::get(ctx, Some(actor), id).await?;
    if lot.organisation_id != actor.organisation_id {
        return Err(AppError::NotFound("listing").into());
    }
    let me = views::me(ctx, visitor).await?;
    let version = lot.version;
    let names = views::district_names(&DistrictOption::all(ctx).await?);
    let view = LotView::of(lot, &names, false);
    let title = view.title.clone();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render_with(
        visitor,
        me.as_ref(),
        "listing.html",
        &title,
        context! { lot => view, version => version, errors => errors },
        status,
    )
}

/// `POST /workspace/listings/{id}`: changes quantity, date, address or note, refused when the
/// lot changed since the form was read (the API's If-Match, with the form's version).
pub async fn update_listing(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    id: web::Path<Uuid>,
    form: Submitted<ListingForm>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let id = id.into_inner();
    let form = form.0;
    let mut errors = BTreeMap::new();
    let amount = whole_number(&form.amount, "quantity", &mut errors);
    let from = form_date(&form.available_from, "available_from", &mut errors);
    let (Some(amount), Some(from)) = (amount, from) else {
        return listing_page(&ctx, &visitor, id, errors).await;
    };
    let current = listings::get(&ctx, Some(actor), id).await?;
    if current.organisation_id != actor.organisation_id {
        return Err(AppError::NotFound("listing").into());
    }
    let now = ctx.now();
    // A date of today or before keeps the lot available from when it already was.
    let available_from = if from.date_naive() <= now.date_naive() {
        current.available_from.min(now)
    } else {
        from
    };
    let mut pickup = current.pickup.clone();
    pickup.address = Some(form.address.trim().to_owned()).filter(|a| !a.is_empty());
    let patch = listings::ListingPatch {
        quantity: Some(Quantity {
            amount,
            unit: current.quantity.unit,
        }),
        available_from: Some(available_from),
        pickup: Some(pickup),
        note: Some(Some(form.note.trim().to_owned()).filter(|n| !n.is_empty())),
        ..Default::default()
    };
    match listings::update(&ctx, actor, id, Some(form.version), patch).await {
        Ok(_) => Ok(see_other(&format!("/lots/{id}"))),
        Err(AppError::Validation(found)) => {
            listing_page(&ctx, &visitor, id, field_errors(&found)).await
        }
        Err(error @ (AppError::PreconditionFailed | AppError::Conflict { .. })) => {
            let mut errors = BTreeMap::new();
            errors.insert(String::new(), error.to_string());
            listing_page(&ctx, &visitor, id, errors).await
        }
        Err(other) => Err(other.into()),
    }
}

/// `GET /workspace/reservations/{id}`.
pub async fn reservation(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    id: web::Path<Uuid>,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let me = views::me(&ctx, &visitor).await?;
    let r = reservations::get(&ctx, actor, id.into_inner()).await?;
    let titles = titles(&ctx, &visitor, [r.listing_id]).await;
    let view = reservation_view(r, &titles, actor.organisation_id);
    let title = view.title.clone();
    render(
        &visitor,
        me.as_ref(),
        "reservation.html",
        &title,
        context! {
            r => view,
            notice => views::notice_text(&visitor, query.notice.as_deref()),
            error => None::<String>,
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    note: String,
}

/// `POST /workspace/reservations/{id}/{action}`: handover, cancel, confirm or dispute.
pub async fn reservation_action(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    path: web::Path<(Uuid, String)>,
    form: Submitted<NoteForm>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let (id, action) = path.into_inner();
    let note = Some(form.0.note.trim().to_owned()).filter(|n| !n.is_empty());
    let done = match action.as_str() {
        "handover" => {
            reservations::hand_over(&ctx, actor, None, id).await?;
            "handed_over"
        }
        "cancel" => {
            reservations::cancel(&ctx, actor, id).await?;
            "cancelled"
        }
        "confirm" => {
            reservations::acknowledge(&ctx, actor, id, false, Receipt { note }).await?;
            "confirmed"
        }
        "dispute" => {
            reservations::acknowledge(&ctx, actor, id, true, Receipt { note }).await?;
            "disputed"
        }
        _ => return Err(AppError::NotFound("action").into()),
    };
    Ok(see_other(&format!(
        "/workspace/reservations/{id}?notice={done}"
    )))
}

#[derive(Debug, Deserialize)]
pub struct CursorQuery {
    cursor: Option<String>,
    notice: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SettingsForm {
    email: Option<String>,
    digest: String,
}

/// `POST /workspace/settings`: mail or not, at once or once a day (quiet hours stay).
pub async fn save_settings(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    form: Submitted<SettingsForm>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let mut settings = feed::settings(&ctx, actor).await?;
    settings.email = form.0.email.is_some();
    settings.digest = match form.0.digest.as_str() {
        "daily" => Digest::Daily,
        "instant" => Digest::Instant,
        _ => return Err(AppError::BadRequest("digest must be instant or daily".into()).into()),
    };
    feed::set_settings(&ctx, actor, settings).await?;
    Ok(see_other(
        "/workspace/account?notice=settings_saved#settings",
    ))
}

#[derive(Debug, Serialize)]
struct EntryView {
    at: String,
    kind: String,
    amount: i64,
    balance_after: i64,
}

/// `GET /workspace/account`: the balance and the statement, newest first.
pub async fn account(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    query: web::Query<CursorQuery>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let me = views::me(&ctx, &visitor).await?;
    let account = ledger::my_account(&ctx, actor).await?;
    let page = ledger::my_entries(&ctx, actor, query.cursor.as_deref(), 50).await?;
    let entries: Vec<EntryView> = page
        .items
        .into_iter()
        .map(|e| EntryView {
            at: e.created_at.to_rfc3339(),
            kind: serde_json::to_value(e.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            amount: e.amount,
            balance_after: e.balance_after,
        })
        .collect();
    let next_page = page
        .next_cursor
        .map(|c| format!("/workspace/account?cursor={}", super::page::urlencode(&c)));
    render(
        &visitor,
        me.as_ref(),
        "account.html",
        views::t(&visitor, "account"),
        context! {
            account => account,
            entries => entries,
            next_page => next_page,
            settings => feed::settings(&ctx, actor).await?,
            who => me.clone(),
            notice => views::notice_text(&visitor, query.notice.as_deref()),
        },
    )
}
