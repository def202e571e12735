//! The broker's console: organisations to verify or suspend, failed mails, moderation (hiding
//! and restoring listings and wishes), the audit log, the currency (with each account's credit
//! limit and issuance cap, and hand-overs' issuance held for review), the taxonomy and the
//! districts (`/console`), and the stream analysis (`/console/flows`): the
//! Sankey of flows between districts, the districts by outflow, inflow or listed stock, the
//! pipeline and the forecast, each with its numbers as a table and a CSV download.

use super::page::{render, see_other, PageError};
use super::session::{Submitted, Visitor};
use super::views::{self, CategoryOption, DistrictOption};
use crate::app::accounts::organisations;
use crate::app::audit::{self, AuditQuery};
use crate::app::error::AppError;
use crate::app::flows::{self, Pipeline, Sankey, SupplyForecast};
use crate::app::ledger::issuance::{self, ClaimApproval, ClaimRejection};
use crate::app::ledger::{self, currency, CreditLimit, IssuanceCap};
use crate::app::moderation;
use crate::app::outbox;
use crate::app::Ctx;
use crate::app::{categories, districts};
use crate::domain::account::OrganisationStatus;
use crate::domain::audit::Reason;
use crate::domain::validation::FieldErrors;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
    /// Where the audit log's page starts (the `next_cursor` of the page before).
    audit_cursor: Option<String>,
}

/// How many audit entries the console shows at a time.
const AUDIT_PAGE: u32 = 50;

/// `GET /console`.
pub async fn console(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    actor.require_broker()?;
    let me = views::me(&ctx, &visitor).await?;
    let mut waiting = Vec::new();
    let mut others = Vec::new();
    let mut cursor: Option<String> = None;
    // Every organisation, a page at a time (a city has hundreds, not millions).
    for _ in 0..100 {
        let page =
            organisations::list_organisations(&ctx, actor, None, cursor.as_deref(), 100).await?;
        for organisation in page.items {
            match organisation.status {
                OrganisationStatus::Unverified => waiting.push(organisation),
                _ => others.push(organisation),
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let failed = outbox::outbox(&ctx, actor, Some("failed"), None, 100)
        .await?
        .items;
    let currency = currency::current(&ctx).await?;
    let money = ledger::overview(&ctx, actor).await?;
    let held_issuance = issuance::held(&ctx, actor, None, 100).await?.items;
    let categories = CategoryOption::all(&ctx, visitor.lang).await?;
    let districts = DistrictOption::load(&ctx, true).await?;
    let hidden = moderation::hidden(&ctx, actor, 100).await?;
    let audit = audit::list(
        &ctx,
        actor,
        &AuditQuery::default(),
        query.audit_cursor.as_deref(),
        AUDIT_PAGE,
    )
    .await?;
    render(
        &visitor,
        me.as_ref(),
        "console.html",
        views::t(&visitor, "console_title"),
        context! {
            notice => views::notice_text(&visitor, query.notice.as_deref()),
            waiting => waiting,
            others => others,
            failed => failed,
            currency => currency,
            money => money,
            held_issuance => held_issuance,
            categories => categories,
            districts => districts,
            hidden => hidden,
            audit => audit.items,
            audit_next => audit.next_cursor,
            audit_paged => query.audit_cursor.is_some(),
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    status: String,
    #[serde(default)]
    reason: String,
}

/// `POST /console/organisations/{id}/status`: verify, suspend or reinstate.
pub async fn set_status(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    id: web::Path<Uuid>,
    form: Submitted<StatusForm>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let status: OrganisationStatus = form
        .0
        .status
        .parse()
        .map_err(|_| AppError::BadRequest("unknown status".into()))?;
    let reason = optional_reason(&form.0.reason)?;
    organisations::set_organisation_status(&ctx, actor, id.into_inner(), status, reason).await?;
    Ok(see_other(&format!(
        "/console?notice={}#organisations",
        status.as_str()
    )))
}

/// A reason from a form, where an empty field means none.
fn optional_reason(raw: &str) -> Result<Option<Reason>, AppError> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    Reason::parse(raw)
        .map(Some)
        .map_err(|invalid| FieldErrors::single("/reason", invalid).into())
}

#[derive(Debug, Deserialize)]
pub struct HideForm {
    /// `listing` or `wish`.
    kind: String,
    id: String,
    #[serde(default)]
    reason: String,
}

/// `POST /console/moderation/hide`: hide a listing or a wish, by its id, with a reason.
pub async fn hide(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    form: Submitted<HideForm>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let form = form.0;
    let id: Uuid =
        form.id.trim().parse().map_err(|_| {
            AppError::BadRequest("give the id of a listing or a wish (a UUID)".into())
        })?;
    let reason = Reason::parse(&form.reason)
        .map_err(|invalid| AppError::from(FieldErrors::single("/reason", invalid)))?;
    match form.kind.as_str() {
        "listing" => {
            moderation::hide_listing(&ctx, actor, id, reason).await?;
        }
        "wish" => {
            moderation::hide_wish(&ctx, actor, id, reason).await?;
        }
        _ => return Err(AppError::BadRequest("kind must be listing or wish".into()).into()),
    }
    Ok(see_other("/console?notice=hidden#moderation"))
}

/// `POST /console/moderation/{kind}/{id}/restore`.
pub async fn restore(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    path: web::Path<(String, Uuid)>,
    _form: Submitted<super::stock::Empty>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let (kind, id) = path.into_inner();
    match kind.as_str() {
        "listing" => {
            moderation::restore_listing(&ctx, actor, id, None).await?;
        }
        "wish" => {
            moderation::restore_wish(&ctx, actor, id, None).await?;
        }
        _ => return Err(AppError::NotFound("listing or wish").into()),
    }
    Ok(see_other("/console?notice=restored#moderation"))
}

#[derive(Debug, Deserialize)]
pub struct CreditForm {
    /// In whole units of the currency, as the broker thinks of it.
    credit_limit: String,
}

/// `POST /console/accounts/{organisation_id}/credit-limit`.
pub async fn set_credit_limit(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    id: web::Path<Uuid>,
    form: Submitted<CreditForm>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let minor = minor_units(&ctx, &form.0.credit_limit, "credit limit").await?;
    ledger::set_credit_limit(
        &ctx,
        actor,
        id.into_inner(),
        CreditLimit {
            credit_limit: minor,
        },
    )
    .await?;
    Ok(see_other("/console?notice=credit_set#currency"))
}

/// Minor units from whole units of the currency as a form gives them; `what` names the field
/// in the answer to a bad one.
async fn minor_units(ctx: &Ctx, raw: &str, what: &str) -> Result<i64, AppError> {
    let decimals = currency::current(ctx).await?.decimals;
    let units: i64 = raw
        .trim()
        .parse()
        .map_err(|_| AppError::BadRequest(format!("the {what} is a whole number of units")))?;
    units
        .checked_mul(10_i64.pow(u32::try_from(decimals).unwrap_or(2)))
        .ok_or_else(|| AppError::BadRequest(format!("the {what} is too large")))
}

#[derive(Debug, Deserialize)]
pub struct CapForm {
    /// In whole units of the currency per month; empty for no cap.
    #[serde(default)]
    issuance_cap: String,
}

/// `POST /console/accounts/{organisation_id}/issuance-cap`.
pub async fn set_issuance_cap(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    id: web::Path<Uuid>,
    form: Submitted<CapForm>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let raw = form.0.issuance_cap.trim().to_owned();
    let cap = if raw.is_empty() {
        None
    } else {
        Some(minor_units(&ctx, &raw, "issuance cap").await?)
    };
    ledger::set_issuance_cap(
        &ctx,
        actor,
        id.into_inner(),
        IssuanceCap {
            issuance_cap_per_month: cap,
        },
    )
    .await?;
    Ok(see_other("/console?notice=cap_set#currency"))
}

#[derive(Debug, Deserialize)]
pub struct ApproveForm {
    #[serde(default)]
    note: String,
}

/// `POST /console/issuance/{id}/approve`: pay a held issuance.
pub async fn approve_issuance(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    id: web::Path<Uuid>,
    form: Submitted<ApproveForm>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let note = form.0.note.trim().to_owned();
    let input = ClaimApproval {
        note: (!note.is_empty()).then_some(note),
    };
    issuance::approve(&ctx, actor, None, id.into_inner(), input).await?;
    Ok(see_other("/console?notice=issuance_approved#issuance"))
}

#[derive(Debug, Deserialize)]
pub struct RejectForm {
    #[serde(default)]
    reason: String,
}

/// `POST /console/issuance/{id}/reject`: refuse a held issuance, with a reason.
pub async fn reject_issuance(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    id: web::Path<Uuid>,
    form: Submitted<RejectForm>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let input = ClaimRejection {
        reason: form.0.reason,
    };
    issuance::reject(&ctx, actor, id.into_inner(), input).await?;
    Ok(see_other("/console?notice=issuance_rejected#issuance"))
}

#[derive(Debug, Deserialize)]
pub struct CategoryForm {
    code: String,
    #[serde(default)]
    parent: String,
    name_nl: String,
    name_en: String,
    #[serde(default)]
    eural_codes: String,
}

/// `POST /console/categories`: a new category, under `parent` (a code) or at the root.
pub async fn create_category(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    form: Submitted<CategoryForm>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    actor.require_broker()?;
    let form = form.0;
    let parent_id = match form.parent.trim() {
        "" => None,
        code => Some(
            CategoryOption::all(&ctx, visitor.lang)
                .await?
                .into_iter()
                .find(|c| c.code == code)
                .map(|c| c.id)
                .ok_or_else(|| AppError::BadRequest(format!("no category with the code {code}")))?,
        ),
    };
    let input = categories::NewCategory {
        code: form.code.trim().to_owned(),
        parent_id,
        name_nl: form.name_nl.trim().to_owned(),
        name_en: form.name_en.trim().to_owned(),
        eural_codes: form
            .eural_codes
            .split([',', ';'])
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    categories::create(&ctx, actor, input).await?;
    Ok(see_other("/console?notice=category_created#taxonomy"))
}

#[derive(Debug, Deserialize)]
pub struct DistrictsForm {
    geojson: String,
}

/// `POST /console/districts`: replaces the districts with a pasted GeoJSON FeatureCollection
/// (as `PUT /admin/districts`: those left out are retired, history keeps them).
pub async fn replace_districts(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    form: Submitted<DistrictsForm>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    actor.require_broker()?;
    let upload: serde_json::Value = serde_json::from_str(&form.0.geojson)
        .map_err(|error| AppError::BadRequest(format!("not GeoJSON: {error}")))?;
    districts::replace(&ctx, actor, upload).await?;
    Ok(see_other("/console?notice=districts_replaced#districts"))
}

/// `POST /console/outbox/{id}/retry`.
pub async fn retry_mail(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    id: web::Path<Uuid>,
    _form: Submitted<super::stock::Empty>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    outbox::retry(&ctx, actor, id.into_inner()).await?;
    Ok(see_other("/console?notice=retried#mails"))
}

#[derive(Debug, Deserialize)]
pub struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
    chart: Option<String>,
}

#[derive(Debug, Serialize)]
struct SankeyRow {
    from: String,
    to: String,
    mass_kg: f64,
    co2e_kg: f64,
}

#[derive(Debug, Serialize)]
struct DistrictRow {
    code: String,
    name: String,
    out_kg: f64,
    in_kg: f64,
    stock_kg: f64,
}

#[derive(Debug, Serialize)]
struct PipelineRow {
    month: String,
    supply_kg: f64,
    demand_kg: f64,
    gap_kg: f64,
}

#[derive(Debug, Serialize)]
struct ForecastRowView {
    month: String,
    kg: f64,
    low: f64,
    high: f64,
}

#[derive(Debug, Serialize)]
struct ForecastView {
    label: String,
    mase: Option<String>,
    months: Vec<ForecastRowView>,
}

/// Everything the flows page shows, computed once for the page and for its CSV.
struct Analysis {
    sankey: Sankey,
    sankey_rows: Vec<SankeyRow>,
    district_rows: Vec<DistrictRow>,
    pipeline_rows: Vec<PipelineRow>,
    forecast: Vec<ForecastView>,
}

async fn analyse(
    ctx: &Ctx,
    visitor: &Visitor,
    from: Option<String>,
    to: Option<String>,
) -> Result<Analysis, PageError> {
    let actor = visitor.signed_in()?;
    actor.require_broker()?;
    let sankey = flows::sankey(ctx, actor, from, to, false, None).await?;
    let label = |i: usize| {
        sankey
            .nodes
            .get(i)
            .map(|n| n.label.clone())
            .unwrap_or_default()
    };
    let sankey_rows: Vec<SankeyRow> = sankey
        .links
        .iter()
        .map(|l| SankeyRow {
            from: label(l.source),
            to: label(l.target),
            mass_kg: l.mass_kg,
            co2e_kg: l.co2e_avoided_kg,
        })
        .collect();
    // Districts: outflow and inflow between districts from the Sankey, listed stock now.
    let districts = DistrictOption::load(ctx, true).await?;
    let mut by_code: BTreeMap<String, DistrictRow> = districts
        .iter()
        .filter(|d| !d.retired)
        .map(|d| {
            (
                d.code.clone(),
                DistrictRow {
                    code: d.code.clone(),
                    name: d.name.clone(),
                    out_kg: 0.0,
                    in_kg: 0.0,
                    stock_kg: 0.0,
                },
            )
        })
        .collect();
    let code_of = |i: usize| {
        sankey
            .nodes
            .get(i)
            .map(|n| n.id.clone())
            .unwrap_or_default()
    };
    for link in &sankey.links {
        let (source, target) = (code_of(link.source), code_of(link.target));
        let from = source.strip_prefix("origin:").unwrap_or("").to_owned();
        let to = target.strip_prefix("destination:").unwrap_or("").to_owned();
        if from == to {
            continue;
        }
        if let Some(row) = by_code.get_mut(&from) {
            row.out_kg += link.mass_kg;
        }
        if let Some(row) = by_code.get_mut(&to) {
            row.in_kg += link.mass_kg;
        }
    }
    let stock = crate::app::listings::open_stock_by_district(ctx).await?;
    for district in &districts {
        if let (Some(grams), Some(row)) = (stock.get(&district.id), by_code.get_mut(&district.code))
        {
            row.stock_kg = *grams as f64 / 1000.0;
        }
    }
    let pipeline = flows::pipeline(ctx, actor, Some(12), None).await?;
    let forecast = flows::forecast(ctx, actor, None, None, Some(6)).await?;
    Ok(Analysis {
        sankey_rows,
        sankey,
        district_rows: by_code.into_values().collect(),
        pipeline_rows: pipeline_rows(&pipeline),
        forecast: forecast_views(visitor, &forecast),
    })
}

/// The city's pipeline: every line's months added up.
fn pipeline_rows(pipeline: &Pipeline) -> Vec<PipelineRow> {
    let mut months: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for line in &pipeline.lines {
        for m in &line.months {
            let entry = months.entry(m.month.clone()).or_default();
            entry.0 += m.supply_kg;
            entry.1 += m.demand_kg;
        }
    }
    months
        .into_iter()
        .map(|(month, (supply_kg, demand_kg))| PipelineRow {
            month,
            supply_kg,
            demand_kg,
            gap_kg: supply_kg - demand_kg,
        })
        .collect()
}

fn forecast_views(visitor: &Visitor, forecast: &SupplyForecast) -> Vec<ForecastView> {
    forecast
        .series
        .iter()
        .map(|s| ForecastView {
            label: format!(
                "{} · {}",
                s.category.as_ref().map(|c| c.name.as_str()).unwrap_or("—"),
                s.district
                    .as_ref()
                    .map(|d| d.name.as_str())
                    .unwrap_or(views::t(visitor, "city"))
            ),
            mase: s.back_test.as_ref().map(|b| format!("{:.2}", b.mase)),
            months: s
                .months
                .iter()
                .map(|m| ForecastRowView {
                    month: m.month.clone(),
                    kg: m.mean_kg,
                    low: m.lo80_kg,
                    high: m.hi80_kg,
                })
                .collect(),
        })
        .collect()
}

/// `GET /console/flows`.
pub async fn flows_page(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, PageError> {
    let query = query.into_inner();
    let analysis = analyse(&ctx, &visitor, query.from, query.to).await?;
    let me = views::me(&ctx, &visitor).await?;
    let total_kg: f64 = analysis.sankey_rows.iter().map(|r| r.mass_kg).sum();
    let data_json = views::script_json(&serde_json::json!({
        "sankey": analysis.sankey,
        "districts": analysis.district_rows,
        "pipeline": analysis.pipeline_rows,
        "forecast": analysis.forecast,
        "labels": {
            "supply": views::t(&visitor, "supply"),
            "demand": views::t(&visitor, "demand"),
            "expected": views::t(&visitor, "expected"),
            "interval": "80 %",
        },
    }));
    render(
        &visitor,
        me.as_ref(),
        "flows.html",
        views::t(&visitor, "flows_title"),
        context! {
            from => analysis.sankey.from,
            to => analysis.sankey.to,
            total_kg => total_kg,
            sankey_rows => analysis.sankey_rows,
            district_rows => analysis.district_rows,
            pipeline_rows => analysis.pipeline_rows,
            forecast_series => analysis.forecast,
            data_json => data_json,
        },
    )
}

/// `GET /console/flows.csv?chart=sankey|districts|pipeline|forecast`: a chart's numbers.
pub async fn flows_csv(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, PageError> {
    let query = query.into_inner();
    let chart = query.chart.clone().unwrap_or_else(|| "sankey".into());
    let analysis = analyse(&ctx, &visitor, query.from, query.to).await?;
    let mut csv = String::new();
    let field = |text: &str| format!("\"{}\"", text.replace('"', "\"\""));
    match chart.as_str() {
        "sankey" => {
            csv.push_str("origin,destination,mass_kg,co2e_avoided_kg\n");
            for r in &analysis.sankey_rows {
                csv.push_str(&format!(
                    "{},{},{:.3},{:.3}\n",
                    field(&r.from),
                    field(&r.to),
                    r.mass_kg,
                    r.co2e_kg
                ));
            }
        }
        "districts" => {
            csv.push_str("district_code,district,outflow_kg,inflow_kg,listed_stock_kg\n");
            for r in &analysis.district_rows {
                csv.push_str(&format!(
                    "{},{},{:.3},{:.3},{:.3}\n",
                    field(&r.code),
                    field(&r.name),
                    r.out_kg,
                    r.in_kg,
                    r.stock_kg
                ));
            }
        }
        "pipeline" => {
            csv.push_str("month,supply_kg,demand_kg,gap_kg\n");
            for r in &analysis.pipeline_rows {
                csv.push_str(&format!(
                    "{},{:.3},{:.3},{:.3}\n",
                    r.month, r.supply_kg, r.demand_kg, r.gap_kg
                ));
            }
        }
        "forecast" => {
            csv.push_str("series,month,expected_kg,lo80_kg,hi80_kg,mase\n");
            for s in &analysis.forecast {
                for m in &s.months {
                    csv.push_str(&format!(
                        "{},{},{:.3},{:.3},{:.3},{}\n",
                        field(&s.label),
                        m.month,
                        m.kg,
                        m.low,
                        m.high,
                        s.mase.as_deref().unwrap_or("")
                    ));
                }
            }
        }
        _ => {
            return Err(AppError::BadRequest(
                "chart must be sankey, districts, pipeline or forecast".into(),
            )
            .into())
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"kringloop-{chart}.csv\""),
        ))
        .body(csv))
}

#[cfg(test)]
mod tests {
    use crate::domain::audit::{AuditAction, AuditObject};
    use crate::web::i18n::{strings, Lang};

    #[test]
    fn the_audit_log_names_every_action_and_object_in_both_languages() {
        for lang in [Lang::Nl, Lang::En] {
            let words = strings(lang);
            for action in AuditAction::ALL {
                assert!(
                    words.contains_key(format!("audit_{action}").as_str()),
                    "{action}"
                );
            }
            for object in AuditObject::ALL {
                let key = format!("audit_object_{object}");
                assert!(words.contains_key(key.as_str()), "{object}");
            }
        }
    }
}
