//! An SMTP server for tests: EHLO/HELO, STARTTLS or implicit TLS with a self-signed
//! certificate made at start, AUTH PLAIN/LOGIN/CRAM-MD5 against one user, MAIL/RCPT/DATA;
//! records each accepted message and can be told to fail a session at a chosen step.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use parking_lot::Mutex;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// Every wait of a session is bounded by this.
const IO_LIMIT: Duration = Duration::from_secs(10);

/// How the server behaves.
#[derive(Clone, Default)]
pub struct SmtpOptions {
    /// Offer STARTTLS.
    pub starttls: bool,
    /// TLS from the first byte.
    pub implicit_tls: bool,
    /// The mechanisms listed after `AUTH` (none: no AUTH extension).
    pub auth: Vec<&'static str>,
    pub user: &'static str,
    /// The password of PLAIN and LOGIN and the secret of CRAM-MD5.
    pub password: &'static str,
}

/// The step at which a scripted session fails.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Step {
    Greeting,
    Mail,
    Rcpt,
    Data,
    /// The end of the message.
    End,
}

/// A session's failure: the reply to give at `step`, or `None` to close the connection.
#[derive(Clone, Debug)]
pub struct Fault {
    pub step: Step,
    pub reply: Option<&'static str>,
}

/// One accepted message.
#[derive(Debug, Clone, Default)]
pub struct Received {
    pub hello: String,
    /// Whether the message came over TLS.
    pub tls: bool,
    /// The mechanism and user of a successful AUTH.
    pub auth: Option<(String, String)>,
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message with line ends as sent and dot-stuffing undone.
    pub data: String,
}

pub struct SmtpServer {
    pub addr: SocketAddr,
    /// The server certificate (PEM), to trust it as a CA.
    pub cert_pem: String,
    pub messages: mpsc::UnboundedReceiver<Received>,
    /// Sessions opened so far.
    pub sessions: Arc<AtomicUsize>,
}

struct Shared {
    opts: SmtpOptions,
    faults: Mutex<VecDeque<Option<Fault>>>,
    tls: tokio_rustls::TlsAcceptor,
    tx: mpsc::UnboundedSender<Received>,
}

impl SmtpServer {
    /// Starts a server on 127.0.0.1; session `i` fails as `faults[i]` says (`None`: not).
    pub async fn start(opts: SmtpOptions, faults: Vec<Option<Fault>>) -> SmtpServer {
        let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
            .expect("self-signed certificate");
        let cert_pem = cert.cert.pem();
        let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der())
            .expect("key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .expect("server config");
        let (tx, messages) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            opts,
            faults: Mutex::new(faults.into()),
            tls: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
            tx,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sessions = Arc::new(AtomicUsize::new(0));
        let count = sessions.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let shared = shared.clone();
                tokio::spawn(async move {
                    let fault = shared.faults.lock().pop_front().flatten();
                    let _ = tokio::time::timeout(IO_LIMIT * 3, session(shared, tcp, fault)).await;
                });
            }
        });
        SmtpServer {
            addr,
            cert_pem,
            messages,
            sessions,
        }
    }

    /// The next accepted message.
    pub async fn next(&mut self, limit: Duration) -> Received {
        tokio::time::timeout(limit, self.messages.recv())
            .await
            .expect("a message in time")
            .expect("server running")
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

struct Conn {
    io: BufReader<Box<dyn Io>>,
}

impl Conn {
    async fn line(&mut self) -> Option<String> {
        let mut s = String::new();
        match tokio::time::timeout(IO_LIMIT, self.io.read_line(&mut s)).await {
            Ok(Ok(n)) if n > 0 => Some(s.trim_end_matches(['\r', '\n']).to_string()),
            _ => None,
        }
    }

    async fn send(&mut self, reply: &str) -> Option<()> {
        let w = self.io.get_mut();
        w.write_all(format!("{reply}\r\n").as_bytes()).await.ok()?;
        w.flush().await.ok()
    }
}

/// Runs one session; `None` when the client or a fault ended it early.
async fn session(
    shared: Arc<Shared>,
    tcp: tokio::net::TcpStream,
    fault: Option<Fault>,
) -> Option<()> {
    let opts = &shared.opts;
    let mut tls = opts.implicit_tls;
    let io: Box<dyn Io> = if tls {
        Box::new(shared.tls.accept(tcp).await.ok()?)
    } else {
        Box::new(tcp)
    };
    let mut c = Conn {
        io: BufReader::new(io),
    };
    let fail = |step: Step| fault.as_ref().filter(|f| f.step == step).map(|f| f.reply);
    if let Some(reply) = fail(Step::Greeting) {
        c.send(reply?).await?;
        return None;
    }
    c.send("220 test.local ESMTP ready").await?;
    let mut msg = Received::default();
    loop {
        let line = c.line().await?;
        let upper = line.to_ascii_uppercase();
        let verb = upper.split(' ').next().unwrap_or_default().to_string();
        match verb.as_str() {
            "EHLO" => {
                msg.hello = line[5..].to_string();
                let mut ext = vec!["250-test.local", "250-8BITMIME"];
                if opts.starttls && !tls {
                    ext.push("250-STARTTLS");
                }
                let auth = format!("250-AUTH {}", opts.auth.join(" "));
                if !opts.auth.is_empty() {
                    ext.push(&auth);
                }
                ext.push("250 SIZE 10240000");
                c.send(&ext.join("\r\n")).await?;
            }
            "HELO" => {
                msg.hello = line[5..].to_string();
                c.send("250 test.local").await?;
            }
            "STARTTLS" if opts.starttls && !tls => {
                c.send("220 go ahead").await?;
                let inner = c.io.into_inner();
                c = Conn {
                    io: BufReader::new(Box::new(shared.tls.accept(inner).await.ok()?)),
                };
                tls = true;
            }
            "AUTH" => {
                let args: Vec<&str> = line.split(' ').skip(1).collect();
                let mech = args
                    .first()
                    .copied()
                    .unwrap_or_default()
                    .to_ascii_uppercase();
                if authenticate(&mut c, opts, &mech, args.get(1).copied()).await? {
                    msg.auth = Some((mech, opts.user.to_string()));
                    c.send("235 2.7.0 Authentication successful").await?;
                } else {
                    c.send("535 5.7.8 Authentication credentials invalid")
                        .await?;
                }
            }
            "MAIL" => {
                if let Some(reply) = fail(Step::Mail) {
                    c.send(reply?).await?;
                    continue;
                }
                msg.mail_from = between(&line, '<', '>');
                c.send("250 2.1.0 Ok").await?;
            }
            "RCPT" => {
                if let Some(reply) = fail(Step::Rcpt) {
                    c.send(reply?).await?;
                    continue;
                }
                msg.rcpt_to.push(between(&line, '<', '>'));
                c.send("250 2.1.5 Ok").await?;
            }
            "DATA" => {
                if let Some(reply) = fail(Step::Data) {
                    c.send(reply?).await?;
                    continue;
                }
                c.send("354 End data with <CR><LF>.<CR><LF>").await?;
                let mut data = String::new();
                loop {
                    let mut raw = String::new();
                    let n = tokio::time::timeout(IO_LIMIT, c.io.read_line(&mut raw))
                        .await
                        .ok()?
                        .ok()?;
                    if n == 0 {
                        return None;
                    }
                    if raw == ".\r\n" {
                        break;
                    }
                    data.push_str(raw.strip_prefix('.').unwrap_or(&raw));
                }
                if let Some(reply) = fail(Step::End) {
                    c.send(reply?).await?;
                    continue;
                }
                msg.data = data;
                msg.tls = tls;
                let _ = shared.tx.send(msg.clone());
                c.send("250 2.0.0 Ok: queued").await?;
            }
            "QUIT" => {
                c.send("221 2.0.0 Bye").await?;
                return Some(());
            }
            "*" => c.send("501 5.7.0 Authentication aborted").await?,
            _ => c.send("502 5.5.2 Error: command not recognized").await?,
        }
    }
}

/// Runs the exchange of `mech`; whether the credentials are right.
async fn authenticate(
    c: &mut Conn,
    opts: &SmtpOptions,
    mech: &str,
    initial: Option<&str>,
) -> Option<bool> {
    let decode =
        |s: &str| String::from_utf8(B64.decode(s.trim()).unwrap_or_default()).unwrap_or_default();
    match mech {
        "PLAIN" => {
            let creds = decode(initial.unwrap_or_default());
            let parts: Vec<&str> = creds.split('\0').collect();
            Some(parts.len() == 3 && parts[1] == opts.user && parts[2] == opts.password)
        }
        "LOGIN" => {
            c.send(&format!("334 {}", B64.encode("Username:"))).await?;
            let user = decode(&c.line().await?);
            c.send(&format!("334 {}", B64.encode("Password:"))).await?;
            let pass = decode(&c.line().await?);
            Some(user == opts.user && pass == opts.password)
        }
        "CRAM-MD5" => {
            let challenge = "<1896.697170952@test.local>";
            c.send(&format!("334 {}", B64.encode(challenge))).await?;
            let answer = decode(&c.line().await?);
            let want = format!(
                "{} {}",
                opts.user,
                hex(&hmac_md5(opts.password.as_bytes(), challenge.as_bytes()))
            );
            Some(answer == want)
        }
        _ => Some(false),
    }
}

fn between(s: &str, open: char, close: char) -> String {
    s.split_once(open)
        .and_then(|(_, r)| r.split_once(close))
        .map(|(m, _)| m.to_string())
        .unwrap_or_default()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn hmac_md5(key: &[u8], data: &[u8]) -> Vec<u8> {
    use md5::{Digest, Md5};
    let mut k = [0u8; 64];
    k[..key.len()].copy_from_slice(key);
    let pad = |x: u8| k.map(|b| b ^ x);
    let inner = Md5::new()
        .chain_update(pad(0x36))
        .chain_update(data)
        .finalize();
    Md5::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}
