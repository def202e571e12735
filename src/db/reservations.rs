//! Rows and queries for reservations.

use super::listings::ListingRow;
use super::schema::{listings, reservations};
use crate::domain::reservation::ReservationStatus;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = reservations, check_for_backend(diesel::pg::Pg))]
pub struct ReservationRow {
    pub id: Uuid,
    pub listing_id: Uuid,
    pub match_id: Option<Uuid>,
    pub demander_id: Uuid,
    pub donor_id: Uuid,
    pub reserved_by: Uuid,
    pub quantity: i64,
    pub unit: String,
    pub price_amount: Option<i64>,
    pub price_currency: Option<String>,
    pub total_amount: Option<i64>,
    pub hold_transfer_id: Option<Uuid>,
    pub status: String,
    pub expires_at: DateTime<Utc>,
    pub handed_over_at: Option<DateTime<Utc>>,
    pub received_passport_id: Option<Uuid>,
    pub confirm_by: Option<DateTime<Utc>>,
    pub confirmation: Option<String>,
    pub confirmation_note: Option<String>,
    pub ended_at: Option<DateTime<Utc>>,
    pub ended_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = reservations)]
pub struct NewReservationRow<'a> {
    pub id: Uuid,
    pub listing_id: Uuid,
    pub match_id: Option<Uuid>,
    pub demander_id: Uuid,
    pub donor_id: Uuid,
    pub reserved_by: Uuid,
    pub quantity: i64,
    pub unit: &'a str,
    pub price_amount: Option<i64>,
    pub price_currency: Option<&'a str>,
    pub total_amount: Option<i64>,
    pub hold_transfer_id: Option<Uuid>,
    pub status: &'a str,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Takes `quantity` from an open listing in one statement, and only when that much is left:
/// PostgreSQL, not this process, decides who gets the last unit. `None`: not open, or not
/// enough left.
pub async fn take(
    conn: &mut AsyncPgConnection,
    listing_id: Uuid,
    quantity: i64,
    now: DateTime<Utc>,
) -> QueryResult<Option<ListingRow>> {
    diesel::update(
        listings::table
            .filter(listings::id.eq(listing_id))
            .filter(listings::status.eq_any(["announced", "available"]))
            .filter(listings::quantity_available.ge(quantity))
            .filter(listings::off_market.eq(false)),
    )
    .set((
        listings::quantity_available.eq(listings::quantity_available - quantity),
        listings::version.eq(listings::version + 1),
        listings::updated_at.eq(now),
    ))
    .returning(ListingRow::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Gives `quantity` back to the listing.
pub async fn give_back(
    conn: &mut AsyncPgConnection,
    listing_id: Uuid,
    quantity: i64,
    now: DateTime<Utc>,
) -> QueryResult<ListingRow> {
    diesel::update(listings::table.find(listing_id))
        .set((
            listings::quantity_available.eq(listings::quantity_available + quantity),
            listings::version.eq(listings::version + 1),
            listings::updated_at.eq(now),
        ))
        .returning(ListingRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    row: &NewReservationRow<'_>,
) -> QueryResult<ReservationRow> {
    diesel::insert_into(reservations::table)
        .values(row)
        .returning(ReservationRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<ReservationRow>> {
    reservations::table
        .find(id)
        .select(ReservationRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<ReservationRow>> {
    reservations::table
        .find(id)
        .select(ReservationRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// The changeable part of a reservation.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = reservations)]
pub struct ReservationChanges<'a> {
    pub status: &'a str,
    pub handed_over_at: Option<DateTime<Utc>>,
    pub received_passport_id: Option<Uuid>,
    pub confirm_by: Option<DateTime<Utc>>,
    pub confirmation: Option<&'a str>,
    pub confirmation_note: Option<&'a str>,
    pub ended_at: Option<DateTime<Utc>>,
    pub ended_by: Option<Uuid>,
    pub updated_at: DateTime<Utc>,
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    changes: &ReservationChanges<'_>,
) -> QueryResult<ReservationRow> {
    diesel::update(reservations::table.find(id))
        .set(changes)
        .returning(ReservationRow::as_returning())
        .get_result(conn)
        .await
}

/// Held reservations whose time is up, locked, skipping those another worker holds.
pub async fn due(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<Uuid>> {
    reservations::table
        .filter(reservations::status.eq(ReservationStatus::Held.as_str()))
        .filter(reservations::expires_at.le(now))
        .select(reservations::id)
        .order(reservations::expires_at)
        .limit(limit)
        .for_update()
        .skip_locked()
        .load(conn)
        .await
}

/// How many reservations still hold part of the listing.
pub async fn held_on(conn: &mut AsyncPgConnection, listing_id: Uuid) -> QueryResult<i64> {
    reservations::table
        .filter(reservations::listing_id.eq(listing_id))
        .filter(reservations::status.eq(ReservationStatus::Held.as_str()))
        .count()
        .get_result(conn)
        .await
}

/// An organisation's reservations on either side, newest first, before `before`.
pub async fn of_organisation(
    conn: &mut AsyncPgConnection,
    organisation_id: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<ReservationRow>> {
    let mut query = reservations::table
        .filter(
            reservations::demander_id
                .eq(organisation_id)
                .or(reservations::donor_id.eq(organisation_id)),
        )
        .select(ReservationRow::as_select())
        .order(reservations::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(reservations::id.lt(before));
    }
    query.load(conn).await
}

/// An organisation's open reservations on either side: held ones, and handed-over ones the
/// demander may still confirm or dispute.
pub async fn open_of_organisation(
    conn: &mut AsyncPgConnection,
    organisation_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Vec<ReservationRow>> {
    reservations::table
        .filter(
            reservations::demander_id
                .eq(organisation_id)
                .or(reservations::donor_id.eq(organisation_id)),
        )
        .filter(
            reservations::status
                .eq(ReservationStatus::Held.as_str())
                .or(reservations::status
                    .eq(ReservationStatus::HandedOver.as_str())
                    .and(reservations::confirmation.is_null())
                    .and(reservations::confirm_by.gt(now))),
        )
        .select(ReservationRow::as_select())
        .order(reservations::id)
        .load(conn)
        .await
}

/// Who is a party to a reservation of each of `listing_ids` as `organisation_id` (the
/// demander; the donor owns the listing): those listings' ids.
pub async fn reserved_by(
    conn: &mut AsyncPgConnection,
    organisation_id: Uuid,
    listing_ids: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    reservations::table
        .filter(reservations::demander_id.eq(organisation_id))
        .filter(reservations::listing_id.eq_any(listing_ids))
        .select(reservations::listing_id)
        .distinct()
        .load(conn)
        .await
}
