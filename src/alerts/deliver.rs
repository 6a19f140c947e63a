//! Putting one message through one channel: e-mail over SMTP (lettre, rustls with ring),
//! a JSON POST to a webhook, or a heartbeat ping. Blocking, with timeouts; errors never carry
//! the secret address or password.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message, SmtpTransport, Transport};

use super::event::{Event, Sender, WebhookBody};
use super::settings::{Channel, ChannelKind, ChannelSecret, Tls};

/// How long one delivery may take (a mail server that does not answer is given up on).
const TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("the mail server refused or could not be reached: {0}")]
    Smtp(#[source] lettre::transport::smtp::Error),
    #[error("the e-mail address is not valid: {0}")]
    Address(#[source] lettre::address::AddressError),
    #[error("the e-mail could not be written: {0}")]
    Message(#[source] lettre::error::Error),
    /// The error without its address (the address may hold a token).
    #[error("the address could not be reached: {0}")]
    Http(#[source] reqwest::Error),
    #[error("the receiver answered HTTP {0}")]
    Status(u16),
    #[error("the secret of channel {0} is missing from alerts-secrets.toml; add the channel again")]
    NoSecret(String),
    #[error("the message could not be written as JSON: {0}")]
    Json(#[source] serde_json::Error),
    #[error("cannot start the network client: {}", crate::fsutil::plain_io(.0))]
    Runtime(#[source] std::io::Error),
}

/// Sends through channels; one per sending thread (it owns a small async runtime for HTTP).
pub struct Deliverer {
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
    sender: Sender,
}

impl Deliverer {
    pub fn new(sender: Sender) -> Result<Deliverer, DeliveryError> {
        // The TLS provider reqwest and lettre share (the off-site S3 code installs the same).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(DeliveryError::Runtime)?;
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent(concat!("Backroom/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| DeliveryError::Http(e.without_url()))?;
        Ok(Deliverer {
            runtime,
            http,
            sender,
        })
    }

    /// Tells `event` through `channel` (a heartbeat channel gets a good ping for a test).
    pub fn message(
        &self,
        channel: &Channel,
        secret: Option<&ChannelSecret>,
        event: &Event,
    ) -> Result<(), DeliveryError> {
        match &channel.kind {
            ChannelKind::Email(email) => {
                let password = secret.map(|s| s.password.clone()).unwrap_or_default();
                let to = &email.to;
                let from = if email.from.is_empty() {
                    to
                } else {
                    &email.from
                };
                let mail = Message::builder()
                    .from(from.parse().map_err(DeliveryError::Address)?)
                    .to(to.parse().map_err(DeliveryError::Address)?)
                    .subject(format!("[Backroom] {}", event.title))
                    .header(ContentType::TEXT_PLAIN)
                    .body(format!(
                        "{}\n\n{}\n\n-- \nBackroom at {}, {}\n",
                        event.title,
                        event.message,
                        self.sender.label(),
                        crate::timefmt::local(event.at)
                    ))
                    .map_err(DeliveryError::Message)?;
                let smtp_host = &email.smtp_host;
                let builder = match email.tls {
                    Tls::Tls => SmtpTransport::relay(smtp_host).map_err(DeliveryError::Smtp)?,
                    Tls::Starttls => {
                        SmtpTransport::starttls_relay(smtp_host).map_err(DeliveryError::Smtp)?
                    }
                    Tls::None => SmtpTransport::builder_dangerous(smtp_host),
                };
                let mut builder = builder.port(email.smtp_port).timeout(Some(TIMEOUT));
                if !email.user.is_empty() {
                    builder = builder.credentials(Credentials::new(email.user.clone(), password));
                }
                builder
                    .build()
                    .send(&mail)
                    .map(|_| ())
                    .map_err(DeliveryError::Smtp)
            }
            ChannelKind::Webhook { .. } => {
                let url = secret_url(channel, secret)?;
                let body = serde_json::to_vec(&WebhookBody::new(event, &self.sender))
                    .map_err(DeliveryError::Json)?;
                self.send(
                    self.http
                        .post(url)
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(body),
                )
            }
            ChannelKind::Heartbeat { .. } => self.ping(channel, secret, true),
        }
    }

    /// Calls a heartbeat channel's address (`/fail` appended when `good` is false).
    pub fn ping(
        &self,
        channel: &Channel,
        secret: Option<&ChannelSecret>,
        good: bool,
    ) -> Result<(), DeliveryError> {
        let mut url = reqwest::Url::parse(secret_url(channel, secret)?)
            .map_err(|_| DeliveryError::NoSecret(channel.name.clone()))?;
        if !good {
            let path = format!("{}/fail", url.path().trim_end_matches('/'));
            url.set_path(&path);
        }
        self.send(self.http.get(url))
    }

    fn send(&self, request: reqwest::RequestBuilder) -> Result<(), DeliveryError> {
        let response = self
            .runtime
            // Inside the runtime: the request's timeout needs its timer.
            .block_on(async { request.send().await })
            .map_err(|e| DeliveryError::Http(e.without_url()))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(DeliveryError::Status(status.as_u16()))
        }
    }
}

fn secret_url<'a>(
    channel: &Channel,
    secret: Option<&'a ChannelSecret>,
) -> Result<&'a str, DeliveryError> {
    secret
        .map(|s| s.url.as_str())
        .filter(|u| !u.is_empty())
        .ok_or_else(|| DeliveryError::NoSecret(channel.name.clone()))
}
