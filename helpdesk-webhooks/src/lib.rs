//! # helpdesk-webhooks
//!
//! Webhook delivery over HTTP(S) for the helpdesk library: the [`HttpTransport`] a
//! [`WebhookDispatcher`](helpdesk_core::webhooks::WebhookDispatcher) posts signed events with.
//!
//! Every request resolves the subscription's host itself, checks every address against the
//! request's [`TargetPolicy`](helpdesk_core::webhooks::TargetPolicy), and connects only to an
//! address it checked, so a host that resolved to a public address when it was subscribed
//! cannot be turned to an internal one later (DNS rebinding). Redirects are never followed (a
//! `3xx` is a failed attempt), no proxy from the environment is used, and the whole request,
//! connection and TLS handshake included, is bounded by the dispatcher's timeout. TLS trusts
//! the Mozilla root certificates (webpki-roots) and speaks HTTP/1.1.
//!
//! ```no_run
//! # async fn demo(helpdesk: helpdesk_core::Helpdesk) -> helpdesk_core::Result<()> {
//! use std::time::Duration;
//! let webhooks = helpdesk
//!     .webhook_dispatcher()
//!     .with_transport(helpdesk_webhooks::HttpTransport::new()?)
//!     .spawn(Duration::from_secs(2));
//! # webhooks.shutdown().await; Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use helpdesk_core::BoxError;
use helpdesk_core::webhooks::{WebhookRequest, WebhookTransport};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HOST, USER_AGENT};
use hyper::rt::{Read, Write};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// Posts webhook requests over HTTP/1.1, with TLS for `https`; see the [crate] docs.
#[derive(Clone)]
pub struct HttpTransport {
    tls: TlsConnector,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTransport").finish_non_exhaustive()
    }
}

impl HttpTransport {
    /// A transport trusting the Mozilla root certificates.
    pub fn new() -> helpdesk_core::Result<Self> {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        Self::with_roots(roots)
    }

    /// A transport trusting `roots` only (an intranet's own certificate authority).
    pub fn with_roots(roots: RootCertStore) -> helpdesk_core::Result<Self> {
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| helpdesk_core::Error::Internal(format!("TLS setup: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self {
            tls: TlsConnector::from(Arc::new(config)),
        })
    }

    async fn send(&self, r: &WebhookRequest<'_>) -> Result<u16, BoxError> {
        let url = url::Url::parse(r.url)?;
        // The addresses connected to are the ones checked: nothing resolves the name again.
        let addrs = r.policy.resolve(&url).await?;
        let stream = connect(&addrs).await?;
        // `[::1]` in the Host header, `::1` as the TLS server name.
        let authority = url.host_str().ok_or("the URL names no host")?;
        let host = authority.trim_start_matches('[').trim_end_matches(']');
        let authority = match url.port() {
            Some(port) => format!("{authority}:{port}"),
            None => authority.to_owned(),
        };
        let path = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let request = hyper::Request::post(path)
            .header(HOST, authority)
            .header(CONTENT_TYPE, "application/json")
            .header(
                USER_AGENT,
                concat!("helpdesk-webhooks/", env!("CARGO_PKG_VERSION")),
            )
            .header("webhook-id", r.id)
            .header("webhook-timestamp", r.timestamp.to_string())
            .header("webhook-signature", r.signature)
            .body(Full::new(Bytes::copy_from_slice(r.body.as_bytes())))?;
        if url.scheme() == "https" {
            let name = ServerName::try_from(host.to_owned())?;
            let tls = self.tls.connect(name, stream).await?;
            exchange(TokioIo::new(tls), request).await
        } else {
            exchange(TokioIo::new(stream), request).await
        }
    }
}

#[async_trait]
impl WebhookTransport for HttpTransport {
    async fn post(&self, request: &WebhookRequest<'_>) -> Result<u16, BoxError> {
        match tokio::time::timeout(request.timeout, self.send(request)).await {
            Ok(answer) => answer,
            Err(_) => Err(format!("no answer within {:?}", request.timeout).into()),
        }
    }
}

/// Connects to the first address that answers.
async fn connect(addrs: &[SocketAddr]) -> Result<TcpStream, BoxError> {
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(error) => last = Some(error),
        }
    }
    Err(match last {
        Some(error) => error.into(),
        None => "no address to connect to".into(),
    })
}

/// Sends one request on a new connection; the answer's status (its body is not read).
async fn exchange<I>(io: I, request: hyper::Request<Full<Bytes>>) -> Result<u16, BoxError>
where
    I: Read + Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await?;
    let driver = tokio::spawn(connection);
    let answer = sender.send_request(request).await;
    driver.abort();
    Ok(answer?.status().as_u16())
}
