//! The diesel schema both backends share, kept by hand: the migrations under
//! `migrations/sqlite` and `migrations/postgres` must produce these columns
//! with these types. Times are UTC `TIMESTAMP`s (no zone in the column; depot
//! writes and reads UTC only), because diesel's multi-backend connection has
//! no common `TIMESTAMPTZ` type.

diesel::table! {
    merchants (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    carriers (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        token_hash -> Text,
        role -> Text,
        merchant_id -> Nullable<Text>,
        carrier_id -> Nullable<Text>,
        label -> Nullable<Text>,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
        revoked_at -> Nullable<Timestamp>,
        revoked_by -> Nullable<Text>,
    }
}

diesel::joinable!(api_tokens -> merchants (merchant_id));
diesel::joinable!(api_tokens -> carriers (carrier_id));
diesel::allow_tables_to_appear_in_same_query!(merchants, carriers, api_tokens);
