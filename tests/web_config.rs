//! `--web.config.file` as Prometheus reads it (the exporter-toolkit format): TLS with a
//! certificate, client certificates verified or taken as given and checked against
//! `client_allowed_sans`, HTTP/2 offered unless turned off; basic authentication against
//! bcrypt hashes with the toolkit's 401; configured response headers; the rate limit's 429;
//! the file re-read when it changes; a bad file stops the start with the toolkit's message.

mod common;

use std::ffi::OsString;
use std::fs;
use std::path::Path;
use std::process::Command;

use common::server::{quiet_config, Server, BIN};
use reqwest::blocking::Client;
use reqwest::StatusCode;

struct Pki {
    ca: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
    /// Issued by the CA too, for `intruder.example`.
    intruder: String,
}

fn pki() -> Pki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let leaf = |names: Vec<String>| {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = leaf(vec!["127.0.0.1".into(), "localhost".into()]);
    let (client_cert, client_key) = leaf(vec!["client.example".into()]);
    let (intruder_cert, intruder_key) = leaf(vec!["intruder.example".into()]);
    Pki {
        ca: ca.pem(),
        server_cert,
        server_key,
        client_cert,
        client_key,
        intruder: format!("{intruder_cert}{intruder_key}"),
    }
}

fn write_pki(dir: &Path, p: &Pki) {
    fs::write(dir.join("ca.pem"), &p.ca).unwrap();
    fs::write(dir.join("server.pem"), &p.server_cert).unwrap();
    fs::write(dir.join("server.key"), &p.server_key).unwrap();
}

/// Starts bongsu with `web` as its web configuration; it is ready once `probe` answers 200 for
/// `/-/ready` over HTTPS.
fn start(dir: &Path, web: &str, probe: &Client, user: Option<(&str, &str)>) -> Server {
    let file = dir.join("web.yml");
    fs::write(&file, web).unwrap();
    let args: Vec<OsString> = vec![
        "--config.file".into(),
        quiet_config(dir).into(),
        "--storage.tsdb.path".into(),
        dir.join("data").into(),
        "--web.config.file".into(),
        file.into(),
    ];
    Server::spawn_until(args, dir.join("server.log"), |s| {
        let mut r = probe.get(format!("{}/-/ready", https(s)));
        if let Some((u, p)) = user {
            r = r.basic_auth(u, Some(p));
        }
        r.send().is_ok_and(|r| r.status() == StatusCode::OK)
    })
}

fn https(s: &Server) -> String {
    s.base.replace("http://", "https://")
}

fn https_client(p: &Pki, identity: bool) -> Client {
    client_with(
        p,
        identity.then(|| format!("{}{}", p.client_cert, p.client_key)),
    )
}

/// A client trusting the test CA, showing the certificate and key in `identity` if given.
fn client_with(p: &Pki, identity: Option<String>) -> Client {
    let mut b = Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(p.ca.as_bytes()).unwrap());
    if let Some(pem) = identity {
        b = b.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
    }
    b.build().unwrap()
}

/// A certificate and key for `name`, issued by a CA of its own (not the server's client CA).
fn stranger(name: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec![name.to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    format!("{}{}", cert.pem(), key.serialize_pem())
}

/// The protocol the server picks when a client offers HTTP/2 and HTTP/1.1.
fn negotiated_alpn(p: &Pki, base: &str) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(p.ca.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let addr = base.trim_start_matches("http://");
    let mut conn =
        rustls::ClientConnection::new(std::sync::Arc::new(config), "localhost".try_into().unwrap())
            .unwrap();
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).unwrap();
    }
    tcp.flush().unwrap();
    conn.alpn_protocol().map(<[u8]>::to_vec)
}

#[test]
fn tls_basic_auth_headers_and_reload() {
    let tmp = tempfile::tempdir().unwrap();
    let p = pki();
    write_pki(tmp.path(), &p);
    let alice = bcrypt::hash("wonderland", 4).unwrap();
    let web = format!(
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n\
         http_server_config:\n  headers:\n    X-Frame-Options: deny\n\
         basic_auth_users:\n  alice: {alice}\n"
    );
    let c = https_client(&p, false);
    let s = start(tmp.path(), &web, &c, Some(("alice", "wonderland")));
    let url = format!("{}/api/v1/status/buildinfo", https(&s));

    let r = c.get(&url).send().unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"], "Basic");
    assert_eq!(r.headers()["x-frame-options"], "deny");
    let r = c
        .get(&url)
        .basic_auth("alice", Some("nope"))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = c
        .get(&url)
        .basic_auth("alice", Some("wonderland"))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-frame-options"], "deny");
    // Plain HTTP on the TLS port is not served.
    let plain = Client::new().get(format!("{}/-/healthy", s.base)).send();
    assert!(!plain.is_ok_and(|r| r.status().is_success()));

    // The file changes: bob replaces alice, without a restart.
    let bob = bcrypt::hash("builder", 4).unwrap();
    let web = web.replace(&format!("alice: {alice}"), &format!("bob: {bob}"));
    fs::write(tmp.path().join("web.yml"), web).unwrap();
    s.wait_for("the new user", || {
        let r = c.get(&url).basic_auth("bob", Some("builder")).send().ok()?;
        (r.status() == StatusCode::OK).then_some(())
    });
    let r = c
        .get(&url)
        .basic_auth("alice", Some("wonderland"))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn client_certificates_are_required_and_verified() {
    let tmp = tempfile::tempdir().unwrap();
    let p = pki();
    write_pki(tmp.path(), &p);
    let web = "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  \
               client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n";
    let s = start(tmp.path(), web, &https_client(&p, true), None);
    let url = format!("{}/-/healthy", https(&s));
    assert!(https_client(&p, false).get(&url).send().is_err());
    let r = https_client(&p, true).get(&url).send().unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// The policies that take a client certificate without verifying it, and
/// `client_allowed_sans` over a verified one; each change applied by rewriting the file.
#[test]
fn unverified_client_certificates_and_allowed_sans() {
    let tmp = tempfile::tempdir().unwrap();
    let p = pki();
    write_pki(tmp.path(), &p);
    let tls = "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n";
    let s = start(
        tmp.path(),
        &format!("{tls}  client_auth_type: RequireAnyClientCert\n"),
        &client_with(&p, Some(stranger("anyone.example"))),
        None,
    );
    let url = format!("{}/-/healthy", https(&s));
    let ok = |c: &Client| {
        c.get(&url)
            .send()
            .is_ok_and(|r| r.status() == StatusCode::OK)
    };
    // Any certificate will do, none will not.
    assert!(ok(&client_with(&p, Some(stranger("anyone.example")))));
    assert!(!ok(&https_client(&p, false)));

    fs::write(
        tmp.path().join("web.yml"),
        format!("{tls}  client_auth_type: RequestClientCert\n"),
    )
    .unwrap();
    s.wait_for("RequestClientCert", || {
        ok(&https_client(&p, false)).then_some(())
    });
    assert!(ok(&client_with(&p, Some(stranger("anyone.example")))));

    fs::write(
        tmp.path().join("web.yml"),
        format!(
            "{tls}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n  \
             client_allowed_sans: [other.example, client.example]\n"
        ),
    )
    .unwrap();
    s.wait_for("client_allowed_sans", || {
        (!ok(&client_with(&p, Some(stranger("client.example"))))).then_some(())
    });
    // Issued by the CA and named as allowed: in. Issued by the CA under another name: out.
    assert!(ok(&https_client(&p, true)));
    assert!(!ok(&client_with(&p, Some(p.intruder.clone()))));
    assert!(!ok(&https_client(&p, false)));
}

#[test]
fn http2_is_offered_unless_turned_off() {
    let tmp = tempfile::tempdir().unwrap();
    let p = pki();
    write_pki(tmp.path(), &p);
    let tls = "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n";
    let s = start(tmp.path(), tls, &https_client(&p, false), None);
    assert_eq!(negotiated_alpn(&p, &s.base).as_deref(), Some(&b"h2"[..]));
    drop(s);
    let s = start(
        tmp.path(),
        &format!("{tls}http_server_config:\n  http2: false\n"),
        &https_client(&p, false),
        None,
    );
    assert_eq!(
        negotiated_alpn(&p, &s.base).as_deref(),
        Some(&b"http/1.1"[..])
    );
}

#[test]
fn requests_past_the_rate_limit_get_429() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("web.yml");
    // One token an hour: once the burst is spent, nothing more gets through in the test.
    fs::write(&file, "rate_limit:\n  interval: 1h\n  burst: 5\n").unwrap();
    let args: Vec<OsString> = vec![
        "--config.file".into(),
        quiet_config(tmp.path()).into(),
        "--storage.tsdb.path".into(),
        tmp.path().join("data").into(),
        "--web.config.file".into(),
        file.into(),
    ];
    let s = Server::spawn_until(args, tmp.path().join("server.log"), |s| {
        reqwest::blocking::get(format!("{}/-/ready", s.base))
            .is_ok_and(|r| r.status() == StatusCode::OK)
    });
    let statuses: Vec<StatusCode> = (0..6)
        .map(|_| {
            reqwest::blocking::get(format!("{}/-/healthy", s.base))
                .unwrap()
                .status()
        })
        .collect();
    let first = statuses
        .iter()
        .position(|&c| c == StatusCode::TOO_MANY_REQUESTS)
        .expect("the sixth request at the latest is over the burst of five");
    assert!(
        statuses[first..]
            .iter()
            .all(|&c| c == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let r = reqwest::blocking::get(format!("{}/api/v1/status/buildinfo", s.base)).unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.text().unwrap(), "Too Many Requests\n");
}

#[test]
fn a_bad_web_config_stops_the_start() {
    let tmp = tempfile::tempdir().unwrap();
    for (web, message) in [
        (
            "tls_server_config:\n  key_file: k\n",
            "missing one of cert or cert_file",
        ),
        (
            "tls_server_config:\n  cert_file: c\n  key_file: k\n  client_ca_file: ca\n",
            "client CA's have been configured without a Client Auth Policy",
        ),
        (
            "basic_auth_users:\n  eve: not-a-hash\n",
            "invalid bcrypt hash for user \"eve\"",
        ),
    ] {
        let file = tmp.path().join("web.yml");
        fs::write(&file, web).unwrap();
        let out = Command::new(BIN)
            .arg("--storage.tsdb.path")
            .arg(tmp.path().join("data"))
            .arg("--web.listen-address=127.0.0.1:0")
            .arg("--web.config.file")
            .arg(&file)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{err}");
        // `check web-config` says the same, as `promtool check web-config`.
        let out = Command::new(BIN)
            .args(["check", "web-config"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with(&format!("{} FAILED: ", file.display())) && err.contains(message),
            "{err}"
        );
    }
}
