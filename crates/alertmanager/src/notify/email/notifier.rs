//! The email notifier: one SMTP session per notification, as upstream's
//! `notify/email` runs it.
//!
//! The session: connect (implicit TLS when `force_implicit_tls` says so or, unset, on port
//! 465); say hello as `hello` when set; unless on implicit TLS, `require_tls` (default true)
//! demands `STARTTLS` and upgrades; when the server offers `AUTH` and `auth_username` is set,
//! the first of the server's mechanisms we have credentials for (`CRAM-MD5` with
//! `auth_secret(_file)`, `PLAIN` and `LOGIN` with `auth_password(_file)`); `MAIL` from the
//! one rendered `from` address, `RCPT` to each rendered `to` address; `DATA` with the headers
//! (`Subject`, `To`, `From` and user headers rendered as text templates), `Message-Id`,
//! threading headers, `Date`, and a `multipart/alternative` body with the `text` part then
//! the `html` part (rendered with HTML escaping); `QUIT`.
//!
//! Errors are upstream's: configuration and template problems fail without retry, every
//! SMTP or network failure is retried. Differences: headers are written in name order
//! (upstream's order is Go's random map order), and templates are all rendered before
//! `MAIL`, so a template error never leaves an empty message at the server.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::message::{self, Part};
use super::smtp::{self, Auth, Client};
use super::{address, tls};

use bongsu_gotmpl::alertmanager::NotificationTemplates;

use super::config::EmailConfig;
use crate::notify::{notification_data, Deliver, NotifyContext, NotifyError, Render};
use crate::types::Alert;

/// Upstream's default subject when no `Subject` header is configured.
const DEFAULT_SUBJECT: &str = r#"{{ template "email.default.subject" . }}"#;

pub struct Email {
    conf: EmailConfig,
    /// Header name → value template, with `Subject`, `To` and `From` filled in.
    headers: BTreeMap<String, String>,
    templates: Arc<NotificationTemplates>,
    /// The domain of `Message-Id`s.
    hostname: String,
}

/// What one notification sends, rendered before the session needs it.
struct Rendered {
    from: String,
    to: Vec<String>,
    message: Vec<u8>,
}

impl Email {
    pub fn new(conf: EmailConfig, templates: Arc<NotificationTemplates>) -> Email {
        let mut headers = conf.headers.clone();
        headers
            .entry("Subject".into())
            .or_insert_with(|| DEFAULT_SUBJECT.into());
        headers
            .entry("To".into())
            .or_insert_with(|| conf.to.clone());
        headers
            .entry("From".into())
            .or_insert_with(|| conf.from.clone());
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost.localdomain".into());
        Email {
            conf,
            headers,
            templates,
            hostname,
        }
    }

    async fn send(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let implicit = self
            .conf
            .force_implicit_tls
            .unwrap_or(self.conf.smarthost.port == "465");
        let mut client = self.connect(implicit).await?;
        let result = self.session(&mut client, ctx, alerts, implicit).await;
        if let Err(e) = client.quit().await {
            if result.is_ok() {
                tracing::warn!(error = %e, "failed to close SMTP connection");
            }
        }
        result
    }

    async fn connect(&self, implicit: bool) -> Result<Client, NotifyError> {
        let addr = self.conf.smarthost.to_string();
        let host = &self.conf.smarthost.host;
        let prefix = if implicit {
            "establish TLS connection to server"
        } else {
            "establish connection to server"
        };
        let tls = if implicit { Some(self.tls()?) } else { None };
        let tcp = smtp::dial(&addr)
            .await
            .map_err(|e| NotifyError::transient(format!("{prefix}: dial tcp {addr}: {e}")))?;
        let client = match tls {
            Some((config, name)) => {
                let stream = tokio::time::timeout(
                    smtp::IO_TIMEOUT,
                    tokio_rustls::TlsConnector::from(config).connect(name, tcp),
                )
                .await
                .map_err(|_| NotifyError::transient(format!("{prefix}: TLS handshake timed out")))?
                .map_err(|e| NotifyError::transient(format!("{prefix}: {e}")))?;
                Client::new(stream, host, true).await
            }
            None => Client::new(tcp, host, false).await,
        };
        client.map_err(|e| NotifyError::transient(format!("create SMTP client: {e}")))
    }

    /// The TLS settings of the connection; a bad `tls_config` is permanent.
    fn tls(
        &self,
    ) -> Result<
        (
            Arc<rustls::ClientConfig>,
            rustls::pki_types::ServerName<'static>,
        ),
        NotifyError,
    > {
        let conf = self.conf.tls_config.clone().unwrap_or_default();
        let parse = |e: String| NotifyError::permanent(format!("parse TLS configuration: {e}"));
        let config = tls::client_config(&conf).map_err(parse)?;
        let name = tls::server_name(&conf, &self.conf.smarthost.host).map_err(parse)?;
        Ok((config, name))
    }

    async fn session(
        &self,
        c: &mut Client,
        ctx: &NotifyContext,
        alerts: &[Alert],
        implicit: bool,
    ) -> Result<(), NotifyError> {
        let transient = |what: &str| {
            let what = what.to_string();
            move |e: String| NotifyError::transient(format!("{what}: {e}"))
        };
        if !self.conf.hello.is_empty() {
            c.hello_as(&self.conf.hello)
                .await
                .map_err(transient("send EHLO command"))?;
        }
        if self.conf.require_tls.unwrap_or(true) && !implicit {
            if c.extension("STARTTLS").await.is_none() {
                return Err(NotifyError::transient(format!(
                    "'require_tls' is true (default) but {:?} does not advertise the STARTTLS extension",
                    self.conf.smarthost.to_string()
                )));
            }
            let (config, name) = self.tls()?;
            c.starttls(config, name)
                .await
                .map_err(transient("send STARTTLS command"))?;
        }
        if let Some(mechs) = c.extension("AUTH").await {
            let auth = self
                .auth(&mechs)
                .map_err(transient("find auth mechanism"))?;
            if let Some(auth) = auth {
                let what = format!("{} auth", auth.go_type());
                c.auth(&auth).await.map_err(transient(&what))?;
            }
        }
        let r = self.render(ctx, alerts)?;
        c.mail(&r.from)
            .await
            .map_err(transient("send MAIL command"))?;
        for to in &r.to {
            c.rcpt(to).await.map_err(transient("send RCPT command"))?;
        }
        c.data().await.map_err(transient("send DATA command"))?;
        c.send_message(&r.message)
            .await
            .map_err(transient("delivery failure"))
    }

    /// Upstream's choice among the server's `AUTH` mechanisms, in the server's order: none
    /// without a username, else the first we have credentials for, else every reason why not.
    fn auth(&self, mechs: &str) -> Result<Option<Auth>, String> {
        let c = &self.conf;
        if c.auth_username.is_empty() {
            tracing::debug!("smtp_auth_username is not configured. Attempting to send email without authenticating");
            return Ok(None);
        }
        let username = c.auth_username.clone();
        let mut errs = Vec::new();
        for mech in mechs.split(' ') {
            let (secret, what) = match mech {
                "CRAM-MD5" => (
                    read_credential(c.auth_secret.expose(), &c.auth_secret_file, false),
                    "secret",
                ),
                "PLAIN" | "LOGIN" => (
                    read_credential(c.auth_password.expose(), &c.auth_password_file, true),
                    "password",
                ),
                other => {
                    errs.push(format!("unknown auth mechanism: {other}"));
                    continue;
                }
            };
            let secret = match secret {
                Ok(s) if s.is_empty() => {
                    errs.push(format!("missing {what} for {mech} auth mechanism"));
                    continue;
                }
                Ok(s) => s,
                Err(e) => {
                    errs.push(e);
                    continue;
                }
            };
            let username = username.clone();
            return Ok(Some(match mech {
                "CRAM-MD5" => Auth::CramMd5 { username, secret },
                "PLAIN" => Auth::Plain {
                    identity: c.auth_identity.clone(),
                    username,
                    password: secret,
                    host: c.smarthost.host.clone(),
                },
                _ => Auth::Login {
                    username,
                    password: secret,
                },
            }));
        }
        Err(errs.join("\n"))
    }

    /// The envelope and the message, or the permanent error upstream gives for a bad
    /// template or address.
    fn render(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<Rendered, NotifyError> {
        let data = notification_data(ctx, alerts);
        let render = Render::new(&self.templates, &data);
        let from = render
            .try_text(&self.conf.from)
            .map_err(fail::<bongsu_gotmpl::Error>(
                "execute 'from' template".into(),
            ))?;
        let to = render
            .try_text(&self.conf.to)
            .map_err(fail::<bongsu_gotmpl::Error>("execute 'to' template".into()))?;
        let from_addrs =
            address::parse_list(&from).map_err(fail::<String>("parse 'from' addresses".into()))?;
        let [from] = <[String; 1]>::try_from(from_addrs).map_err(|v| {
            NotifyError::permanent(format!(
                "must be exactly one 'from' address (got: {})",
                v.len()
            ))
        })?;
        let to = address::parse_list(&to).map_err(fail::<String>("parse 'to' addresses".into()))?;

        let mut headers = Vec::with_capacity(self.headers.len() + 3);
        for (name, tmpl) in &self.headers {
            let value = render
                .try_text(tmpl)
                .map_err(fail::<bongsu_gotmpl::Error>(format!(
                    "execute {name:?} header template"
                )))?;
            headers.push((name.clone(), value));
        }
        let now = jiff::ZonedDateTime::now();
        if !self.headers.contains_key("Message-Id") {
            let nanos = now.timestamp().as_nanosecond();
            let id = format!("<{nanos}.{}@{}>", rand::random::<u64>(), self.hostname);
            headers.push(("Message-Id".into(), id));
        }
        if self.conf.threading.enabled {
            let day = if self.conf.threading.thread_by_date == "none" {
                String::new()
            } else {
                now.strftime("%Y-%m-%d").to_string()
            };
            let root = format!("<alert-{}-{day}@alertmanager>", key_hash(&ctx.group_key));
            headers.push(("References".into(), root.clone()));
            headers.push(("In-Reply-To".into(), root));
        }
        let mut parts = Vec::new();
        if !self.conf.text.is_empty() {
            let body = render
                .try_text(&self.conf.text)
                .map_err(fail::<bongsu_gotmpl::Error>("execute text template".into()))?;
            parts.push(Part {
                content_type: "text/plain; charset=UTF-8",
                body,
            });
        }
        if !self.conf.html.is_empty() {
            let body = render
                .try_html(&self.conf.html)
                .map_err(fail::<bongsu_gotmpl::Error>("execute html template".into()))?;
            parts.push(Part {
                content_type: "text/html; charset=UTF-8",
                body,
            });
        }
        let date = now.strftime("%a, %d %b %Y %H:%M:%S %z").to_string();
        let message = message::build(&headers, &date, &message::boundary(), &parts);
        Ok(Rendered { from, to, message })
    }
}

/// Wraps an error of kind `E` as a permanent failure while doing `what`.
fn fail<E: std::fmt::Display>(what: String) -> impl Fn(E) -> NotifyError {
    move |e| NotifyError::permanent(format!("{what}: {e}"))
}

/// A password (trimmed, as upstream trims `auth_password_file`) or secret (not trimmed),
/// from its file when one is set.
fn read_credential(
    inline: &str,
    file: &Option<std::path::PathBuf>,
    trim: bool,
) -> Result<String, String> {
    match file {
        Some(path) => std::fs::read_to_string(path)
            .map(|s| if trim { s.trim().to_string() } else { s })
            .map_err(|e| format!("could not read {}: {e}", path.display())),
        None => Ok(inline.to_string()),
    }
}

/// The first 16 hex digits of the group key's SHA-256 (upstream's thread id).
fn key_hash(key: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
    digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Deliver for Email {
    async fn deliver(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        self.send(ctx, alerts).await
    }
}
