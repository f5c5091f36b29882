//! Metrics: every request counted and timed by route template, method and status, through the
//! [`metrics`] facade (so any recorder a host installs receives them, beside the library's own
//! in [`helpdesk_core::metrics`]); and, with the `prometheus` feature, [`Metrics`]: the
//! Prometheus recorder and a `GET /metrics` route in the text exposition format.

use std::time::Instant;

use axum::extract::{MatchedPath, OriginalUri, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use crate::extract::mount_point;

/// Seconds from a request reaching its route to its answer, by `method`, `route` (the path
/// template under the API's mount point, such as `/tickets/{id}`, or `unmatched`) and
/// `status` (histogram). Its `_count` series counts the requests: one series, not a
/// histogram and a counter, keeps the cost per request to one update.
pub const HTTP_DURATION: &str = "helpdesk_http_request_duration_seconds";

/// Gives every metric of the API and of the library its help text in the installed recorder.
pub fn describe() {
    helpdesk_core::metrics::describe();
    metrics::describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "Time to answer a request, by method, route and status (_count: the requests)."
    );
}

/// Counts and times one request. Labels never carry what a client wrote: the route is the
/// matched template, and methods outside HTTP's usual ones are `other`.
pub(crate) async fn record(request: Request, next: Next) -> Response {
    let route = match request.extensions().get::<MatchedPath>() {
        Some(matched) => {
            // Without the mount point (`/api`), however the request reached the route.
            let original = request.extensions().get::<OriginalUri>();
            let mount = original.map_or("", |o| mount_point(o.path(), request.uri().path()));
            let matched = matched.as_str();
            matched.strip_prefix(mount).unwrap_or(matched).to_owned()
        }
        None => "unmatched".to_owned(),
    };
    let method = match *request.method() {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = [
        ("method", method.to_owned()),
        ("route", route),
        ("status", response.status().as_str().to_owned()),
    ];
    metrics::histogram!(HTTP_DURATION, &labels).record(started.elapsed().as_secs_f64());
    response
}

#[cfg(feature = "prometheus")]
pub use prometheus::Metrics;

#[cfg(feature = "prometheus")]
mod prometheus {
    use axum::Router;
    use axum::http::header;
    use axum::response::IntoResponse;
    use axum::routing::get;
    use helpdesk_core::Helpdesk;
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

    use super::{HTTP_DURATION, describe};
    use crate::ConfigError;

    /// How often recorded samples are folded into their buckets.
    const UPKEEP: std::time::Duration = std::time::Duration::from_secs(5);

    /// The request-time buckets, in seconds: from half a millisecond to the default timeout.
    const BUCKETS: &[f64] = &[
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ];

    /// The Prometheus side of the metrics: the recorder's handle, rendering the text
    /// exposition format for scrapers. Cheap to clone.
    ///
    /// ```no_run
    /// # fn demo(helpdesk: helpdesk_core::Helpdesk) -> Result<(), helpdesk_axum::ConfigError> {
    /// let metrics = helpdesk_axum::Metrics::install()?; // once per process
    /// let app = axum::Router::new()
    ///     .nest("/api", helpdesk_axum::router(helpdesk.clone()))
    ///     .merge(metrics.router(helpdesk)); // GET /metrics
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct Metrics {
        handle: PrometheusHandle,
    }

    impl Metrics {
        /// Installs a Prometheus recorder as the process's global `metrics` recorder, with
        /// buckets for the request-time histogram, every metric described, and a thread that
        /// folds recorded samples every 5 seconds. A process has one global recorder: a second
        /// call fails with [`ConfigError::Metrics`].
        pub fn install() -> Result<Self, ConfigError> {
            let failed = |e: &dyn std::fmt::Display| ConfigError::Metrics(e.to_string());
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.to_owned()), BUCKETS)
                .map_err(|e| failed(&e))?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).map_err(|e| failed(&e))?;
            describe();
            // Histograms keep every sample until upkeep folds them into their buckets: without
            // it, memory would grow with every request between scrapes.
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP);
                        upkeep.run_upkeep();
                    }
                })
                .map_err(|e| failed(&e))?;
            Ok(Self { handle })
        }

        /// Metrics over a recorder the host built and installed itself (and runs upkeep for:
        /// see `metrics_exporter_prometheus`).
        pub fn from_handle(handle: PrometheusHandle) -> Self {
            Self { handle }
        }

        /// Everything recorded, in the text exposition format, after reading the store's
        /// gauges ([`Helpdesk::record_gauges`]); a store that does not answer leaves them as
        /// they were and is logged.
        pub async fn render(&self, helpdesk: &Helpdesk) -> String {
            if let Err(error) = helpdesk.record_gauges().await {
                tracing::warn!(%error, "metrics: the store's gauges were not read");
            }
            self.handle.run_upkeep();
            self.handle.render()
        }

        /// `GET /metrics`, for a router of the host's (the standalone server mounts it at the
        /// root, or on an address of its own).
        pub fn router(&self, helpdesk: Helpdesk) -> Router {
            let metrics = self.clone();
            Router::new().route(
                "/metrics",
                get(move || async move {
                    let text = metrics.render(&helpdesk).await;
                    let kind = "text/plain; version=0.0.4; charset=utf-8";
                    ([(header::CONTENT_TYPE, kind)], text).into_response()
                }),
            )
        }
    }
}
