// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "cube"))]
    pub struct Cube;

    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "tsvector", schema = "pg_catalog"))]
    pub struct Tsvector;
}

diesel::table! {
    audit_log (id) {
        id -> Uuid,
        at -> Timestamptz,
        broker_id -> Uuid,
        action -> Text,
        object_kind -> Text,
        object_id -> Nullable<Uuid>,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    bundles (id) {
        id -> Uuid,
        wish_id -> Uuid,
        listing_set -> Text,
        parts -> Jsonb,
        covered -> Int8,
        pickups -> Int4,
        donors -> Int4,
        total_distance_km -> Float8,
        status -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    categories (id) {
        id -> Uuid,
        parent_id -> Nullable<Uuid>,
        code -> Text,
        name_nl -> Text,
        name_en -> Text,
        eural_codes -> Array<Nullable<Text>>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    currency (id) {
        id -> Int2,
        code -> Text,
        name -> Text,
        decimals -> Int2,
        eur_rate_micros -> Nullable<Int8>,
        demurrage_bp_per_month -> Nullable<Int4>,
        issuance_default_per_kg -> Int8,
        version -> Int4,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    passport_files (id) {
        id -> Uuid,
        passport_id -> Uuid,
        sha256 -> Text,
        media_type -> Text,
        size -> Int8,
        has_thumbnail -> Bool,
        title -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    custody_events (id) {
        id -> Uuid,
        passport_id -> Uuid,
        seq -> Int4,
        kind -> Text,
        organisation_id -> Nullable<Uuid>,
        payload -> Jsonb,
        at -> Timestamptz,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    districts (id) {
        id -> Uuid,
        code -> Text,
        name -> Text,
        geometry -> Jsonb,
        min_lat -> Float8,
        min_lon -> Float8,
        max_lat -> Float8,
        max_lon -> Float8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        retired_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    eural_codes (code) {
        code -> Text,
        hazardous -> Bool,
        description_en -> Text,
        description_nl -> Nullable<Text>,
    }
}

diesel::table! {
    flow_rollups (month, origin_district_id, destination_district_id, category_id) {
        month -> Date,
        origin_district_id -> Uuid,
        destination_district_id -> Uuid,
        category_id -> Uuid,
        mass_g -> Int8,
        co2e_avoided_g -> Int8,
        flows -> Int4,
        transport_co2e_g -> Int8,
    }
}

diesel::table! {
    flows (id) {
        id -> Uuid,
        reservation_id -> Nullable<Uuid>,
        passport_id -> Nullable<Uuid>,
        category_id -> Uuid,
        quantity -> Int8,
        unit -> Text,
        mass_g -> Int8,
        co2e_avoided_g -> Int8,
        origin_district_id -> Nullable<Uuid>,
        destination_district_id -> Nullable<Uuid>,
        occurred_at -> Timestamptz,
        eural_code -> Nullable<Text>,
        donor_id -> Nullable<Uuid>,
        receiver_id -> Nullable<Uuid>,
        transport_co2e_g -> Int8,
        synthetic -> Bool,
    }
}

diesel::table! {
    idempotency_keys (scope, method, path, key) {
        scope -> Uuid,
        method -> Text,
        path -> Text,
        key -> Text,
        request_hash -> Bytea,
        status -> Nullable<Int2>,
        response_body -> Nullable<Bytea>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    issuance_rates (category_id) {
        category_id -> Uuid,
        per_kg -> Int8,
    }
}

diesel::table! {
    ledger_accounts (id) {
        id -> Uuid,
        organisation_id -> Nullable<Uuid>,
        system_name -> Nullable<Text>,
        balance -> Int8,
        held -> Int8,
        credit_limit -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        entries -> Int8,
        issuance_cap_per_month -> Nullable<Int8>,
    }
}

diesel::table! {
    issuance_claims (id) {
        id -> Uuid,
        reservation_id -> Uuid,
        passport_id -> Uuid,
        root_passport_id -> Uuid,
        donor_id -> Uuid,
        category_id -> Uuid,
        mass_g -> Int8,
        quantity -> Int8,
        unit -> Text,
        grams_per_unit -> Int8,
        plausible_g_per_unit -> Nullable<Int8>,
        status -> Text,
        held_because -> Nullable<Text>,
        amount -> Int8,
        paid -> Int8,
        created_at -> Timestamptz,
        settled_at -> Nullable<Timestamptz>,
        decided_at -> Nullable<Timestamptz>,
        decided_by -> Nullable<Uuid>,
        decision_reason -> Nullable<Text>,
    }
}

diesel::table! {
    material_densities (material) {
        material -> Text,
        density_kg_m3 -> Nullable<Int4>,
        embodied_g_co2e_per_kg -> Int4,
        source -> Text,
    }
}

diesel::table! {
    category_mass_rules (category_id) {
        category_id -> Uuid,
        material -> Nullable<Text>,
        max_kg_per_piece -> Nullable<Int4>,
    }
}

diesel::table! {
    ledger_entries (id) {
        id -> Uuid,
        account_id -> Uuid,
        transfer_id -> Uuid,
        amount -> Int8,
        balance_after -> Int8,
        created_at -> Timestamptz,
        seq -> Int8,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Cube;
    use super::sql_types::Tsvector;

    listings (id) {
        id -> Uuid,
        passport_id -> Uuid,
        organisation_id -> Uuid,
        category_id -> Uuid,
        title -> Text,
        status -> Text,
        unit -> Text,
        quantity -> Int8,
        quantity_available -> Int8,
        mass_g_per_unit -> Nullable<Int8>,
        available_from -> Timestamptz,
        available_until -> Nullable<Timestamptz>,
        pickup_lat -> Float8,
        pickup_lon -> Float8,
        pickup_address -> Nullable<Text>,
        district_id -> Nullable<Uuid>,
        price_amount -> Nullable<Int8>,
        price_currency -> Nullable<Text>,
        condition_rank -> Int2,
        note -> Nullable<Text>,
        search_text -> Text,
        pickup_earth -> Nullable<Cube>,
        search -> Nullable<Tsvector>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        change_txid -> Int8,
        suspended -> Bool,
        hidden_at -> Nullable<Timestamptz>,
        hidden_reason -> Nullable<Text>,
        off_market -> Bool,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Uuid,
        email -> Text,
        client_addr -> Text,
        failed_at -> Timestamptz,
    }
}

diesel::table! {
    match_jobs (id) {
        id -> Int8,
        subject -> Text,
        subject_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    matches (id) {
        id -> Uuid,
        listing_id -> Uuid,
        wish_id -> Uuid,
        demander_id -> Uuid,
        donor_id -> Uuid,
        score -> Int4,
        reasons -> Jsonb,
        predicted -> Bool,
        expected_on -> Nullable<Timestamptz>,
        status -> Text,
        retracted_because -> Nullable<Text>,
        round -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    organisations (id) {
        id -> Uuid,
        name -> Text,
        kind -> Text,
        status -> Text,
        kvk_number -> Nullable<Text>,
        address -> Nullable<Text>,
        lat -> Nullable<Float8>,
        lon -> Nullable<Float8>,
        verified_at -> Nullable<Timestamptz>,
        verified_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        district_id -> Nullable<Uuid>,
        is_platform -> Bool,
    }
}

diesel::table! {
    outbox (id) {
        id -> Uuid,
        dedupe_key -> Text,
        event -> Text,
        recipient_user_id -> Uuid,
        channel -> Text,
        payload -> Jsonb,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        delivered_at -> Nullable<Timestamptz>,
        read_at -> Nullable<Timestamptz>,
        thread -> Nullable<Text>,
        recipient_email -> Nullable<Text>,
    }
}

diesel::table! {
    passports (id) {
        id -> Uuid,
        code -> Text,
        organisation_id -> Uuid,
        category_id -> Uuid,
        parent_id -> Nullable<Uuid>,
        content -> Jsonb,
        name -> Text,
        eural_code -> Nullable<Text>,
        condition_rank -> Int2,
        unit_mass_g -> Nullable<Int8>,
        mass_unit -> Nullable<Text>,
        embodied_co2e_g_per_kg -> Nullable<Int4>,
        listable -> Bool,
        origin_lat -> Nullable<Float8>,
        origin_lon -> Nullable<Float8>,
        origin_district_id -> Nullable<Uuid>,
        custody_head -> Text,
        custody_seq -> Int4,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        import_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    registration_attempts (id) {
        id -> Uuid,
        client_addr -> Text,
        attempted_at -> Timestamptz,
    }
}

diesel::table! {
    password_resets (id) {
        id -> Uuid,
        user_id -> Uuid,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Uuid,
        family_id -> Uuid,
        user_id -> Uuid,
        token_hash -> Bytea,
        issued_at -> Timestamptz,
        expires_at -> Timestamptz,
        rotated_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    reservations (id) {
        id -> Uuid,
        listing_id -> Uuid,
        match_id -> Nullable<Uuid>,
        demander_id -> Uuid,
        donor_id -> Uuid,
        reserved_by -> Uuid,
        quantity -> Int8,
        unit -> Text,
        price_amount -> Nullable<Int8>,
        price_currency -> Nullable<Text>,
        total_amount -> Nullable<Int8>,
        hold_transfer_id -> Nullable<Uuid>,
        status -> Text,
        expires_at -> Timestamptz,
        handed_over_at -> Nullable<Timestamptz>,
        received_passport_id -> Nullable<Uuid>,
        confirm_by -> Nullable<Timestamptz>,
        confirmation -> Nullable<Text>,
        confirmation_note -> Nullable<Text>,
        ended_at -> Nullable<Timestamptz>,
        ended_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    transfers (id) {
        id -> Uuid,
        debit_account_id -> Uuid,
        credit_account_id -> Uuid,
        amount -> Int8,
        kind -> Text,
        status -> Text,
        reverses_id -> Nullable<Uuid>,
        memo -> Nullable<Text>,
        reference -> Nullable<Text>,
        period -> Nullable<Text>,
        created_at -> Timestamptz,
        posted_at -> Nullable<Timestamptz>,
        voided_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        organisation_id -> Uuid,
        email -> Text,
        password_hash -> Text,
        display_name -> Text,
        locale -> Text,
        org_role -> Text,
        is_broker -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        email_notifications -> Bool,
        digest -> Text,
        quiet_start_hour -> Nullable<Int2>,
        quiet_end_hour -> Nullable<Int2>,
        last_digest_on -> Nullable<Date>,
        email_verified_at -> Nullable<Timestamptz>,
        removed_at -> Nullable<Timestamptz>,
        erased_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    wishes (id) {
        id -> Uuid,
        organisation_id -> Uuid,
        created_by -> Uuid,
        category_id -> Uuid,
        keywords -> Array<Nullable<Text>>,
        length_min_mm -> Nullable<Int4>,
        length_max_mm -> Nullable<Int4>,
        width_min_mm -> Nullable<Int4>,
        width_max_mm -> Nullable<Int4>,
        height_min_mm -> Nullable<Int4>,
        height_max_mm -> Nullable<Int4>,
        condition_min -> Nullable<Int2>,
        quantity -> Int8,
        unit -> Text,
        near_lat -> Float8,
        near_lon -> Float8,
        radius_km -> Float8,
        needed_by -> Nullable<Timestamptz>,
        max_price -> Jsonb,
        include_announced -> Bool,
        notify -> Text,
        status -> Text,
        version -> Int4,
        change_txid -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        suspended -> Bool,
        hidden_at -> Nullable<Timestamptz>,
        hidden_reason -> Nullable<Text>,
        off_market -> Bool,
    }
}

diesel::table! {
    email_verifications (id) {
        id -> Uuid,
        user_id -> Uuid,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    invitations (id) {
        id -> Uuid,
        organisation_id -> Uuid,
        email -> Text,
        role -> Text,
        token_hash -> Bytea,
        invited_by -> Uuid,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        accepted_at -> Nullable<Timestamptz>,
        accepted_by -> Nullable<Uuid>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(bundles -> wishes (wish_id));
diesel::joinable!(custody_events -> organisations (organisation_id));
diesel::joinable!(custody_events -> passports (passport_id));
diesel::joinable!(passport_files -> passports (passport_id));
diesel::joinable!(flow_rollups -> categories (category_id));
diesel::joinable!(email_verifications -> users (user_id));
diesel::joinable!(flows -> categories (category_id));
diesel::joinable!(invitations -> organisations (organisation_id));
diesel::joinable!(flows -> passports (passport_id));
diesel::joinable!(flows -> reservations (reservation_id));
diesel::joinable!(issuance_claims -> categories (category_id));
diesel::joinable!(issuance_claims -> organisations (donor_id));
diesel::joinable!(issuance_claims -> reservations (reservation_id));
diesel::joinable!(category_mass_rules -> categories (category_id));
diesel::joinable!(category_mass_rules -> material_densities (material));
diesel::joinable!(issuance_rates -> categories (category_id));
diesel::joinable!(ledger_accounts -> organisations (organisation_id));
diesel::joinable!(ledger_entries -> ledger_accounts (account_id));
diesel::joinable!(ledger_entries -> transfers (transfer_id));
diesel::joinable!(listings -> categories (category_id));
diesel::joinable!(listings -> districts (district_id));
diesel::joinable!(listings -> organisations (organisation_id));
diesel::joinable!(listings -> passports (passport_id));
diesel::joinable!(matches -> listings (listing_id));
diesel::joinable!(matches -> wishes (wish_id));
diesel::joinable!(organisations -> districts (district_id));
diesel::joinable!(outbox -> users (recipient_user_id));
diesel::joinable!(passports -> categories (category_id));
diesel::joinable!(passports -> districts (origin_district_id));
diesel::joinable!(passports -> eural_codes (eural_code));
diesel::joinable!(passports -> organisations (organisation_id));
diesel::joinable!(password_resets -> users (user_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(reservations -> listings (listing_id));
diesel::joinable!(reservations -> matches (match_id));
diesel::joinable!(reservations -> passports (received_passport_id));
diesel::joinable!(reservations -> transfers (hold_transfer_id));
diesel::joinable!(reservations -> users (reserved_by));
diesel::joinable!(users -> organisations (organisation_id));
diesel::joinable!(wishes -> categories (category_id));
diesel::joinable!(wishes -> organisations (organisation_id));
diesel::joinable!(wishes -> users (created_by));

diesel::allow_tables_to_appear_in_same_query!(
    audit_log,
    bundles,
    categories,
    category_mass_rules,
    currency,
    custody_events,
    passport_files,
    districts,
    email_verifications,
    eural_codes,
    flow_rollups,
    flows,
    idempotency_keys,
    issuance_claims,
    invitations,
    issuance_rates,
    ledger_accounts,
    ledger_entries,
    listings,
    login_failures,
    match_jobs,
    matches,
    material_densities,
    organisations,
    outbox,
    passports,
    password_resets,
    refresh_tokens,
    registration_attempts,
    reservations,
    transfers,
    users,
    wishes,
);
