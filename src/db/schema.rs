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
        active -> Bool,
    }
}

diesel::table! {
    carriers (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
        active -> Bool,
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

diesel::table! {
    skus (id) {
        id -> Text,
        merchant_id -> Text,
        code -> Text,
        name -> Text,
        gtin -> Nullable<Text>,
        category -> Nullable<Text>,
        shelf_life_days -> Nullable<Integer>,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
        storage_zone -> Nullable<Text>,
    }
}

diesel::table! {
    locations (id) {
        id -> Text,
        code -> Text,
        kind -> Text,
        zone -> Nullable<Text>,
        walk_seq -> Integer,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
        capacity -> Nullable<BigInt>,
        active -> Bool,
        is_default -> Bool,
    }
}

diesel::table! {
    inspection_templates (id) {
        id -> Text,
        category -> Text,
        aql_critical -> Text,
        aql_major -> Text,
        aql_minor -> Text,
        level -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
        merchant_id -> Nullable<Text>,
        version -> Integer,
    }
}

diesel::table! {
    inspection_checks (template_id, position) {
        template_id -> Text,
        position -> Integer,
        code -> Text,
        description -> Text,
        defect_class -> Text,
    }
}

diesel::table! {
    receipts (id) {
        id -> Text,
        merchant_id -> Text,
        reference -> Text,
        status -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
        arrived_at -> Nullable<Timestamp>,
        arrived_by -> Nullable<Text>,
        progress -> Text,
        closed_at -> Nullable<Timestamp>,
        closed_by -> Nullable<Text>,
    }
}

diesel::table! {
    receipt_lines (id) {
        id -> Text,
        receipt_id -> Text,
        line_no -> Integer,
        sku_id -> Text,
        lot_code -> Text,
        expected_qty -> BigInt,
        received_qty -> Nullable<BigInt>,
        production_date -> Nullable<Date>,
        expiry_date -> Nullable<Date>,
    }
}

diesel::table! {
    lots (id) {
        id -> Text,
        merchant_id -> Text,
        sku_id -> Text,
        receipt_line_id -> Text,
        lot_code -> Text,
        status -> Text,
        received_qty -> BigInt,
        production_date -> Nullable<Date>,
        expiry_date -> Nullable<Date>,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
        updated_at -> Timestamp,
        uninspected_qty -> BigInt,
    }
}

diesel::table! {
    inspections (id) {
        id -> Text,
        lot_id -> Text,
        template_id -> Text,
        supersedes_id -> Nullable<Text>,
        status -> Text,
        level -> Text,
        severity -> Text,
        lot_size -> BigInt,
        plans -> Text,
        inspected_qty -> Nullable<BigInt>,
        verdict -> Nullable<Text>,
        notes -> Nullable<Text>,
        started_at -> Timestamp,
        started_by -> Nullable<Text>,
        finished_at -> Nullable<Timestamp>,
        finished_by -> Nullable<Text>,
        correction_reason -> Nullable<Text>,
        scope -> Text,
    }
}

diesel::table! {
    inspection_findings (inspection_id, check_code) {
        inspection_id -> Text,
        check_code -> Text,
        defect_class -> Text,
        defects -> BigInt,
    }
}

diesel::table! {
    inspection_evidence (inspection_id, position) {
        inspection_id -> Text,
        position -> Integer,
        uri -> Text,
        sha256 -> Text,
    }
}

diesel::table! {
    inspection_resumptions (id) {
        id -> Text,
        sku_id -> Text,
        reason -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    reduced_inspection_approvals (id) {
        id -> Text,
        sku_id -> Text,
        enabled -> Bool,
        reason -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    ledger_entries (id) {
        id -> Text,
        movement_id -> Text,
        kind -> Text,
        lot_id -> Text,
        location_id -> Text,
        delta -> BigInt,
        reference_type -> Nullable<Text>,
        reference_id -> Nullable<Text>,
        reason -> Nullable<Text>,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    stock (lot_id, location_id) {
        lot_id -> Text,
        location_id -> Text,
        on_hand -> BigInt,
        reserved -> BigInt,
    }
}

diesel::table! {
    trace_events (id) {
        id -> Text,
        event_type -> Text,
        action -> Text,
        event_time -> Timestamp,
        event_tz_offset -> Text,
        biz_step -> Text,
        disposition -> Text,
        lot_id -> Nullable<Text>,
        what_class -> Text,
        quantity -> Nullable<BigInt>,
        location_id -> Nullable<Text>,
        biz_tx_type -> Nullable<Text>,
        biz_tx_id -> Nullable<Text>,
        actor -> Nullable<Text>,
        recorded_at -> Timestamp,
        details -> Nullable<Text>,
        parent_id -> Nullable<Text>,
        /// The event's place in the one total order of the log (migration 000023).
        seq -> BigInt,
        /// Its RFC 6962 leaf hash, hex (`domain::seal`); None for events
        /// written before migration 000023.
        hash -> Nullable<Text>,
    }
}

diesel::table! {
    evidence_files (sha256) {
        sha256 -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    lot_dispositions (id) {
        id -> Text,
        lot_id -> Text,
        inspection_id -> Nullable<Text>,
        action -> Text,
        good_qty -> BigInt,
        removed_qty -> BigInt,
        notes -> Nullable<Text>,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    stock_holds (id) {
        id -> Text,
        lot_id -> Text,
        location_id -> Nullable<Text>,
        reason -> Text,
        kind -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
        released_at -> Nullable<Timestamp>,
        released_by -> Nullable<Text>,
    }
}

diesel::table! {
    stock_counts (id) {
        id -> Text,
        lot_id -> Text,
        location_id -> Text,
        expected_qty -> BigInt,
        counted_qty -> BigInt,
        movement_id -> Nullable<Text>,
        reason -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    orders (id) {
        id -> Text,
        merchant_id -> Text,
        channel -> Text,
        external_id -> Text,
        live_session -> Nullable<Text>,
        carrier_id -> Nullable<Text>,
        ship_name -> Text,
        ship_phone -> Text,
        ship_address -> Text,
        ship_city -> Text,
        ship_province -> Text,
        ship_postcode -> Nullable<Text>,
        status -> Text,
        units -> BigInt,
        body_hash -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
        updated_at -> Timestamp,
        batch_id -> Nullable<Text>,
        ship_by -> Timestamp,
    }
}

diesel::table! {
    order_lines (order_id, line_no) {
        order_id -> Text,
        line_no -> Integer,
        sku_id -> Text,
        qty -> BigInt,
        /// JSON array of the merchant's line references merged into the line.
        line_refs -> Nullable<Text>,
    }
}

diesel::table! {
    reservations (order_id, line_no, lot_id, location_id) {
        order_id -> Text,
        line_no -> Integer,
        lot_id -> Text,
        location_id -> Text,
        qty -> BigInt,
    }
}

diesel::table! {
    master_data_changes (id) {
        id -> Text,
        entity -> Text,
        entity_id -> Text,
        field -> Text,
        old_value -> Text,
        new_value -> Text,
        changed_at -> Timestamp,
        changed_by -> Nullable<Text>,
    }
}

diesel::table! {
    receipt_arrivals (id) {
        id -> Text,
        receipt_id -> Text,
        seq -> Integer,
        location_id -> Nullable<Text>,
        arrived_at -> Timestamp,
        arrived_by -> Nullable<Text>,
    }
}

diesel::table! {
    receipt_arrival_lines (arrival_id, receipt_line_id) {
        arrival_id -> Text,
        receipt_line_id -> Text,
        received_qty -> BigInt,
        lot_id -> Nullable<Text>,
    }
}

diesel::table! {
    batches (id) {
        id -> Text,
        strategy -> Text,
        carrier_id -> Nullable<Text>,
        status -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    batch_orders (batch_id, order_id) {
        batch_id -> Text,
        order_id -> Text,
    }
}

diesel::table! {
    batch_lines (id) {
        id -> Text,
        batch_id -> Text,
        lot_id -> Text,
        location_id -> Text,
        qty -> BigInt,
        picked_qty -> BigInt,
        walk_seq -> Integer,
    }
}

diesel::table! {
    manifests (id) {
        id -> Text,
        carrier_id -> Text,
        status -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
        closed_at -> Nullable<Timestamp>,
        closed_by -> Nullable<Text>,
        handed_over_at -> Nullable<Timestamp>,
        handed_over_by -> Nullable<Text>,
    }
}

diesel::table! {
    parcels (id) {
        id -> Text,
        sscc -> Text,
        company_prefix_len -> Integer,
        order_id -> Text,
        merchant_id -> Text,
        carrier_id -> Text,
        manifest_id -> Nullable<Text>,
        batch_id -> Nullable<Text>,
        tracking_no -> Text,
        weight_g -> BigInt,
        status -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    parcel_lines (parcel_id, line_no, lot_id) {
        parcel_id -> Text,
        line_no -> Integer,
        lot_id -> Text,
        qty -> BigInt,
    }
}

diesel::table! {
    parcel_statuses (parcel_id, seq) {
        parcel_id -> Text,
        seq -> Integer,
        status -> Text,
        at -> Timestamp,
        recorded_at -> Timestamp,
        recorded_by -> Nullable<Text>,
    }
}

diesel::table! {
    counters (name) {
        name -> Text,
        value -> BigInt,
    }
}

diesel::table! {
    count_tasks (id) {
        id -> Text,
        lot_id -> Text,
        location_id -> Text,
        batch_id -> Nullable<Text>,
        reason -> Text,
        expected_qty -> BigInt,
        status -> Text,
        count_id -> Nullable<Text>,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
        done_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    returns (id) {
        id -> Text,
        merchant_id -> Text,
        order_id -> Text,
        parcel_id -> Nullable<Text>,
        kind -> Text,
        reason -> Text,
        status -> Text,
        location_id -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
        template_id -> Nullable<Text>,
        notes -> Nullable<Text>,
        inspected_at -> Nullable<Timestamp>,
        inspected_by -> Nullable<Text>,
    }
}

diesel::table! {
    return_lines (id) {
        id -> Text,
        return_id -> Text,
        line_no -> Integer,
        order_line_no -> Integer,
        sku_id -> Text,
        lot_id -> Text,
        qty -> BigInt,
        restock_qty -> Nullable<BigInt>,
        scrap_qty -> Nullable<BigInt>,
    }
}

diesel::table! {
    return_findings (return_id, check_code) {
        return_id -> Text,
        check_code -> Text,
        defect_class -> Text,
        defects -> BigInt,
    }
}

diesel::table! {
    return_evidence (return_id, position) {
        return_id -> Text,
        position -> Integer,
        uri -> Text,
        sha256 -> Text,
    }
}

diesel::joinable!(api_tokens -> merchants (merchant_id));
diesel::joinable!(api_tokens -> carriers (carrier_id));
diesel::joinable!(skus -> merchants (merchant_id));
diesel::joinable!(receipts -> merchants (merchant_id));
diesel::joinable!(receipt_lines -> receipts (receipt_id));
diesel::joinable!(receipt_lines -> skus (sku_id));
diesel::joinable!(lots -> skus (sku_id));
diesel::joinable!(lots -> receipt_lines (receipt_line_id));
diesel::joinable!(inspections -> lots (lot_id));
diesel::joinable!(inspection_checks -> inspection_templates (template_id));
diesel::joinable!(inspection_findings -> inspections (inspection_id));
diesel::joinable!(inspection_evidence -> inspections (inspection_id));
diesel::joinable!(stock -> lots (lot_id));
diesel::joinable!(stock -> locations (location_id));
diesel::joinable!(ledger_entries -> lots (lot_id));
diesel::joinable!(lot_dispositions -> lots (lot_id));
diesel::joinable!(stock_holds -> lots (lot_id));
diesel::joinable!(orders -> merchants (merchant_id));
diesel::joinable!(order_lines -> orders (order_id));
diesel::joinable!(order_lines -> skus (sku_id));
diesel::joinable!(reservations -> orders (order_id));
diesel::joinable!(reservations -> lots (lot_id));
diesel::joinable!(reservations -> locations (location_id));
diesel::joinable!(stock_counts -> lots (lot_id));
diesel::joinable!(ledger_entries -> locations (location_id));
diesel::joinable!(inspection_resumptions -> skus (sku_id));
diesel::joinable!(receipt_arrivals -> receipts (receipt_id));
diesel::joinable!(receipt_arrival_lines -> receipt_arrivals (arrival_id));
diesel::joinable!(receipt_arrivals -> locations (location_id));
diesel::joinable!(receipt_arrival_lines -> receipt_lines (receipt_line_id));
diesel::joinable!(reduced_inspection_approvals -> skus (sku_id));
diesel::joinable!(batches -> carriers (carrier_id));
diesel::joinable!(batch_orders -> batches (batch_id));
diesel::joinable!(batch_orders -> orders (order_id));
diesel::joinable!(batch_lines -> batches (batch_id));
diesel::joinable!(batch_lines -> lots (lot_id));
diesel::joinable!(batch_lines -> locations (location_id));
diesel::joinable!(manifests -> carriers (carrier_id));
diesel::joinable!(parcels -> orders (order_id));
diesel::joinable!(parcels -> manifests (manifest_id));
diesel::joinable!(parcel_lines -> parcels (parcel_id));
diesel::joinable!(parcel_lines -> lots (lot_id));
diesel::joinable!(parcel_statuses -> parcels (parcel_id));
diesel::joinable!(count_tasks -> lots (lot_id));
diesel::joinable!(count_tasks -> locations (location_id));
diesel::joinable!(returns -> orders (order_id));
diesel::joinable!(returns -> locations (location_id));
diesel::joinable!(return_lines -> returns (return_id));
diesel::joinable!(return_lines -> lots (lot_id));
diesel::joinable!(return_lines -> skus (sku_id));
diesel::joinable!(return_findings -> returns (return_id));
diesel::joinable!(return_evidence -> returns (return_id));
diesel::allow_tables_to_appear_in_same_query!(
    share_links,
    merchants,
    carriers,
    api_tokens,
    skus,
    locations,
    inspection_templates,
    inspection_checks,
    receipts,
    receipt_lines,
    lots,
    inspections,
    inspection_findings,
    inspection_evidence,
    inspection_resumptions,
    reduced_inspection_approvals,
    ledger_entries,
    stock,
    trace_events,
    evidence_files,
    lot_dispositions,
    stock_holds,
    stock_counts,
    orders,
    order_lines,
    reservations,
    master_data_changes,
    receipt_arrivals,
    receipt_arrival_lines,
    batches,
    batch_orders,
    batch_lines,
    manifests,
    parcels,
    parcel_lines,
    parcel_statuses,
    counters,
    count_tasks,
    webhooks,
    webhook_deliveries,
    returns,
    return_lines,
    return_findings,
    return_evidence,
    recalls,
    recall_orders,
    recall_parcels,
);

// Webhooks (migration 000018).
diesel::table! {
    webhooks (id) {
        id -> Text,
        merchant_id -> Text,
        url -> Text,
        secret -> Text,
        active -> Bool,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
        deleted_at -> Nullable<Timestamp>,
        deleted_by -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        webhook_id -> Text,
        merchant_id -> Text,
        event -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        locked_until -> Nullable<Timestamp>,
        lease -> Nullable<Text>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(webhooks -> merchants (merchant_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));

diesel::table! {
    share_links (id) {
        id -> Text,
        token_hash -> Text,
        parcel_id -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
        revoked_at -> Nullable<Timestamp>,
        revoked_by -> Nullable<Text>,
    }
}

diesel::joinable!(share_links -> parcels (parcel_id));

// Recalls (migration 000021).
diesel::table! {
    recalls (id) {
        id -> Text,
        lot_id -> Text,
        merchant_id -> Text,
        reason -> Text,
        open_orders -> Text,
        hold_id -> Text,
        held_qty -> BigInt,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    /// Sealed blocks of the trace log (migration 000023, `domain::seal`).
    trace_blocks (number) {
        number -> BigInt,
        first_seq -> BigInt,
        last_seq -> BigInt,
        event_count -> BigInt,
        gaps -> Text,
        merkle_root -> Text,
        prev_hash -> Text,
        block_hash -> Text,
        sealed_at -> Timestamp,
    }
}

diesel::table! {
    recall_orders (recall_id, order_id) {
        recall_id -> Text,
        order_id -> Text,
        action -> Text,
    }
}

diesel::table! {
    recall_parcels (recall_id, parcel_id) {
        recall_id -> Text,
        parcel_id -> Text,
    }
}

diesel::joinable!(recalls -> lots (lot_id));
diesel::joinable!(recall_orders -> recalls (recall_id));
diesel::joinable!(recall_orders -> orders (order_id));
diesel::joinable!(recall_parcels -> recalls (recall_id));
diesel::joinable!(recall_parcels -> parcels (parcel_id));
