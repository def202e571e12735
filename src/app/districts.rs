//! Districts: the broker uploads them; points are assigned to them by point-in-polygon.

use super::actor::Actor;
use super::audit::Audit;
use super::error::{AppError, AppResult};
use super::Ctx;
use crate::db::districts::{self as q, DistrictRow, NewDistrictRow};
use crate::db::{Atomic, Conn};
use crate::domain::audit::AuditAction;
use crate::domain::district::{parse_feature_collection, shape_of, DistrictIndex};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct District {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    /// GeoJSON Polygon or MultiPolygon (WGS84).
    #[schema(value_type = Object)]
    pub geometry: serde_json::Value,
    /// When an upload left the district out; flows and history keep it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<DateTime<Utc>>,
}

impl From<DistrictRow> for District {
    fn from(row: DistrictRow) -> Self {
        District {
            id: row.id,
            code: row.code,
            name: row.name,
            geometry: row.geometry,
            retired_at: row.retired_at,
        }
    }
}

/// A district as the audit log keeps it: its geometry would fill the log.
#[derive(Debug, Serialize)]
struct Named {
    code: String,
    name: String,
}

/// The current districts, and the retired ones after them when asked.
pub async fn list(ctx: &Ctx, with_retired: bool) -> AppResult<Vec<District>> {
    let mut conn = ctx.conn().await?;
    let rows = if with_retired {
        q::all_with_retired(&mut conn).await?
    } else {
        q::all(&mut conn).await?
    };
    Ok(rows.into_iter().map(District::from).collect())
}

/// The districts in memory, to assign points.
pub async fn index(conn: &mut Conn) -> AppResult<DistrictIndex> {
    let rows = q::all(conn).await?;
    Ok(DistrictIndex::new(rows.into_iter().filter_map(|row| {
        shape_of(&row.geometry).map(|shape| (row.id, shape))
    })))
}

/// Replaces the set of districts with the uploaded FeatureCollection (matched by code, so
/// that districts that stay keep their ids), retires those it leaves out, and re-assigns every
/// stored point to the current ones.
pub async fn replace(
    ctx: &Ctx,
    actor: &Actor,
    upload: serde_json::Value,
) -> AppResult<Vec<District>> {
    actor.require_broker()?;
    let shapes = parse_feature_collection(&upload)?;
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        q::lock_all(conn).await?;
        let before: Vec<Named> = q::all(conn)
            .await?
            .into_iter()
            .map(|row| Named {
                code: row.code,
                name: row.name,
            })
            .collect();
        let mut kept = Vec::with_capacity(shapes.len());
        for shape in &shapes {
            let id = q::upsert(
                conn,
                &NewDistrictRow {
                    id: Uuid::now_v7(),
                    code: &shape.code,
                    name: &shape.name,
                    geometry: &shape.geometry,
                    min_lat: shape.bounds.min().y,
                    min_lon: shape.bounds.min().x,
                    max_lat: shape.bounds.max().y,
                    max_lon: shape.bounds.max().x,
                    created_at: now,
                    updated_at: now,
                },
            )
            .await?;
            kept.push(id);
        }
        q::retire_except(conn, &kept, now).await?;
        let index = DistrictIndex::new(
            kept.iter()
                .copied()
                .zip(shapes.iter().map(|s| s.shape.clone())),
        );
        let points = q::points(conn).await?;
        for (table, column, rows) in [
            ("organisations", "district_id", points.organisations),
            ("passports", "origin_district_id", points.passports),
            ("listings", "district_id", points.listings),
        ] {
            let ids: Vec<Uuid> = rows.iter().map(|(id, _, _)| *id).collect();
            let districts: Vec<Option<Uuid>> = rows
                .iter()
                .map(|(_, lat, lon)| index.locate(*lat, *lon))
                .collect();
            for (ids, districts) in ids.chunks(10_000).zip(districts.chunks(10_000)) {
                q::assign(conn, table, column, ids, districts).await?;
            }
        }
        let after: Vec<Named> = shapes
            .iter()
            .map(|shape| Named {
                code: shape.code.clone(),
                name: shape.name.clone(),
            })
            .collect();
        Audit::new(AuditAction::ReplaceDistricts, None)
            .before(&before)
            .after(&after)
            .record(conn, actor, now)
            .await?;
        Ok(())
    })
    .await?;
    list(ctx, false).await
}
