//! An SMTP client with the behaviour of Go's `net/smtp` that upstream's email notifier
//! relies on: the greeting, `EHLO` with a `HELO` fallback sent once and remembered, the
//! extension list in the server's order, `STARTTLS`, the `AUTH` exchange of Go's `PLAIN`
//! (which refuses an unencrypted connection unless the server is local), `CRAM-MD5` and
//! upstream's `LOGIN`, `MAIL`/`RCPT`/`DATA` with dot-stuffing, and `QUIT`. Errors read as
//! Go's (`535 5.7.8 Authentication failed`).
//!
//! Every read and write is bounded in time ([`IO_TIMEOUT`]) and replies in size.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The longest any single read or write may take.
pub const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// The most bytes of one reply (all its lines).
const MAX_REPLY_BYTES: usize = 64 << 10;
/// The most round trips of one `AUTH` exchange.
const MAX_AUTH_STEPS: usize = 8;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// An authentication mechanism with its credentials.
pub enum Auth {
    Plain {
        identity: String,
        username: String,
        password: String,
        host: String,
    },
    CramMd5 {
        username: String,
        secret: String,
    },
    Login {
        username: String,
        password: String,
    },
}

impl Auth {
    /// Go's `%T` of the matching `smtp.Auth`, which upstream puts in its error.
    pub fn go_type(&self) -> &'static str {
        match self {
            Auth::Plain { .. } => "*smtp.plainAuth",
            Auth::CramMd5 { .. } => "*smtp.cramMD5Auth",
            Auth::Login { .. } => "*email.loginAuth",
        }
    }
}

/// One SMTP session.
pub struct Client {
    conn: Option<BufReader<Box<dyn Io>>>,
    /// The host name the server is known by (for `PLAIN`'s checks).
    server_name: String,
    local_name: String,
    tls: bool,
    /// `None` until the first hello; then its outcome.
    hello: Option<Result<(), String>>,
    /// Extensions in the server's order, as written, with their parameters.
    ext: Vec<(String, String)>,
}

impl Client {
    /// Reads the greeting (Go's `smtp.NewClient`) on `stream`, plain or already TLS.
    pub async fn new<S>(stream: S, server_name: &str, tls: bool) -> Result<Client, String>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let mut c = Client {
            conn: Some(BufReader::new(Box::new(stream))),
            server_name: server_name.to_string(),
            local_name: "localhost".to_string(),
            tls,
            hello: None,
            ext: Vec::new(),
        };
        c.read_reply(220).await?;
        Ok(c)
    }

    /// Go's `Hello`: says hello now with `name` instead of `localhost`.
    pub async fn hello_as(&mut self, name: &str) -> Result<(), String> {
        if name.contains(['\r', '\n']) {
            return Err("smtp: A line must not contain CR or LF".into());
        }
        self.local_name = name.to_string();
        self.hello().await
    }

    async fn hello(&mut self) -> Result<(), String> {
        if let Some(r) = &self.hello {
            return r.clone();
        }
        let r = match self.ehlo().await {
            Ok(()) => Ok(()),
            Err(_) => {
                let name = self.local_name.clone();
                self.cmd(250, &format!("HELO {name}")).await.map(|_| ())
            }
        };
        self.hello = Some(r.clone());
        r
    }

    async fn ehlo(&mut self) -> Result<(), String> {
        let name = self.local_name.clone();
        let msg = self.cmd(250, &format!("EHLO {name}")).await?;
        self.ext = msg
            .lines()
            .skip(1)
            .map(|l| match l.split_once(' ') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (l.to_string(), String::new()),
            })
            .collect();
        Ok(())
    }

    /// Go's `Extension`: whether the server advertised `name`, and its parameters; false
    /// when hello failed. As in Go, the server's keyword must be in upper case.
    pub async fn extension(&mut self, name: &str) -> Option<String> {
        self.hello().await.ok()?;
        let name = name.to_ascii_uppercase();
        self.ext
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    }

    /// Go's `StartTLS`: the command, the handshake, and hello again.
    pub async fn starttls(
        &mut self,
        config: Arc<rustls::ClientConfig>,
        server_name: rustls::pki_types::ServerName<'static>,
    ) -> Result<(), String> {
        self.hello().await?;
        self.cmd(220, "STARTTLS").await?;
        let conn = self.conn.take().ok_or("connection closed")?.into_inner();
        let tls = tokio::time::timeout(
            IO_TIMEOUT,
            tokio_rustls::TlsConnector::from(config).connect(server_name, conn),
        )
        .await
        .map_err(|_| "TLS handshake timed out".to_string())?
        .map_err(|e| e.to_string())?;
        self.conn = Some(BufReader::new(Box::new(tls)));
        self.tls = true;
        self.ehlo().await
    }

    /// Go's `Auth`: runs the exchange of `auth`; on a failed step sends `*` and quits.
    pub async fn auth(&mut self, auth: &Auth) -> Result<(), String> {
        self.hello().await?;
        let (mech, first) = match auth {
            Auth::Plain {
                identity,
                username,
                password,
                host,
            } => {
                let local = ["localhost", "127.0.0.1", "::1"].contains(&self.server_name.as_str());
                let err = if !self.tls && !local {
                    Some("unencrypted connection")
                } else if self.server_name != *host {
                    Some("wrong host name")
                } else {
                    None
                };
                if let Some(e) = err {
                    let _ = self.quit().await;
                    return Err(e.into());
                }
                ("PLAIN", format!("{identity}\0{username}\0{password}"))
            }
            Auth::CramMd5 { .. } => ("CRAM-MD5", String::new()),
            Auth::Login { .. } => ("LOGIN", String::new()),
        };
        let line = format!("AUTH {mech} {}", B64.encode(first));
        let (mut code, mut msg) = self.cmd_any(line.trim()).await?;
        for _ in 0..MAX_AUTH_STEPS {
            let step = match code {
                334 => B64
                    .decode(msg.trim())
                    .map_err(|e| e.to_string())
                    .and_then(|challenge| next(auth, &challenge, true)),
                235 => next(auth, msg.as_bytes(), false),
                _ => Err(format!("{code:03} {msg}")),
            };
            let resp = match step {
                Ok(Some(resp)) => resp,
                Ok(None) => return Ok(()),
                Err(e) => {
                    let _ = self.cmd(501, "*").await;
                    let _ = self.quit().await;
                    return Err(e);
                }
            };
            (code, msg) = self.cmd_any(&B64.encode(resp)).await?;
        }
        Err("smtp: too many authentication steps".into())
    }

    /// `MAIL FROM`, with `BODY=8BITMIME` and `SMTPUTF8` when the server offers them.
    pub async fn mail(&mut self, from: &str) -> Result<(), String> {
        check_line(from)?;
        self.hello().await?;
        let mut line = format!("MAIL FROM:<{from}>");
        if self.has_ext("8BITMIME") {
            line.push_str(" BODY=8BITMIME");
        }
        if self.has_ext("SMTPUTF8") {
            line.push_str(" SMTPUTF8");
        }
        self.cmd(250, &line).await.map(|_| ())
    }

    pub async fn rcpt(&mut self, to: &str) -> Result<(), String> {
        check_line(to)?;
        self.cmd(25, &format!("RCPT TO:<{to}>")).await.map(|_| ())
    }

    /// `DATA`: the server's go-ahead.
    pub async fn data(&mut self) -> Result<(), String> {
        self.cmd(354, "DATA").await.map(|_| ())
    }

    /// Sends the message (dot-stuffed, bare LF as CRLF, as Go's `DotWriter`) and its end,
    /// and waits for the server to accept it.
    pub async fn send_message(&mut self, msg: &[u8]) -> Result<(), String> {
        let mut out = Vec::with_capacity(msg.len() + msg.len() / 64 + 8);
        let mut line_start = true;
        let mut prev = 0u8;
        for &b in msg {
            if line_start && b == b'.' {
                out.push(b'.');
            }
            if b == b'\n' && prev != b'\r' {
                out.push(b'\r');
            }
            out.push(b);
            line_start = b == b'\n';
            prev = b;
        }
        if !line_start {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        self.write(&out).await?;
        self.read_reply(250).await.map(|_| ())
    }

    /// `QUIT` and close.
    pub async fn quit(&mut self) -> Result<(), String> {
        let r = self.cmd(221, "QUIT").await.map(|_| ());
        if let Some(mut conn) = self.conn.take() {
            let _ = tokio::time::timeout(IO_TIMEOUT, conn.shutdown()).await;
        }
        r
    }

    fn has_ext(&self, name: &str) -> bool {
        self.ext.iter().any(|(k, _)| k == name)
    }

    async fn cmd(&mut self, expect: u16, line: &str) -> Result<String, String> {
        self.write(format!("{line}\r\n").as_bytes()).await?;
        self.read_reply(expect).await
    }

    async fn cmd_any(&mut self, line: &str) -> Result<(u16, String), String> {
        self.write(format!("{line}\r\n").as_bytes()).await?;
        self.read_any().await
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        let conn = self.conn.as_mut().ok_or("connection closed")?;
        let io = async {
            conn.get_mut().write_all(bytes).await?;
            conn.get_mut().flush().await
        };
        tokio::time::timeout(IO_TIMEOUT, io)
            .await
            .map_err(|_| "i/o timeout".to_string())?
            .map_err(|e| e.to_string())
    }

    /// A reply whose code must match `expect` as Go's `textproto` checks it (one digit:
    /// the class; two: the first two digits; three: exactly).
    async fn read_reply(&mut self, expect: u16) -> Result<String, String> {
        let (code, msg) = self.read_any().await?;
        let ok = match expect {
            1..=9 => code / 100 == expect,
            10..=99 => code / 10 == expect,
            _ => code == expect,
        };
        if ok {
            Ok(msg)
        } else {
            Err(format!("{code:03} {msg}"))
        }
    }

    /// A whole reply: its code and its lines' texts joined by `\n`.
    async fn read_any(&mut self) -> Result<(u16, String), String> {
        let conn = self.conn.as_mut().ok_or("connection closed")?;
        let mut code = None;
        let mut msg = String::new();
        let mut lines = 0;
        let mut total = 0;
        loop {
            let mut line = Vec::new();
            let n = tokio::time::timeout(IO_TIMEOUT, async {
                let mut limited = (&mut *conn).take((MAX_REPLY_BYTES - total + 1) as u64);
                limited.read_until(b'\n', &mut line).await
            })
            .await
            .map_err(|_| "i/o timeout".to_string())?
            .map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("EOF".into());
            }
            total += n;
            if total > MAX_REPLY_BYTES {
                return Err(format!("reply longer than {MAX_REPLY_BYTES} bytes"));
            }
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\r', '\n']);
            let bad = || format!("short response: {line}");
            if line.len() < 3 || !line.is_char_boundary(3) {
                return Err(bad());
            }
            let this: u16 = line[..3].parse().map_err(|_| bad())?;
            if code.is_some_and(|c| c != this) {
                return Err(format!("bad response code: {line}"));
            }
            code = Some(this);
            let (more, text) = match line.as_bytes().get(3) {
                Some(b'-') => (true, &line[4..]),
                Some(b' ') => (false, &line[4..]),
                None => (false, ""),
                Some(_) => return Err(bad()),
            };
            if lines > 0 {
                msg.push('\n');
            }
            msg.push_str(text);
            lines += 1;
            if !more {
                return Ok((this, msg));
            }
        }
    }
}

/// The next client response of an `AUTH` exchange (Go's `Auth.Next`): `None` when done.
fn next(auth: &Auth, challenge: &[u8], more: bool) -> Result<Option<Vec<u8>>, String> {
    if !more {
        return Ok(None);
    }
    match auth {
        Auth::Plain { .. } => Err("unexpected server challenge".into()),
        Auth::CramMd5 { username, secret } => {
            let mac = hmac_md5(secret.as_bytes(), challenge);
            let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
            Ok(Some(format!("{username} {hex}").into_bytes()))
        }
        Auth::Login { username, password } => {
            match String::from_utf8_lossy(challenge).to_lowercase().as_str() {
                "username:" => Ok(Some(username.clone().into_bytes())),
                "password:" => Ok(Some(password.clone().into_bytes())),
                _ => Err("unexpected server challenge".into()),
            }
        }
    }
}

/// HMAC-MD5 (RFC 2104), for `CRAM-MD5`.
fn hmac_md5(key: &[u8], data: &[u8]) -> [u8; 16] {
    use md5::{Digest, Md5};
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..16].copy_from_slice(&Md5::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |x: u8| k.map(|b| b ^ x);
    let inner = Md5::new()
        .chain_update(pad(0x36))
        .chain_update(data)
        .finalize();
    Md5::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

fn check_line(s: &str) -> Result<(), String> {
    if s.contains(['\r', '\n']) {
        Err("smtp: A line must not contain CR or LF".into())
    } else {
        Ok(())
    }
}

/// Opens the TCP connection of a session.
pub async fn dial(addr: &str) -> std::io::Result<TcpStream> {
    match tokio::time::timeout(IO_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(r) => r,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "i/o timeout",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::hmac_md5;

    /// RFC 2202's HMAC-MD5 test cases 2 and 6 (checked with Go's crypto/hmac).
    #[test]
    fn hmac_md5_vectors() {
        let hex = |b: [u8; 16]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        assert_eq!(
            hex(hmac_md5(b"Jefe", b"what do ya want for nothing?")),
            "750c783e6ab0b503eaa86e310a5db738"
        );
        assert_eq!(
            hex(hmac_md5(
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"
        );
    }
}
