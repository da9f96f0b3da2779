//! Syslog targets on 127.0.0.1 with a free port: Promtail's target test over UDP, TCP with
//! octet counting and with newline framing, TLS with client certificates, and the real
//! `logger` (util-linux) and `loggen` (syslog-ng) when they are installed.

use std::sync::Arc;
use std::time::Duration;

use bongsu_logcollect::syslog::{SyslogConfig, SyslogMetrics, SyslogTarget};
use bongsu_logcollect::Entry;
use bongsu_relabel::RelabelConfig;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot};

/// Every wait in these tests is bounded by this.
const WAIT: Duration = Duration::from_secs(10);

const MESSAGES: [&str; 3] = [
    r#"<165>1 2018-10-11T22:14:15.003Z host5 e - id1 [custom@32473 exkey="1"] An application event log entry..."#,
    r#"<165>1 2018-10-11T22:14:15.005Z host5 e - id2 [custom@32473 exkey="2"] An application event log entry..."#,
    r#"<165>1 2018-10-11T22:14:15.007Z host5 e - id3 [custom@32473 exkey="3"] An application event log entry..."#,
];

const RELABEL: &str = "
- {source_labels: ['__syslog_message_severity'], target_label: 'severity'}
- {source_labels: ['__syslog_message_facility'], target_label: 'facility'}
- {source_labels: ['__syslog_message_hostname'], target_label: 'hostname'}
- {source_labels: ['__syslog_message_app_name'], target_label: 'app_name'}
- {source_labels: ['__syslog_message_proc_id'], target_label: 'proc_id'}
- {source_labels: ['__syslog_message_msg_id'], target_label: 'msg_id'}
- {source_labels: ['__syslog_message_sd_custom_32473_exkey'], target_label: 'sd_custom_exkey'}
- {source_labels: ['__syslog_connection_ip_address'], target_label: 'ip'}
- {source_labels: ['__syslog_connection_hostname'], target_label: 'peer'}
";

struct Running {
    addr: std::net::SocketAddr,
    rx: mpsc::Receiver<Entry>,
    metrics: Arc<SyslogMetrics>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    async fn recv(&mut self, n: usize) -> Vec<Entry> {
        let mut out = Vec::new();
        while out.len() < n {
            let e = tokio::time::timeout(WAIT, self.rx.recv())
                .await
                .expect("entries arrive in time")
                .expect("target still running");
            out.push(e);
        }
        out
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(WAIT, self.task)
            .await
            .unwrap()
            .unwrap();
    }
}

async fn start(config: &str, relabel: &str) -> Running {
    let config: SyslogConfig = serde_yaml_ng::from_str(config).unwrap();
    let mut rules: Vec<RelabelConfig> = serde_yaml_ng::from_str(relabel).unwrap();
    for r in &mut rules {
        r.validate(bongsu_relabel::NameValidationScheme::Utf8)
            .unwrap();
    }
    let metrics = Arc::new(SyslogMetrics::default());
    let target = SyslogTarget::bind(config, "syslog", rules, metrics.clone())
        .await
        .unwrap();
    let addr = target.local_addr().unwrap();
    let (tx, rx) = mpsc::channel(16);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(target.run(tx, async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        rx,
        metrics,
        stop: Some(stop),
        task,
    }
}

fn octet_counted(m: &str) -> String {
    format!("{} {m}", m.len())
}

fn newline(m: &str) -> String {
    format!("{m}\n")
}

fn check_promtail_entries(entries: &[Entry]) {
    let mut ids: Vec<String> = entries
        .iter()
        .map(|e| {
            assert_eq!(e.line, "An application event log entry...");
            assert!(
                e.ts > 1_700_000_000_000_000_000,
                "read time, not the message's"
            );
            let l = &e.labels;
            assert_eq!(l.get("test"), Some("syslog_target"));
            assert_eq!(l.get("severity"), Some("notice"));
            assert_eq!(l.get("facility"), Some("local4"));
            assert_eq!(l.get("hostname"), Some("host5"));
            assert_eq!(l.get("app_name"), Some("e"));
            assert_eq!(l.get("ip"), Some("127.0.0.1"));
            // Whatever 127.0.0.1 resolves to here, it is rooted as Go's LookupAddr roots it.
            assert!(l.get("peer").is_none_or(|p| p.ends_with('.')), "{l}");
            assert!(l.iter().all(|l| !l.name.starts_with("__")), "{l}");
            format!(
                "{}={}",
                l.get("msg_id").unwrap(),
                l.get("sd_custom_exkey").unwrap()
            )
        })
        .collect();
    ids.sort();
    assert_eq!(ids, ["id1=1", "id2=2", "id3=3"]);
}

const CONFIG: &str = "listen_address: 127.0.0.1:0\nlabel_structured_data: true\n\
    max_message_length: 4096\nlabels: {test: syslog_target}\n";

#[tokio::test]
async fn tcp_octet_counting_and_newline_framing() {
    for frame in [octet_counted as fn(&str) -> String, newline] {
        let mut t = start(CONFIG, RELABEL).await;
        let mut c = TcpStream::connect(t.addr).await.unwrap();
        for m in MESSAGES {
            c.write_all(frame(m).as_bytes()).await.unwrap();
        }
        c.shutdown().await.unwrap();
        check_promtail_entries(&t.recv(3).await);
        assert_eq!(t.metrics.entries(), 3);
        t.stop().await;
    }
}

#[tokio::test]
async fn udp_datagrams() {
    for frame in [octet_counted as fn(&str) -> String, newline] {
        let mut t = start(&format!("{CONFIG}listen_protocol: udp\n"), RELABEL).await;
        let c = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        for m in MESSAGES {
            c.send_to(frame(m).as_bytes(), t.addr).await.unwrap();
        }
        check_promtail_entries(&t.recv(3).await);
        t.stop().await;
    }
}

#[tokio::test]
async fn bad_and_long_messages_are_counted_and_the_connection_goes_on() {
    let mut t = start(
        "listen_address: 127.0.0.1:0\nmax_message_length: 64\n",
        "[]",
    )
    .await;
    let mut c = TcpStream::connect(t.addr).await.unwrap();
    let long = format!("<13>1 - - - - - - {}", "x".repeat(100));
    let body = [
        octet_counted("<13>1       bad"),
        octet_counted(&long),
        octet_counted("<13>1 - - - - - -"),
        octet_counted("<13>1 - - - - - - ok"),
    ]
    .concat();
    c.write_all(body.as_bytes()).await.unwrap();
    c.shutdown().await.unwrap();
    let e = t.recv(1).await;
    assert_eq!(e[0].line, "ok");
    assert_eq!(t.metrics.parsing_errors(), 2);
    assert_eq!(t.metrics.empty_messages(), 1);
    t.stop().await;
}

fn write_pki(dir: &std::path::Path) -> (String, String) {
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
    let (server_cert, server_key) = leaf(vec!["localhost".into()]);
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), server_cert).unwrap();
    std::fs::write(dir.join("server.key"), server_key).unwrap();
    leaf(vec!["client.example".into()])
}

fn tls_client(
    dir: &std::path::Path,
    client: Option<&(String, String)>,
) -> tokio_rustls::TlsConnector {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    let ca = std::fs::read(dir.join("ca.pem")).unwrap();
    for c in CertificateDer::pem_slice_iter(&ca) {
        roots.add(c.unwrap()).unwrap();
    }
    let b = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let config = match client {
        Some((cert, key)) => {
            let certs = CertificateDer::pem_slice_iter(cert.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            b.with_client_auth_cert(
                certs,
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap()
        }
        None => b.with_no_client_auth(),
    };
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

#[tokio::test]
async fn tls_with_client_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let client = write_pki(dir.path());
    let d = dir.path().display();
    let config = format!(
        "{CONFIG}tls_config: {{cert_file: {d}/server.pem, key_file: {d}/server.key, ca_file: {d}/ca.pem}}\n"
    );
    let mut t = start(&config, RELABEL).await;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();

    let tcp = TcpStream::connect(t.addr).await.unwrap();
    let mut c = tls_client(dir.path(), Some(&client))
        .connect(name.clone(), tcp)
        .await
        .unwrap();
    for m in MESSAGES {
        c.write_all(octet_counted(m).as_bytes()).await.unwrap();
    }
    c.shutdown().await.unwrap();
    check_promtail_entries(&t.recv(3).await);

    // Without a client certificate the handshake fails and nothing arrives.
    let tcp = TcpStream::connect(t.addr).await.unwrap();
    if let Ok(mut c) = tls_client(dir.path(), None).connect(name, tcp).await {
        let _ = c.write_all(octet_counted(MESSAGES[0]).as_bytes()).await;
        let _ = c.shutdown().await;
    }
    let nothing = tokio::time::timeout(Duration::from_millis(300), t.rx.recv()).await;
    assert!(
        nothing.is_err(),
        "an unauthenticated client's message arrived"
    );
    t.stop().await;
}

#[tokio::test]
async fn tls_needs_cert_and_key() {
    let config: SyslogConfig =
        serde_yaml_ng::from_str("listen_address: 127.0.0.1:0\ntls_config: {key_file: foo}")
            .unwrap();
    let err = SyslogTarget::bind(config, "j", Vec::new(), Arc::default())
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("certificate and key files are required"),
        "{err}"
    );
}

/// util-linux `logger`, RFC 5424 over TCP (octet counting) and RFC 3164 over UDP.
#[tokio::test]
async fn real_logger() {
    if std::process::Command::new("logger")
        .arg("--help")
        .output()
        .is_err()
    {
        eprintln!("logger is not installed: skipped");
        return;
    }
    let relabel = "- {action: labelmap, regex: '__syslog_message_(.*)'}";
    let cases = [
        (
            "listen_address: 127.0.0.1:0\n",
            vec!["--rfc5424", "--tcp", "--octet-count"],
        ),
        (
            "listen_address: 127.0.0.1:0\nlisten_protocol: udp\nsyslog_format: rfc3164\n",
            vec!["--rfc3164", "--udp"],
        ),
    ];
    for (config, args) in cases {
        let mut t = start(config, relabel).await;
        let mut logger = std::process::Command::new("logger");
        logger
            .args(&args)
            .args(["-n", "127.0.0.1", "-P", &t.addr.port().to_string()])
            .args([
                "-t",
                "bongsu-test",
                "-p",
                "local3.warning",
                "hello from logger",
            ]);
        let status = tokio::task::spawn_blocking(move || logger.status());
        let status = tokio::time::timeout(WAIT, status)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(status.success(), "logger {args:?} failed");
        let e = t.recv(1).await;
        assert_eq!(e[0].line, "hello from logger", "{args:?}");
        assert_eq!(e[0].labels.get("app_name"), Some("bongsu-test"));
        assert_eq!(e[0].labels.get("facility"), Some("local3"));
        assert_eq!(e[0].labels.get("severity"), Some("warning"));
        t.stop().await;
    }
}

#[tokio::test]
async fn idle_connections_are_closed() {
    use tokio::io::AsyncReadExt;
    let t = start("listen_address: 127.0.0.1:0\nidle_timeout: 100ms\n", "[]").await;
    let mut c = TcpStream::connect(t.addr).await.unwrap();
    c.write_all(b"<13>1 - - - - - - still there\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1];
    let n = tokio::time::timeout(WAIT, c.read(&mut buf))
        .await
        .expect("closed in time");
    assert_eq!(n.unwrap_or(0), 0, "the server closes an idle connection");
    t.stop().await;
}

/// A receiver slower than the sender: the target waits on the bounded channel and loses
/// nothing, in order.
#[tokio::test]
async fn a_full_channel_holds_the_sender_back() {
    let mut t = start("listen_address: 127.0.0.1:0\n", "[]").await;
    let mut c = TcpStream::connect(t.addr).await.unwrap();
    let sent = 500;
    let writer = tokio::spawn(async move {
        for i in 0..sent {
            c.write_all(octet_counted(&format!("<13>1 - - - - - - line {i}")).as_bytes())
                .await
                .unwrap();
        }
        c.shutdown().await.unwrap();
    });
    let got = t.recv(sent).await;
    for (i, e) in got.iter().enumerate() {
        assert_eq!(e.line, format!("line {i}"));
    }
    writer.await.unwrap();
    t.stop().await;
}

/// syslog-ng's `loggen` (RFC 5424 with octet counting over TCP, structured data) when it is
/// installed.
#[tokio::test]
async fn real_loggen() {
    if std::process::Command::new("loggen")
        .arg("--help")
        .output()
        .is_err()
    {
        eprintln!("loggen is not installed: skipped");
        return;
    }
    let relabel = "- {action: labelmap, regex: '__syslog_message_(.*)'}";
    let mut t = start(
        "listen_address: 127.0.0.1:0\nlabel_structured_data: true\n",
        relabel,
    )
    .await;
    let mut loggen = std::process::Command::new("loggen");
    loggen
        .args(["-i", "-S", "-P", "-Q", "-n", "100", "-r", "1000"])
        .args(["--sdata", r#"[test name="value"]"#])
        .args(["127.0.0.1", &t.addr.port().to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let status = tokio::task::spawn_blocking(move || loggen.status());
    let status = tokio::time::timeout(WAIT, status)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(status.success(), "loggen failed");
    let got = t.recv(100).await;
    for e in &got {
        assert!(e.line.contains("PADD"), "loggen's padded line: {}", e.line);
        assert_eq!(e.labels.get("sd_test_name"), Some("value"), "{}", e.labels);
        assert!(e.labels.get("app_name").is_some(), "{}", e.labels);
    }
    assert_eq!(t.metrics.parsing_errors(), 0);
    t.stop().await;
}
