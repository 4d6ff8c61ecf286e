//! The HTTP layer: thin handlers (parse, call a service, map), and the one
//! list of every route ([`routes`]). The OpenAPI document is generated from
//! that same list, so the document and the server cannot drift apart.

pub mod access_log;
pub mod auth;
pub mod batches;
pub mod body;
pub mod carriers;
pub mod catalog;
pub mod declared;
pub mod epcis;
pub mod evidence;
pub mod examples;
pub mod inspections;
pub mod manifests;
pub mod master_data;
pub mod merchants;
pub mod metrics;
pub mod ops;
pub mod orders;
pub mod parcels;
pub mod problems;
pub mod query;
pub mod receiving;
pub mod reports;
pub mod returns;
pub mod sampling;
pub mod share;
pub mod storage;
pub mod stream;
pub mod templates;
pub mod tokens;
pub mod trace;
pub mod webhooks;
pub mod wire;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, ErrorHandlers};
use actix_web::{web, App};
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as OpenApiDoc, Ref};
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{scope, AppExt};

use crate::config::{Config, Warehouse};
use crate::db::DbPool;
use crate::domain::orders::ShipByHours;
use crate::domain::page::{Page, PageRequest};
use crate::error::{AppError, FieldError, Problem, PROBLEM_JSON};
use crate::labels::LabelSettings;
use crate::services::order_queue::OrderQueue;
use metrics::Metrics;
use problems::RouteTable;

/// `?cursor=&limit=` of every list: the documentation of the page
/// parameters that [`query::ListQuery`] reads (`params(PageQuery, Filter)`).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page, as it was handed out; any
    /// other value is a 400.
    #[param(pattern = "^[A-Za-z0-9_]{1,130}[.][0-9a-f]{8}$")]
    pub cursor: Option<String>,
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

impl PageQuery {
    /// For a handler that reads the page parameters itself; a list should
    /// take a [`query::ListQuery`] instead, which also refuses unknown ones.
    pub fn parse(self) -> Result<PageRequest, AppError> {
        query::page_request(self.cursor, self.limit)
    }
}

/// One page of a list.
#[derive(Serialize, ToSchema)]
pub struct ItemList<T: ToSchema> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> From<Page<T>> for ItemList<T> {
    fn from(page: Page<T>) -> Self {
        ItemList {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }
}

/// Every route depot serves under the OpenAPI document.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(ops::healthz)
        .service(ops::readyz)
        .service(ops::metrics)
        .service(
            scope("/api/v1")
                .service(ops::openapi)
                .service(tokens::create)
                .service(tokens::list)
                .service(tokens::revoke)
                .service(merchants::create)
                .service(merchants::list)
                .service(merchants::get)
                .service(carriers::create)
                .service(carriers::list)
                .service(carriers::get)
                .service(master_data::patch_merchant)
                .service(master_data::patch_carrier)
                .service(catalog::create_sku)
                .service(catalog::list_skus)
                .service(catalog::get_sku)
                .service(catalog::create_location)
                .service(catalog::list_locations)
                .service(master_data::patch_sku)
                .service(master_data::get_location)
                .service(master_data::patch_location)
                .service(master_data::list_changes)
                .service(receiving::announce)
                .service(receiving::get_receipt)
                .service(receiving::arrival)
                .service(receiving::list_receipts)
                .service(receiving::close_receipt)
                .service(receiving::list_lots)
                .service(receiving::get_lot)
                .service(sampling::sampling_plan)
                .service(inspections::start)
                .service(inspections::list_for_lot)
                .service(inspections::get_inspection)
                .service(inspections::record_results)
                .service(inspections::correct)
                .service(inspections::disposition)
                .service(inspections::switching_state)
                .service(inspections::resume)
                .service(inspections::reduced_approval)
                .service(reports::inspections)
                .service(reports::quality)
                .service(templates::create_template)
                .service(templates::list_templates)
                .service(templates::get_template)
                .service(evidence::upload_evidence)
                .service(evidence::get_evidence)
                .service(storage::putaway)
                .service(storage::move_stock)
                .service(storage::adjust)
                .service(storage::scrap)
                .service(storage::stock)
                .service(storage::ledger)
                .service(storage::expiring)
                .service(storage::expiry_run)
                .service(storage::holds)
                .service(storage::create_hold)
                .service(storage::release_hold)
                .service(storage::ledger_check)
                .service(orders::bulk)
                .service(orders::create)
                .service(orders::list)
                .service(orders::get_order)
                .service(orders::cancel)
                .service(batches::build)
                .service(batches::list)
                .service(batches::get)
                .service(batches::pick)
                .service(parcels::pack_order)
                .service(parcels::pack_batch)
                .service(parcels::batch_labels_zpl)
                .service(parcels::get)
                .service(parcels::label_zpl)
                .service(parcels::label_pdf)
                .service(parcels::batch_labels_pdf)
                .service(batches::count_tasks)
                .service(manifests::list)
                .service(manifests::get_csv)
                .service(manifests::missing)
                .service(manifests::get)
                .service(manifests::close)
                .service(manifests::handover)
                .service(manifests::remove_parcel)
                .service(manifests::parcel_status)
                .service(webhooks::create)
                .service(webhooks::list)
                .service(webhooks::deliveries)
                .service(webhooks::remove)
                .service(returns::receive)
                .service(returns::list)
                .service(returns::get)
                .service(returns::inspect)
                .service(share::create)
                .service(share::revoke)
                .service(epcis::events)
                .service(trace::parcel)
                .service(trace::order)
                .service(trace::forward)
                .service(trace::recall_lot)
                .service(trace::recall_csv)
                .service(trace::get_recall)
                .service(trace::verify),
        );
}

/// Routes outside the OpenAPI document (pages for people).
const PAGES: &[(&str, &str)] = &[
    ("GET", "/docs"),
    ("GET", "/problems/{code}"),
    ("GET", "/p/{token}"),
];

#[derive(OpenApi)]
#[openapi(
    info(
        title = "depot",
        description = "The system of record of a live-commerce base warehouse: inspection, storage, \
                       distribution. Errors are RFC 9457 problem details (application/problem+json). \
                       Lists are {items, next_cursor} with ?cursor=&limit=. Times are RFC 3339 UTC.",
    ),
    components(schemas(Problem, FieldError)),
    tags(
        (name = "operations", description = "Health, readiness, metrics, this document"),
        (name = "access", description = "Bearer tokens (admin)"),
        (name = "partners", description = "Merchants and carriers"),
        (name = "catalog", description = "SKUs and locations, their corrections and the change log"),
        (name = "receiving", description = "Receipts (ASNs), arrival, lots"),
        (name = "orders", description = "Orders from live sessions: bulk idempotent ingest, reservation, backorders, cancel"),
        (name = "batching", description = "Pick batches (waves) of reserved orders: hot_sku, identical, cluster; walk-ordered pick lists"),
        (name = "packing", description = "Parcels with GS1 SSCCs on their carrier's open manifest; GS1-128 labels in ZPL and PDF"),
        (name = "dispatch", description = "Manifests carriers pull as JSON and CSV, handover by scan, carrier parcel statuses"),
        (name = "webhooks", description = "Merchants' webhooks: signed POSTs of order and parcel events from an outbox, retried with backoff; the deliveries"),
        (name = "returns", description = "Returns: parcels and consumers' units received back, re-inspected, restocked or scrapped"),
        (name = "trace", description = "Backward trace (parcel or order to lots, inspections, evidence, receipt), forward trace (lot to orders, parcels, manifests, carriers), recalls, the log's tamper evidence"),
        (name = "storage", description = "Putaway, bins, moves, counts, holds, expiry, stock and the ledger"),
        (name = "inspection", description = "ISO 2859-1 sampling and switching, inspection templates, inspections, evidence files, dispositions, reports"),
    )
)]
struct ApiDoc;

/// The generated OpenAPI document, serialised once at start-up.
pub struct ApiDocument {
    pub doc: OpenApiDoc,
    pub json: String,
}

/// The OpenAPI document: the routes' own annotations, plus the bearer scheme
/// and the problem responses every operation can give.
pub fn openapi() -> OpenApiDoc {
    let (_, mut doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes)
        .split_for_parts();
    document_access_and_problems(&mut doc);
    examples::attach(&mut doc);
    doc
}

pub fn api_document() -> ApiDocument {
    let doc = openapi();
    let json = doc.to_json().unwrap_or_else(|_| "{}".into());
    ApiDocument { doc, json }
}

/// Operations under `/api/v1` (but the document itself) need a bearer token.
/// Every operation may answer the listed problems; writing that on each
/// handler would repeat it forty times.
fn document_access_and_problems(doc: &mut OpenApiDoc) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("A depot token: `Authorization: Bearer dpt_…`"))
                .build(),
        ),
    );
    for (path, item) in doc.paths.paths.iter_mut() {
        let secured = path.starts_with("/api/v1/") && path != "/api/v1/openapi.json";
        let operations = [
            (false, item.get.as_mut()),
            (true, item.post.as_mut()),
            (true, item.put.as_mut()),
            (true, item.patch.as_mut()),
            (true, item.delete.as_mut()),
        ];
        for (writes, op) in operations {
            let Some(op) = op else { continue };
            if secured {
                op.security = Some(vec![SecurityRequirement::new(
                    "bearer",
                    Vec::<String>::new(),
                )]);
            }
            add_problem_responses(op, secured, writes);
        }
    }
}

fn add_problem_responses(op: &mut Operation, secured: bool, writes: bool) {
    let has_body = op.request_body.is_some();
    let mut statuses = vec![
        ("400", "The request could not be read"),
        (
            "404",
            "No such resource (or another merchant's or carrier's)",
        ),
        ("422", "Invalid fields"),
        ("500", "Internal error"),
        ("503", "The database is busy or unreachable; retry"),
    ];
    if secured {
        statuses.push(("401", "No valid bearer token"));
        statuses.push(("403", "The token's role may not do this"));
    }
    // Any write may meet a state that forbids it (the last admin token,
    // a cancelled order), body or not.
    if writes {
        statuses.push(("409", "Conflicts with existing data or the object's state"));
    }
    if has_body {
        statuses.push(("413", "Body too large"));
        statuses.push(("415", "Body is not JSON"));
    }
    for (status, description) in statuses {
        if op.responses.responses.contains_key(status) {
            continue;
        }
        let response = ResponseBuilder::new()
            .description(description)
            .content(
                PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build();
        op.responses
            .responses
            .insert(status.to_string(), response.into());
    }
}

/// Shared state handed to every worker.
#[derive(Clone)]
pub struct AppState {
    pub pool: web::Data<DbPool>,
    pub metrics: web::Data<Metrics>,
    pub document: web::Data<ApiDocument>,
    pub route_table: web::Data<RouteTable>,
    /// The query parameters of each operation, from the document.
    pub declared_queries: web::Data<declared::DeclaredQueries>,
    /// Where files (evidence) are kept: `DEPOT_DATA_DIR`.
    pub data_dir: web::Data<DataDir>,
    /// The writer that ingests single-order pushes together.
    pub order_queue: web::Data<OrderQueue>,
    /// The warehouse's GS1 keys (`DEPOT_GS1_COMPANY_PREFIX`, …).
    pub warehouse: web::Data<Warehouse>,
    /// `DEPOT_SHIP_BY_HOURS`, for bulk pushes (the writer has its own copy).
    pub ship_by_hours: web::Data<ShipByHours>,
    /// The label fonts (`DEPOT_LABEL_FONT`, `DEPOT_LABEL_ZPL_FONT`).
    pub labels: web::Data<LabelSettings>,
}

/// The data directory, for handlers that store files.
#[derive(Debug, Clone)]
pub struct DataDir(pub std::path::PathBuf);

impl AppState {
    pub fn new(pool: DbPool, config: &Config, labels: LabelSettings) -> AppState {
        let document = api_document();
        let route_table = RouteTable::from_openapi(&document.doc, PAGES);
        let declared_queries = declared::DeclaredQueries::from_openapi(&document.doc);
        let ship_by_hours = config.ship_by_hours.clone();
        AppState {
            declared_queries: web::Data::new(declared_queries),
            order_queue: web::Data::new(OrderQueue::start(pool.clone(), ship_by_hours.clone())),
            ship_by_hours: web::Data::new(ship_by_hours),
            pool: web::Data::new(pool),
            metrics: web::Data::new(Metrics::default()),
            document: web::Data::new(document),
            route_table: web::Data::new(route_table),
            data_dir: web::Data::new(DataDir(config.data_dir.clone())),
            warehouse: web::Data::new(config.warehouse.clone()),
            labels: web::Data::new(labels),
        }
    }
}

/// The application: routes, extractor configuration and middleware.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .into_utoipa_app()
        .configure(routes)
        .into_app()
        .app_data(state.pool)
        .app_data(state.order_queue)
        .app_data(state.ship_by_hours)
        .app_data(state.metrics)
        .app_data(state.document)
        .app_data(state.route_table)
        .app_data(state.declared_queries)
        .app_data(state.data_dir)
        .app_data(state.warehouse)
        .app_data(state.labels)
        .app_data(body::query_config())
        .app_data(body::path_config())
        .route("/docs", web::get().to(ops::docs))
        .route("/problems/{code}", web::get().to(problems::problem_page))
        .route("/p/{token}", web::get().to(share::page))
        .default_service(web::to(problems::no_route))
        // Innermost first: authentication, the refusal of query parameters an
        // operation does not declare (after authentication, so that 401 comes
        // first), then problem rewriting, then the
        // request log line, then metrics (outermost, so that it times and
        // counts everything).
        .wrap(from_fn(declared::refuse_undeclared))
        .wrap(from_fn(auth::authenticate))
        .wrap(ErrorHandlers::new().default_handler(problems::ensure_problem))
        .wrap(from_fn(access_log::record))
        .wrap(from_fn(metrics::record))
}
