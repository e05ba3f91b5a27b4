//! The catalog service: product search (`GET /search`, step `catalog.search`) and product pages
//! (`GET /products/{id}`, step `product.load`) of the `browse` flow. One product id in 25 does
//! not exist (a 404, the customer's dead link, not a failure of the shop).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;

use crate::faults::Faults;

/// Why a catalog step failed.
#[derive(Debug)]
pub enum CatalogError {
    /// No such product.
    NotFound,
    /// The product index failed (an injected `--fail catalog=..`).
    IndexUnavailable,
}

impl flowtel::ErrorKind for CatalogError {
    fn kind(&self) -> &'static str {
        match self {
            CatalogError::NotFound => "not_found",
            CatalogError::IndexUnavailable => "index_unavailable",
        }
    }
}

/// The router, instrumented with flowtel's server layer.
pub fn app(telemetry: &flowtel::Telemetry, faults: Arc<Faults>) -> Router {
    Router::new()
        .route("/search", get(search))
        .route("/products/{id}", get(product))
        .with_state(faults)
        .layer(flowtel_tower::FlowServerLayer::new(telemetry))
}

fn respond(result: Result<&'static str, CatalogError>) -> (StatusCode, &'static str) {
    match result {
        Ok(body) => (StatusCode::OK, body),
        Err(CatalogError::NotFound) => (StatusCode::NOT_FOUND, "no such product"),
        Err(CatalogError::IndexUnavailable) => (StatusCode::INTERNAL_SERVER_ERROR, "index down"),
    }
}

async fn search(State(faults): State<Arc<Faults>>) -> (StatusCode, &'static str) {
    respond(catalog_search(&faults).await)
}

async fn product(
    State(faults): State<Arc<Faults>>,
    Path(id): Path<u64>,
) -> (StatusCode, &'static str) {
    respond(product_load(&faults, id).await)
}

/// Step `catalog.search`.
#[flowtel::step("catalog.search")]
async fn catalog_search(faults: &Faults) -> Result<&'static str, CatalogError> {
    tokio::time::sleep(Duration::from_millis(3) + faults.delay()).await;
    if faults.fails() {
        return Err(CatalogError::IndexUnavailable);
    }
    Ok("products")
}

/// Step `product.load`.
#[flowtel::step("product.load")]
async fn product_load(faults: &Faults, id: u64) -> Result<&'static str, CatalogError> {
    tokio::time::sleep(Duration::from_millis(1 + id % 3) + faults.delay()).await;
    if faults.fails() {
        Err(CatalogError::IndexUnavailable)
    } else if id.is_multiple_of(25) {
        Err(CatalogError::NotFound)
    } else {
        Ok("product")
    }
}
