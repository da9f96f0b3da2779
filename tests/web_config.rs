//! `--web.config.file` as Prometheus reads it (the exporter-toolkit format): TLS with a
//! certificate and, optionally, verified client certificates; basic authentication against
//! bcrypt hashes with the toolkit's 401; configured response headers; the file re-read when
//! it changes; a bad file stops the start with the toolkit's message.

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
    Pki {
        ca: ca.pem(),
        server_cert,
        server_key,
        client_cert,
        client_key,
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
    let mut b = Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(p.ca.as_bytes()).unwrap());
    if identity {
        let pem = format!("{}{}", p.client_cert, p.client_key);
        b = b.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
    }
    b.build().unwrap()
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
