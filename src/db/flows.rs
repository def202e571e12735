//! Flows: material that moved at a hand-over, written once and never changed, and the monthly
//! rollups per (origin district, destination district, category) kept in step with them.

use super::schema::{flow_rollups, flows, passports};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

#[derive(Debug, Clone, Insertable, Queryable, Selectable)]
#[diesel(table_name = flows, check_for_backend(diesel::pg::Pg))]
pub struct FlowRow {
    pub id: Uuid,
    pub reservation_id: Option<Uuid>,
    pub passport_id: Uuid,
    pub category_id: Uuid,
    pub quantity: i64,
    pub unit: String,
    pub mass_g: i64,
    pub co2e_avoided_g: i64,
    pub origin_district_id: Option<Uuid>,
    pub destination_district_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub eural_code: Option<String>,
    pub donor_id: Option<Uuid>,
    pub receiver_id: Option<Uuid>,
    pub transport_co2e_g: i64,
    pub synthetic: bool,
}

/// Writes the flow and adds it to its month's rollup, in the caller's transaction.
pub async fn record_flow(
    conn: &mut AsyncPgConnection,
    flow: &FlowRow,
    month: NaiveDate,
) -> QueryResult<()> {
    diesel::insert_into(flows::table)
        .values(flow)
        .execute(conn)
        .await?;
    diesel::insert_into(flow_rollups::table)
        .values((
            flow_rollups::month.eq(month),
            flow_rollups::origin_district_id.eq(flow.origin_district_id.unwrap_or_default()),
            flow_rollups::destination_district_id
                .eq(flow.destination_district_id.unwrap_or_default()),
            flow_rollups::category_id.eq(flow.category_id),
            flow_rollups::mass_g.eq(flow.mass_g),
            flow_rollups::co2e_avoided_g.eq(flow.co2e_avoided_g),
            flow_rollups::flows.eq(1),
            flow_rollups::transport_co2e_g.eq(flow.transport_co2e_g),
        ))
        .on_conflict((
            flow_rollups::month,
            flow_rollups::origin_district_id,
            flow_rollups::destination_district_id,
            flow_rollups::category_id,
        ))
        .do_update()
        .set((
            flow_rollups::mass_g.eq(flow_rollups::mass_g + excluded(flow_rollups::mass_g)),
            flow_rollups::co2e_avoided_g
                .eq(flow_rollups::co2e_avoided_g + excluded(flow_rollups::co2e_avoided_g)),
            flow_rollups::flows.eq(flow_rollups::flows + 1),
            flow_rollups::transport_co2e_g
                .eq(flow_rollups::transport_co2e_g + excluded(flow_rollups::transport_co2e_g)),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The EURAL code a passport declares, for the flow its material makes.
pub async fn eural_code_of(
    conn: &mut AsyncPgConnection,
    passport_id: Uuid,
) -> QueryResult<Option<String>> {
    passports::table
        .find(passport_id)
        .select(passports::eural_code)
        .first(conn)
        .await
        .optional()
        .map(Option::flatten)
}
