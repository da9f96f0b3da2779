//! Building HTTP clients from [`HttpClientConfig`] and adding its credentials to requests.

use thiserror::Error;

use crate::{read_secret_file, HttpClientConfig, TlsVersion};

/// A credential file named in the settings could not be read.
#[derive(Debug, Error)]
#[error("cannot read {what}: {source}")]
pub struct CredentialError {
    what: String,
    source: std::io::Error,
}

/// The HTTP client of a scrape job, an Alertmanager or a receiver, from its TLS, proxy and
/// redirect settings; `compression` asks for gzip-encoded answers.
pub fn client(http: &HttpClientConfig, compression: bool) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder();
    if !http.follow_redirects {
        b = b.redirect(reqwest::redirect::Policy::none());
    }
    if !compression {
        b = b.no_gzip();
    }
    if !http.enable_http2 {
        b = b.http1_only();
    }
    let tls = &http.tls_config;
    if !tls.server_name.is_empty() {
        return Err("tls_config.server_name is not supported by bongsu yet".into());
    }
    if tls.insecure_skip_verify {
        b = b.danger_accept_invalid_certs(true);
    }
    let pem = |inline: &str,
               file: &Option<std::path::PathBuf>,
               what: &str|
     -> Result<Option<Vec<u8>>, String> {
        match file {
            Some(f) => std::fs::read(f)
                .map(Some)
                .map_err(|e| format!("cannot read {what} {}: {e}", f.display())),
            None if inline.is_empty() => Ok(None),
            None => Ok(Some(inline.as_bytes().to_vec())),
        }
    };
    if let Some(ca) = pem(&tls.ca, &tls.ca_file, "ca_file")? {
        for cert in reqwest::Certificate::from_pem_bundle(&ca)
            .map_err(|e| format!("bad CA certificate: {e}"))?
        {
            b = b.add_root_certificate(cert);
        }
    }
    let cert = pem(&tls.cert, &tls.cert_file, "cert_file")?;
    let key = pem(tls.key.expose(), &tls.key_file, "key_file")?;
    match (cert, key) {
        (Some(mut cert), Some(key)) => {
            cert.push(b'\n');
            cert.extend_from_slice(&key);
            let id = reqwest::Identity::from_pem(&cert)
                .map_err(|e| format!("bad client certificate or key: {e}"))?;
            b = b.identity(id);
        }
        (None, None) => {}
        _ => return Err("tls_config needs both a client certificate and its key".into()),
    }
    let version = |v: TlsVersion| match v {
        TlsVersion::Tls10 => reqwest::tls::Version::TLS_1_0,
        TlsVersion::Tls11 => reqwest::tls::Version::TLS_1_1,
        TlsVersion::Tls12 => reqwest::tls::Version::TLS_1_2,
        TlsVersion::Tls13 => reqwest::tls::Version::TLS_1_3,
    };
    if let Some(v) = tls.min_version {
        b = b.min_tls_version(version(v));
    }
    if let Some(v) = tls.max_version {
        b = b.max_tls_version(version(v));
    }
    match &http.proxy_url {
        Some(url) => {
            let mut proxy =
                reqwest::Proxy::all(url.as_str()).map_err(|e| format!("bad proxy_url: {e}"))?;
            if let Some(np) = &http.no_proxy {
                proxy = proxy.no_proxy(reqwest::NoProxy::from_string(np));
            }
            b = b.proxy(proxy);
        }
        None if !http.proxy_from_environment => b = b.no_proxy(),
        None => {}
    }
    b.build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// Adds the basic auth, authorization and custom headers of `http` to a request.
pub fn with_auth(
    http: &HttpClientConfig,
    mut req: reqwest::RequestBuilder,
) -> Result<reqwest::RequestBuilder, CredentialError> {
    let io = |what: &str, source: std::io::Error| CredentialError {
        what: what.to_string(),
        source,
    };
    if let Some(b) = &http.basic_auth {
        let user = b.username().map_err(|e| io("basic_auth username", e))?;
        let pass = b.password().map_err(|e| io("basic_auth password", e))?;
        req = req.basic_auth(user, Some(pass.expose().to_string()));
    }
    if let Some(a) = &http.authorization {
        let creds = a
            .credentials()
            .map_err(|e| io("authorization credentials", e))?;
        req = req.header(
            reqwest::header::AUTHORIZATION,
            format!("{} {}", a.kind, creds.expose()),
        );
    }
    for (name, h) in &http.http_headers {
        for v in &h.values {
            req = req.header(name.as_str(), v.as_str());
        }
        for s in &h.secrets {
            req = req.header(name.as_str(), s.expose());
        }
        for f in &h.files {
            let v = read_secret_file(f).map_err(|e| io(&f.display().to_string(), e))?;
            req = req.header(name.as_str(), v.expose());
        }
    }
    Ok(req)
}
