//! The background sender of webhook deliveries: `depot serve` starts one per
//! process ([`Sender::start`]) and stops it after the HTTP server
//! ([`Sender::stop`]). Every poll it claims the due deliveries
//! ([`super::claim`]), POSTs them at once, each within the configured
//! timeout, and records the outcomes ([`super::record`]).
//!
//! Before connecting, the receiver's host is resolved here and every
//! address it resolves to is checked ([`check_resolved`]); the request then
//! goes to that checked address (`Host` and TLS SNI still name the host),
//! so a name that resolves to a private address is never connected to,
//! whenever it started to. Redirects are not followed: a 3xx is a failed
//! attempt.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use actix_web::rt::time::{sleep, timeout};
use awc::http::header;
use futures_util::future::join_all;
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use tokio::sync::watch;

use super::{Attempt, Claimed, Outcome, RetryPolicy};
use crate::config::WebhookSettings;
use crate::db::{self, DbPool};
use crate::domain::webhooks::{check_resolved, signature, HostKind, WebhookUrl};

/// Deliveries claimed per poll; a full batch polls again at once.
const BATCH: i64 = 32;
/// Where Linux distributions keep their CA bundle (Debian/Ubuntu, Fedora/
/// RHEL, openSUSE, Alpine), tried in turn when `DEPOT_WEBHOOK_CA_FILE` is
/// `auto` and `SSL_CERT_FILE` is unset.
const CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// The running sender of this process.
pub struct Sender {
    stop: watch::Sender<bool>,
    task: actix_web::rt::task::JoinHandle<()>,
}

impl Sender {
    /// Starts the sender on the current actix runtime; `None` when
    /// `DEPOT_WEBHOOK_POLL_MS=0` turns it off for this instance.
    pub fn start(pool: DbPool, settings: &WebhookSettings) -> Option<Sender> {
        let poll = settings.poll?;
        let client = client(settings);
        let (stop, stopped) = watch::channel(false);
        let worker = Worker {
            pool,
            client,
            poll,
            timeout: settings.timeout,
            policy: RetryPolicy {
                max_attempts: settings.max_attempts,
                backoff: settings.backoff,
            },
        };
        let task = actix_web::rt::spawn(worker.run(stopped));
        Some(Sender { stop, task })
    }

    /// Stops polling and waits for the attempts in flight (each bounded by
    /// the timeout) to be recorded.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if self.task.await.is_err() {
            log::error!("the webhook sender did not stop cleanly");
        }
    }
}

/// The HTTP client: TLS verified against the CA bundle, no redirects, the
/// timeout on the whole request.
fn client(settings: &WebhookSettings) -> awc::Client {
    let mut connector = awc::Connector::new().timeout(settings.timeout);
    match tls(settings.ca_file.as_deref()) {
        Ok(tls) => connector = connector.openssl(tls),
        Err(e) => log::error!("webhooks: https receivers will fail: {e}"),
    }
    awc::Client::builder()
        .connector(connector)
        .timeout(settings.timeout)
        .disable_redirects()
        .add_default_header((header::USER_AGENT, "depot-webhooks/1"))
        .finish()
}

/// An OpenSSL client context that verifies the receiver's certificate
/// chain against `ca_file` (or the system's bundle) and its name (actix-tls
/// sets SNI and the host-name check per connection).
fn tls(ca_file: Option<&Path>) -> Result<SslConnector, String> {
    let ca_file = match ca_file {
        Some(path) => path.to_path_buf(),
        None => system_ca_file().ok_or_else(|| {
            format!(
                "no CA bundle found (looked at SSL_CERT_FILE and {}); set DEPOT_WEBHOOK_CA_FILE",
                CA_BUNDLES.join(", ")
            )
        })?,
    };
    let mut builder =
        SslConnector::builder(SslMethod::tls_client()).map_err(|e| format!("OpenSSL: {e}"))?;
    builder
        .set_ca_file(&ca_file)
        .map_err(|e| format!("cannot read CA file {}: {e}", ca_file.display()))?;
    builder.set_verify(SslVerifyMode::PEER);
    // One request per delivery: HTTP/1.1 is all a receiver needs.
    builder
        .set_alpn_protos(b"\x08http/1.1")
        .map_err(|e| format!("OpenSSL ALPN: {e}"))?;
    Ok(builder.build())
}

fn system_ca_file() -> Option<PathBuf> {
    std::env::var_os("SSL_CERT_FILE")
        .map(PathBuf::from)
        .into_iter()
        .chain(CA_BUNDLES.iter().map(PathBuf::from))
        .find(|p| p.is_file())
}

struct Worker {
    pool: DbPool,
    client: awc::Client,
    poll: Duration,
    timeout: Duration,
    policy: RetryPolicy,
}

impl Worker {
    async fn run(self, mut stopped: watch::Receiver<bool>) {
        // A claim outlives any attempt: DNS and the request are each bounded
        // by the timeout; the rest is slack for a slow database.
        let lease = self.timeout * 2 + Duration::from_secs(30);
        log::info!("webhook sender polling every {:?}", self.poll);
        loop {
            if *stopped.borrow() {
                break;
            }
            let claimed = db::run(&self.pool, move |c| super::claim(c, lease, BATCH)).await;
            let full = match claimed {
                Ok(claimed) => {
                    let full = claimed.len() as i64 == BATCH;
                    self.send_all(claimed).await;
                    full
                }
                Err(e) => {
                    log::warn!("webhooks: cannot claim deliveries: {e}");
                    false
                }
            };
            if full {
                continue;
            }
            tokio::select! {
                _ = sleep(self.poll) => {}
                _ = stopped.changed() => {}
            }
        }
        log::info!("webhook sender stopped");
    }

    async fn send_all(&self, claimed: Vec<Claimed>) {
        if claimed.is_empty() {
            return;
        }
        let attempts: Vec<Attempt> = join_all(claimed.into_iter().map(|d| async move {
            let outcome = self.send(&d).await;
            match &outcome {
                Outcome::Delivered { status } => {
                    log::info!("webhook {} {} delivered ({status})", d.id, d.event)
                }
                Outcome::Failed { error, .. } => log::warn!(
                    "webhook {} {} attempt {} failed: {error}",
                    d.id,
                    d.event,
                    d.attempts
                ),
            }
            Attempt {
                id: d.id,
                lease: d.lease,
                attempts: d.attempts,
                outcome,
            }
        }))
        .await;
        let policy = self.policy;
        if let Err(e) = db::run(&self.pool, move |c| super::record(c, &attempts, policy)).await {
            // The leases run out and the deliveries are tried again.
            log::error!("webhooks: cannot record attempts: {e}");
        }
    }

    async fn send(&self, d: &Claimed) -> Outcome {
        let give_up = |error: String| Outcome::Failed {
            status: None,
            error,
            retry: false,
        };
        let retry = |error: String| Outcome::Failed {
            status: None,
            error,
            retry: true,
        };
        let url = match WebhookUrl::parse(&d.url) {
            Ok(url) => url,
            Err(e) => return give_up(format!("the URL {e}")),
        };
        let address = match self.resolve(&url).await {
            Ok(address) => address,
            Err(Refusal::Never(e)) => return give_up(e),
            Err(Refusal::NotNow(e)) => return retry(e),
        };
        let t = chrono::Utc::now().timestamp();
        let request = self
            .client
            .post(&url.url)
            .address(address)
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .insert_header(("Depot-Delivery", d.id.as_str()))
            .insert_header(("Depot-Event", d.event.as_str()))
            .insert_header(("Depot-Signature", signature(&d.secret, t, &d.payload)));
        match request.send_body(d.payload.clone()).await {
            Ok(response) if response.status().is_success() => Outcome::Delivered {
                status: response.status().as_u16(),
            },
            Ok(response) => Outcome::Failed {
                status: Some(response.status().as_u16()),
                error: format!("the receiver answered {}", response.status()),
                retry: true,
            },
            Err(e) => retry(format!("no answer: {e}")),
        }
    }

    /// The checked address to connect to.
    async fn resolve(&self, url: &WebhookUrl) -> Result<SocketAddr, Refusal> {
        let port = url.port;
        let addresses: Vec<IpAddr> = match url.host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => {
                let host = url.host.clone();
                let lookup = actix_web::rt::task::spawn_blocking(move || {
                    (host.as_str(), port)
                        .to_socket_addrs()
                        .map(|found| found.map(|a| a.ip()).collect::<Vec<_>>())
                });
                match timeout(self.timeout, lookup).await {
                    Ok(Ok(Ok(found))) => found,
                    Ok(Ok(Err(e))) => {
                        return Err(Refusal::NotNow(format!("cannot resolve {}: {e}", url.host)))
                    }
                    Ok(Err(_)) | Err(_) => {
                        return Err(Refusal::NotNow(format!(
                            "resolving {} took longer than {:?}",
                            url.host, self.timeout
                        )))
                    }
                }
            }
        };
        if addresses.is_empty() {
            return Err(Refusal::NotNow(format!("{} has no address", url.host)));
        }
        // Every address must pass, not just the one used: a name that also
        // resolves inside is refused whole.
        for ip in &addresses {
            if let Err(e) = check_resolved(url, *ip) {
                // A literal cannot change; a name may point elsewhere later,
                // but this attempt never connects.
                return Err(match url.host_kind {
                    HostKind::Name => Refusal::NotNow(e),
                    _ => Refusal::Never(e),
                });
            }
        }
        // One address is connected to: an IPv4 one when there is one (a
        // receiver on `localhost` mostly listens on 127.0.0.1).
        let chosen = addresses
            .iter()
            .find(|ip| ip.is_ipv4())
            .unwrap_or(&addresses[0]);
        Ok(SocketAddr::new(*chosen, port))
    }
}

enum Refusal {
    /// Give up the delivery.
    Never(String),
    /// Fail this attempt; the next may find otherwise.
    NotNow(String),
}
