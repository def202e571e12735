//! Stream analysis: the flows recorded at hand-overs read as reports, a Sankey diagram, a
//! district's balance, the pipeline of announced supply against demand, supply forecasts and
//! the EURAL report. One function per endpoint; each checks who may read what.

pub mod seed;

use super::actor::Actor;
use super::error::{AppError, AppResult};
use super::Ctx;
use crate::db::districts as districts_q;
use crate::db::flows::{self as q, Filter, Keys, ReportRow, Source};
use crate::db::Conn;
use crate::domain::district::{shape_of, DistrictIndex};
use crate::domain::flows::balance::{balance as stock_balance, LotHistory};
use crate::domain::flows::forecast::{forecast as forecast_series, BackTest, Step};
use crate::domain::flows::pipeline::storage;
use crate::domain::flows::{distance_km, Month, Tree};
use crate::domain::validation::FieldErrors;
use geo::BoundingRect;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use utoipa::ToSchema;
use uuid::Uuid;

/// The longest period a report covers, in months.
pub const MAX_MONTHS: i32 = 600;

/// A district or category as reports name it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Named {
    pub id: Uuid,
    pub code: String,
    pub name: String,
}

/// What the reports need to name things: every district (retired ones too) and the tree.
pub struct Names {
    districts: HashMap<Uuid, Named>,
    pub categories: HashMap<Uuid, Named>,
    pub tree: Tree,
}

impl Names {
    pub async fn load(conn: &mut Conn) -> AppResult<Names> {
        let districts = districts_q::all_with_retired(conn)
            .await?
            .into_iter()
            .map(|d| {
                (
                    d.id,
                    Named {
                        id: d.id,
                        code: d.code,
                        name: d.name,
                    },
                )
            })
            .collect();
        let links = q::category_links(conn).await?;
        let tree = Tree::new(links.iter().map(|(id, parent, _, _)| (*id, *parent)));
        let categories = links
            .into_iter()
            .map(|(id, _, code, name)| (id, Named { id, code, name }))
            .collect();
        Ok(Names {
            districts,
            categories,
            tree,
        })
    }

    /// A district by id; the nil uuid (unknown) and ids not known are `None`.
    pub fn district(&self, id: Option<Uuid>) -> Option<Named> {
        id.and_then(|id| self.districts.get(&id).cloned())
    }

    pub fn category(&self, id: Option<Uuid>) -> Option<Named> {
        id.and_then(|id| self.categories.get(&id).cloned())
    }

    /// A category by its code, as passports and the search name it, or by its id.
    pub fn category_by_key(&self, key: &str) -> Option<Uuid> {
        let key = key.trim();
        match Uuid::parse_str(key) {
            Ok(id) => self.categories.contains_key(&id).then_some(id),
            Err(_) => self
                .categories
                .values()
                .find(|category| category.code == key)
                .map(|category| category.id),
        }
    }

    /// The categories a report covers (a subtree, or all) and what each is reported under.
    pub fn mapping(&self, under: Option<Uuid>, level: Option<usize>) -> (Vec<Uuid>, Vec<Uuid>) {
        let leaves: Vec<Uuid> = match under {
            Some(root) => self.tree.subtree(root),
            None => self.tree.ids().collect(),
        };
        let groups = leaves
            .iter()
            .map(|&leaf| level.map_or(leaf, |l| self.tree.at_level(leaf, l)))
            .collect();
        (leaves, groups)
    }
}

/// A period of whole months, `from` to `to` inclusive.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub from: Month,
    pub to: Month,
}

impl Period {
    /// Parses `from`/`to` (YYYY-MM); a missing `to` is this month, a missing `from` eleven
    /// months before `to`.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        now: Month,
        errors: &mut FieldErrors,
    ) -> Option<Period> {
        let parse = |text: Option<&str>, name: &str, errors: &mut FieldErrors| match text {
            None => Some(None),
            Some(text) => match Month::parse(text) {
                Ok(month) => Some(Some(month)),
                Err(invalid) => {
                    errors.push(format!("/{name}"), invalid.code, invalid.detail);
                    None
                }
            },
        };
        let to = parse(to, "to", errors)?.unwrap_or(now);
        let from = parse(from, "from", errors)?.unwrap_or(to.plus(-11));
        if from > to {
            errors.push("/from", "after_to", "must not be after `to`");
            return None;
        }
        if from.until(to) >= MAX_MONTHS {
            errors.push(
                "/from",
                "too_long",
                format!("a report covers at most {MAX_MONTHS} months"),
            );
            return None;
        }
        Some(Period { from, to })
    }

    pub fn months(self) -> impl Iterator<Item = Month> {
        (0..=self.from.until(self.to)).map(move |i| self.from.plus(i))
    }
}

/// What may be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupKey {
    OriginDistrict,
    DestinationDistrict,
    Category,
    EuralCode,
    Month,
}

impl GroupKey {
    fn parse(text: &str) -> Option<GroupKey> {
        Some(match text {
            "origin_district" => GroupKey::OriginDistrict,
            "destination_district" => GroupKey::DestinationDistrict,
            "category" => GroupKey::Category,
            "eural_code" => GroupKey::EuralCode,
            "month" => GroupKey::Month,
            _ => return None,
        })
    }
}

/// A flows report as asked for, unparsed.
#[derive(Debug, Clone, Default)]
pub struct FlowQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub origin_district: Option<Uuid>,
    pub destination_district: Option<Uuid>,
    /// A category's code or id.
    pub category: Option<String>,
    pub eural_code: Option<String>,
    pub group_by: Option<String>,
    pub category_level: Option<u8>,
    pub parties: bool,
}

/// One row of a flows report: the keys grouped by, and the measures.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlowGroup {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub month: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_district: Option<Named>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_district: Option<Named>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Named>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eural_code: Option<String>,
    pub mass_kg: f64,
    /// Embodied carbon kept in use, less the van transport between pickup and receiver.
    pub co2e_avoided_kg: f64,
    pub transport_co2e_kg: f64,
    /// Hand-overs.
    pub count: i64,
    /// Distinct giving organisations (with `parties=true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub donors: Option<i64>,
    /// Distinct receiving organisations (with `parties=true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receivers: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlowReport {
    pub from: String,
    pub to: String,
    pub group_by: Vec<GroupKey>,
    /// Whether the monthly rollups answered (rather than the flows themselves).
    pub from_rollups: bool,
    pub groups: Vec<FlowGroup>,
}

fn kg(grams: i64) -> f64 {
    grams as f64 / 1000.0
}

/// A parsed report: its period, keys and filter.
struct Plan {
    period: Period,
    keys: Keys,
    group_by: Vec<GroupKey>,
    filter: Filter,
    source: Source,
}

fn plan(ctx: &Ctx, actor: &Actor, query: &FlowQuery, names: &Names) -> AppResult<Plan> {
    let mut errors = FieldErrors::new();
    let period = Period::parse(
        query.from.as_deref(),
        query.to.as_deref(),
        Month::of(ctx.now()),
        &mut errors,
    );
    let mut group_by = Vec::new();
    for part in query
        .group_by
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        match GroupKey::parse(part) {
            Some(key) if !group_by.contains(&key) => group_by.push(key),
            Some(_) => {}
            None => errors.push(
                "/group_by",
                "unknown_value",
                "each must be one of: origin_district, destination_district, category, \
                 eural_code, month",
            ),
        }
    }
    let category = match query.category.as_deref() {
        Some(key) => {
            let found = names.category_by_key(key);
            if found.is_none() {
                errors.push("/category", "unknown", "no category with that code or id");
            }
            found
        }
        None => None,
    };
    if let Some(code) = &query.eural_code {
        if code.len() > 16 {
            errors.push("/eural_code", "too_long", "must be at most 16 characters");
        }
    }
    let period = match (period, errors.is_empty()) {
        (Some(period), true) => period,
        _ => return Err(errors.into()),
    };
    let keys = Keys {
        month: group_by.contains(&GroupKey::Month),
        origin: group_by.contains(&GroupKey::OriginDistrict),
        destination: group_by.contains(&GroupKey::DestinationDistrict),
        category: group_by.contains(&GroupKey::Category),
        eural: group_by.contains(&GroupKey::EuralCode),
    };
    let party = (!actor.is_broker).then_some(actor.organisation_id);
    let (leaves, groups) = names.mapping(category, query.category_level.map(usize::from));
    let source = if party.is_some() || keys.eural || query.eural_code.is_some() || query.parties {
        Source::Flows
    } else {
        Source::Rollups
    };
    Ok(Plan {
        period,
        keys,
        group_by,
        filter: Filter {
            from: period.from.first_day(),
            until: period.to.plus(1).first_day(),
            origin: query.origin_district,
            destination: query.destination_district,
            eural: query.eural_code.clone(),
            party,
            leaves,
            groups,
        },
        source,
    })
}

fn group(row: ReportRow, names: &Names) -> FlowGroup {
    FlowGroup {
        month: row.month.map(|m| Month::of_date(m).to_string()),
        origin_district: names.district(row.origin),
        destination_district: names.district(row.destination),
        category: names.category(row.category),
        eural_code: row.eural,
        mass_kg: kg(row.mass_g),
        co2e_avoided_kg: kg(row.co2e_avoided_g - row.transport_co2e_g),
        transport_co2e_kg: kg(row.transport_co2e_g),
        count: row.flows,
        donors: row.donors,
        receivers: row.receivers,
    }
}

/// Flows grouped and filtered as asked. The broker sees every flow; an organisation only the
/// flows it gave or received.
pub async fn report(ctx: &Ctx, actor: &Actor, query: FlowQuery) -> AppResult<FlowReport> {
    let mut conn = ctx.conn().await?;
    let names = Names::load(&mut conn).await?;
    let plan = plan(ctx, actor, &query, &names)?;
    let rows = q::report(&mut conn, plan.source, plan.keys, &plan.filter).await?;
    Ok(FlowReport {
        from: plan.period.from.to_string(),
        to: plan.period.to.to_string(),
        group_by: plan.group_by,
        from_rollups: plan.source == Source::Rollups,
        groups: rows.into_iter().map(|row| group(row, &names)).collect(),
    })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SankeyNode {
    /// `origin:<code>`, `destination:<code>` or `category:<code>`; origins and destinations are
    /// apart so that material kept within a district is no loop.
    pub id: String,
    pub label: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SankeyLink {
    /// Index into `nodes`.
    pub source: usize,
    pub target: usize,
    pub mass_kg: f64,
    pub co2e_avoided_kg: f64,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Sankey {
    pub from: String,
    pub to: String,
    pub nodes: Vec<SankeyNode>,
    pub links: Vec<SankeyLink>,
}

/// Flows as a Sankey diagram, district to district or district to category (brokers).
pub async fn sankey(
    ctx: &Ctx,
    actor: &Actor,
    from: Option<String>,
    to: Option<String>,
    by_category: bool,
    category_level: Option<u8>,
) -> AppResult<Sankey> {
    actor.require_broker()?;
    let query = FlowQuery {
        from,
        to,
        group_by: Some(if by_category {
            "origin_district,category".to_owned()
        } else {
            "origin_district,destination_district".to_owned()
        }),
        category_level: category_level.or(Some(0).filter(|_| by_category)),
        ..FlowQuery::default()
    };
    let mut conn = ctx.conn().await?;
    let names = Names::load(&mut conn).await?;
    let plan = plan(ctx, actor, &query, &names)?;
    let rows = q::report(&mut conn, plan.source, plan.keys, &plan.filter).await?;
    let mut nodes: Vec<SankeyNode> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut node = |id: String, label: String| {
        *index.entry(id.clone()).or_insert_with(|| {
            nodes.push(SankeyNode { id, label });
            nodes.len() - 1
        })
    };
    let district = |id: Option<Uuid>| {
        names
            .district(id)
            .map_or(("unknown".to_owned(), "unknown".to_owned()), |d| {
                (d.code, d.name)
            })
    };
    let mut links = Vec::new();
    for row in rows {
        let (code, name) = district(row.origin);
        let source = node(format!("origin:{code}"), name);
        let target = if by_category {
            let category = names.category(row.category);
            let (code, name) = category.map_or(("unknown".to_owned(), "unknown".to_owned()), |c| {
                (c.code, c.name)
            });
            node(format!("category:{code}"), name)
        } else {
            let (code, name) = district(row.destination);
            node(format!("destination:{code}"), name)
        };
        links.push(SankeyLink {
            source,
            target,
            mass_kg: kg(row.mass_g),
            co2e_avoided_kg: kg(row.co2e_avoided_g - row.transport_co2e_g),
            count: row.flows,
        });
    }
    Ok(Sankey {
        from: plan.period.from.to_string(),
        to: plan.period.to.to_string(),
        nodes,
        links,
    })
}

/// A district's material balance over a period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DistrictBalance {
    pub district: Named,
    pub from: String,
    pub to: String,
    /// Received from other districts (or from unknown places).
    pub in_kg: f64,
    /// Given to other districts (or to unknown places).
    pub out_kg: f64,
    /// Given and received within the district.
    pub kept_kg: f64,
    /// Open lots listed in the district, by mass, at the start of `from` and the end of `to`.
    pub stock_start_kg: f64,
    pub stock_end_kg: f64,
    pub listed_kg: f64,
    pub handed_over_kg: f64,
    pub withdrawn_or_expired_kg: f64,
    /// Announced lots in the district, not yet available.
    pub announced_ahead_kg: f64,
    /// stock_end = stock_start + listed − handed over − withdrawn/expired (always true).
    pub balanced: bool,
}

/// In, out, kept and the stock of a district (brokers).
pub async fn balance(
    ctx: &Ctx,
    actor: &Actor,
    district: Uuid,
    from: Option<String>,
    to: Option<String>,
) -> AppResult<DistrictBalance> {
    actor.require_broker()?;
    let mut conn = ctx.conn().await?;
    let names = Names::load(&mut conn).await?;
    let named = names
        .district(Some(district))
        .ok_or(AppError::NotFound("district"))?;
    let mut errors = FieldErrors::new();
    let period = Period::parse(
        from.as_deref(),
        to.as_deref(),
        Month::of(ctx.now()),
        &mut errors,
    )
    .ok_or(AppError::Validation(errors))?;
    let (leaves, groups) = names.mapping(None, None);
    let filter = |origin, destination| Filter {
        from: period.from.first_day(),
        until: period.to.plus(1).first_day(),
        origin,
        destination,
        eural: None,
        party: None,
        leaves: leaves.clone(),
        groups: groups.clone(),
    };
    let by_origin = Keys {
        origin: true,
        ..Keys::default()
    };
    let arriving = q::report(
        &mut conn,
        Source::Rollups,
        by_origin,
        &filter(None, Some(district)),
    )
    .await?;
    let leaving = q::report(
        &mut conn,
        Source::Rollups,
        Keys {
            destination: true,
            ..Keys::default()
        },
        &filter(Some(district), None),
    )
    .await?;
    let kept: i64 = arriving
        .iter()
        .filter(|r| r.origin == Some(district))
        .map(|r| r.mass_g)
        .sum();
    let received: i64 = arriving.iter().map(|r| r.mass_g).sum::<i64>() - kept;
    let given: i64 = leaving.iter().map(|r| r.mass_g).sum::<i64>() - kept;
    let (start, end) = (period.from.start(), period.to.plus(1).start());
    let (lots, handed) = q::district_lots(&mut conn, district, end).await?;
    let mut outs: HashMap<Uuid, Vec<_>> = HashMap::new();
    for h in handed {
        outs.entry(h.listing_id)
            .or_default()
            .push((h.occurred_at, h.mass_g));
    }
    let histories: Vec<LotHistory> = lots
        .into_iter()
        .map(|lot| LotHistory {
            listed_at: lot.listed_at,
            listed_g: lot.listed_g,
            handed_over: outs.remove(&lot.id).unwrap_or_default(),
            ended_at: lot.ended_at,
        })
        .collect();
    let stock = stock_balance(&histories, start, end);
    let announced: i64 = q::announced_supply(&mut conn)
        .await?
        .into_iter()
        .filter(|s| s.district_id == Some(district))
        .map(|s| s.mass_g)
        .sum();
    Ok(DistrictBalance {
        district: named,
        from: period.from.to_string(),
        to: period.to.to_string(),
        in_kg: kg(received),
        out_kg: kg(given),
        kept_kg: kg(kept),
        stock_start_kg: kg(stock.stock_start_g),
        stock_end_kg: kg(stock.stock_end_g),
        listed_kg: kg(stock.listed_g),
        handed_over_kg: kg(stock.handed_over_g),
        withdrawn_or_expired_kg: kg(stock.withdrawn_g),
        announced_ahead_kg: kg(announced),
        balanced: stock.stock_end_g
            == stock.stock_start_g + stock.listed_g - stock.handed_over_g - stock.withdrawn_g,
    })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PipelineMonth {
    pub month: String,
    pub supply_kg: f64,
    pub demand_kg: f64,
    /// Supply less demand: negative is a shortage.
    pub gap_kg: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NearHub {
    pub organisation_id: Uuid,
    pub name: String,
    /// From the district's centre.
    pub km: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PipelineLine {
    pub category: Option<Named>,
    pub district: Option<Named>,
    pub months: Vec<PipelineMonth>,
    /// The most a storage hub would hold for supply that arrives before the demand that takes
    /// it, and for how many months it holds anything.
    pub hub_peak_kg: f64,
    pub hub_months: usize,
    /// The nearest verified hubs, when something would need holding.
    pub hubs: Vec<NearHub>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Pipeline {
    pub from: String,
    pub months: usize,
    pub lines: Vec<PipelineLine>,
    /// Open wishes whose mass cannot be told (a unit no lot of their category is listed in).
    pub unweighed_wishes: usize,
}

/// Announced supply against open wish demand, per category (at `category_level`, roots by
/// default) and district, month by month (brokers).
pub async fn pipeline(
    ctx: &Ctx,
    actor: &Actor,
    months: Option<u8>,
    category_level: Option<u8>,
) -> AppResult<Pipeline> {
    actor.require_broker()?;
    let months = usize::from(months.unwrap_or(12));
    if !(1..=36).contains(&months) {
        let mut errors = FieldErrors::new();
        errors.push("/months", "out_of_range", "must be 1 to 36");
        return Err(errors.into());
    }
    let level = usize::from(category_level.unwrap_or(0));
    let now = Month::of(ctx.now());
    let mut conn = ctx.conn().await?;
    let names = Names::load(&mut conn).await?;
    let current = districts_q::all(&mut conn).await?;
    let index = DistrictIndex::new(
        current
            .iter()
            .filter_map(|d| shape_of(&d.geometry).map(|s| (d.id, s))),
    );
    let centres: HashMap<Uuid, (f64, f64)> = current
        .iter()
        .filter_map(|d| {
            let rect = shape_of(&d.geometry)?.bounding_rect()?;
            Some((d.id, (rect.center().y, rect.center().x)))
        })
        .collect();
    let slot = |month: Month| now.until(month).clamp(0, i32::MAX) as usize;
    type Key = (Uuid, Option<Uuid>);
    let mut supply: BTreeMap<Key, Vec<f64>> = BTreeMap::new();
    let mut demand: BTreeMap<Key, Vec<f64>> = BTreeMap::new();
    for row in q::announced_supply(&mut conn).await? {
        let at = slot(Month::of_date(row.month));
        if at < months {
            let key = (names.tree.at_level(row.category_id, level), row.district_id);
            supply.entry(key).or_insert_with(|| vec![0.0; months])[at] += kg(row.mass_g);
        }
    }
    let mut unweighed = 0;
    for row in q::open_demand(&mut conn).await? {
        let Some(grams) = row.mass_g else {
            unweighed += 1;
            continue;
        };
        let at = row.needed_by.map_or(0, |t| slot(Month::of(t)));
        if at < months {
            let key = (
                names.tree.at_level(row.category_id, level),
                index.locate(row.lat, row.lon),
            );
            demand.entry(key).or_insert_with(|| vec![0.0; months])[at] += kg(grams);
        }
    }
    let hubs = q::hubs(&mut conn).await?;
    let mut keys: Vec<Key> = supply.keys().chain(demand.keys()).copied().collect();
    keys.sort();
    keys.dedup();
    let zero = vec![0.0; months];
    let lines = keys
        .into_iter()
        .map(|key| {
            let s = supply.get(&key).unwrap_or(&zero);
            let d = demand.get(&key).unwrap_or(&zero);
            let held = storage(s, d);
            let mut near: Vec<NearHub> = match key.1.and_then(|id| centres.get(&id)) {
                Some(&(lat, lon)) if held.peak > 0.0 => hubs
                    .iter()
                    .map(|h| NearHub {
                        organisation_id: h.id,
                        name: h.name.clone(),
                        km: (distance_km(lat, lon, h.lat, h.lon) * 10.0).round() / 10.0,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            near.sort_by(|a, b| a.km.total_cmp(&b.km));
            near.truncate(3);
            PipelineLine {
                category: names.category(Some(key.0)),
                district: names.district(key.1),
                months: (0..months)
                    .map(|i| PipelineMonth {
                        month: now.plus(i as i32).to_string(),
                        supply_kg: s[i],
                        demand_kg: d[i],
                        gap_kg: s[i] - d[i],
                    })
                    .collect(),
                hub_peak_kg: held.peak,
                hub_months: held.months,
                hubs: near,
            }
        })
        .collect();
    Ok(Pipeline {
        from: now.to_string(),
        months,
        lines,
        unweighed_wishes: unweighed,
    })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ForecastMonth {
    pub month: String,
    pub mean_kg: f64,
    pub lo80_kg: f64,
    pub hi80_kg: f64,
    pub lo95_kg: f64,
    pub hi95_kg: f64,
    /// Supply already announced for the month: the forecast never falls below it.
    pub announced_kg: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ForecastSeries {
    pub category: Option<Named>,
    /// `None` when the forecast is for the whole city (also when the district asked for has
    /// too little history of its own).
    pub district: Option<Named>,
    /// Months of history the forecast stands on.
    pub history_months: usize,
    pub months: Vec<ForecastMonth>,
    /// The rolling-origin back-test of the method chosen; absent with too little history.
    #[schema(value_type = Option<Object>)]
    pub back_test: Option<BackTest>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SupplyForecast {
    pub series: Vec<ForecastSeries>,
}

/// Monthly supply history (flows out of a district, or the city) for a subtree, oldest first,
/// from its first month with a flow to the last whole month.
async fn history(
    conn: &mut Conn,
    names: &Names,
    category: Uuid,
    district: Option<Uuid>,
    now: Month,
) -> AppResult<Vec<f64>> {
    let first = now.plus(-(MAX_MONTHS - 1));
    let (leaves, groups) = names.mapping(Some(category), Some(0));
    let rows = q::report(
        conn,
        Source::Rollups,
        Keys {
            month: true,
            ..Keys::default()
        },
        &Filter {
            from: first.first_day(),
            until: now.first_day(),
            origin: district,
            destination: None,
            eural: None,
            party: None,
            leaves,
            groups,
        },
    )
    .await?;
    let by_month: HashMap<Month, f64> = rows
        .iter()
        .filter_map(|r| Some((Month::of_date(r.month?), kg(r.mass_g))))
        .collect();
    let Some(start) = by_month.keys().min().copied() else {
        return Ok(Vec::new());
    };
    Ok((0..start.until(now))
        .map(|i| by_month.get(&start.plus(i)).copied().unwrap_or(0.0))
        .collect())
}

/// Supply forecasts for the next `months` (1–12) per category (each root, or the one asked
/// for) and district (when it has history enough, else the city), with intervals and the
/// back-test (brokers).
pub async fn forecast(
    ctx: &Ctx,
    actor: &Actor,
    category: Option<&str>,
    district: Option<Uuid>,
    months: Option<u8>,
) -> AppResult<SupplyForecast> {
    actor.require_broker()?;
    let horizon = usize::from(months.unwrap_or(6));
    if !(1..=12).contains(&horizon) {
        let mut errors = FieldErrors::new();
        errors.push("/months", "out_of_range", "must be 1 to 12");
        return Err(errors.into());
    }
    let now = Month::of(ctx.now());
    let mut conn = ctx.conn().await?;
    let names = Names::load(&mut conn).await?;
    if let Some(id) = district {
        names
            .district(Some(id))
            .ok_or(AppError::NotFound("district"))?;
    }
    let categories: Vec<Uuid> = match category {
        Some(key) => vec![names
            .category_by_key(key)
            .ok_or(AppError::NotFound("category"))?],
        None => {
            let mut roots: Vec<Uuid> = names
                .tree
                .ids()
                .filter(|&id| names.tree.at_level(id, 0) == id)
                .collect();
            roots.sort_by_key(|id| names.categories.get(id).map(|c| c.code.clone()));
            roots
        }
    };
    let announced = q::announced_supply(&mut conn).await?;
    let mut series = Vec::new();
    for category in categories {
        let mut scope = district;
        let mut past = history(&mut conn, &names, category, scope, now).await?;
        let active = past.iter().filter(|v| **v > 0.0).count();
        if scope.is_some() && active < crate::domain::flows::forecast::MIN_HISTORY {
            scope = None;
            past = history(&mut conn, &names, category, None, now).await?;
        }
        let subtree = names.tree.subtree(category);
        let mut ahead = vec![0.0; horizon];
        for row in &announced {
            let at = now.until(Month::of_date(row.month)).max(0) as usize;
            if at < horizon
                && subtree.contains(&row.category_id)
                && (scope.is_none() || row.district_id == scope)
            {
                ahead[at] += kg(row.mass_g);
            }
        }
        let result = forecast_series(&past, &ahead, horizon);
        let month = |s: &Step| ForecastMonth {
            month: now.plus(s.ahead as i32 - 1).to_string(),
            mean_kg: s.mean,
            lo80_kg: s.lo80,
            hi80_kg: s.hi80,
            lo95_kg: s.lo95,
            hi95_kg: s.hi95,
            announced_kg: s.announced,
        };
        series.push(ForecastSeries {
            category: names.category(Some(category)),
            district: names.district(scope),
            history_months: past.len(),
            months: result.steps.iter().map(month).collect(),
            back_test: result.back_test,
        });
    }
    Ok(SupplyForecast { series })
}

/// Monthly mass kept out of the waste stream per EURAL code, as CSV (brokers).
pub async fn eural_csv(
    ctx: &Ctx,
    actor: &Actor,
    from: Option<String>,
    to: Option<String>,
) -> AppResult<String> {
    actor.require_broker()?;
    let query = FlowQuery {
        from,
        to,
        group_by: Some("month,eural_code".to_owned()),
        ..FlowQuery::default()
    };
    let report = report(ctx, actor, query).await?;
    let mut csv = String::from("month,eural_code,mass_kg,hand_overs\n");
    for g in report.groups {
        csv.push_str(&format!(
            "{},{},{:.3},{}\n",
            g.month.unwrap_or_default(),
            g.eural_code.unwrap_or_default(),
            g.mass_kg,
            g.count
        ));
    }
    Ok(csv)
}
