// @generated automatically by Diesel CLI.

diesel::table! {
    login_failures (id) {
        id -> Uuid,
        email -> Text,
        client_addr -> Text,
        failed_at -> Timestamptz,
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
    }
}

diesel::joinable!(outbox -> users (recipient_user_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(users -> organisations (organisation_id));

diesel::allow_tables_to_appear_in_same_query!(
    login_failures,
    organisations,
    outbox,
    refresh_tokens,
    users,
);
