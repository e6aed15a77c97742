//! What the broker exposes to Prometheus and orchestrators over HTTP (`metrics_listen`):
//! `/metrics` (the text exposition format, computed when scraped from the state the broker
//! keeps, plus per-API request counters and per-partition traffic counters: relaxed atomic
//! adds on the request path), `/health/live` and `/health/ready` (ready once the
//! coordinators' internal topics are replayed).

mod http;
mod render;
mod requests;

pub use http::{serve, MetricsEndpoint};
pub use render::render;
pub use requests::{api_name, Histogram, RequestStats};
