//! Command-line flags and subcommands. Flag names are Prometheus' so unit files and container
//! commands carry over.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "bongsu",
    version,
    about = "A single-binary, Prometheus-compatible monitoring system: collect, store, query, alert."
)]
#[command(args_conflicts_with_subcommands = false)]
pub struct Cli {
    #[command(flatten)]
    pub server: ServerArgs,

    /// Directory of the time-series database.
    #[arg(
        long = "storage.tsdb.path",
        default_value = "data",
        global = true,
        value_name = "DIR"
    )]
    pub storage_path: PathBuf,

    /// Logging level: debug, info, warn or error.
    #[arg(long = "log.level", default_value = "info", global = true, value_parser = ["debug", "info", "warn", "error"])]
    pub log_level: String,

    /// Output format of log messages: logfmt or json (as Prometheus'). Neither is coloured, so
    /// logs written to a file or a journal carry no terminal escapes.
    #[arg(long = "log.format", default_value = "logfmt", global = true, value_parser = ["logfmt", "json"])]
    pub log_format: String,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Configuration file (prometheus.yml format). Without it, an embedded default that scrapes
    /// bongsu itself is used.
    #[arg(long = "config.file", value_name = "FILE")]
    pub config_file: Option<PathBuf>,

    /// How long to keep samples, e.g. 15d, 12h, 1y. 0 keeps them forever.
    #[arg(
        long = "storage.tsdb.retention.time",
        default_value = "15d",
        value_name = "DURATION"
    )]
    pub retention_time: String,

    /// Largest size of the stored blocks, WAL and head chunks, e.g. 512MB, 10GB (base 1024).
    /// Oldest blocks are deleted first. 0 means no limit.
    #[arg(
        long = "storage.tsdb.retention.size",
        default_value = "0",
        value_name = "SIZE"
    )]
    pub retention_size: String,

    /// Log collection file in Promtail's format (promtail.yml): tail the files and listen on
    /// the syslog addresses it names, run its pipelines, and store the lines here (exactly
    /// once, positions kept in the log store) or push them to its `clients`. Reloaded with
    /// the main configuration (SIGHUP, /-/reload).
    #[arg(long = "logs.config.file", value_name = "FILE")]
    pub logs_config_file: Option<PathBuf>,

    /// Expand `${VAR}` and `${VAR:-default}` in --logs.config.file from the environment
    /// (Promtail's -config.expand-env).
    #[arg(long = "logs.config.expand-env")]
    pub logs_config_expand_env: bool,

    /// How long to keep log lines, e.g. 30d, 100y; 0 keeps them forever. Pushed lines older
    /// than this are refused, older ones inside it accepted (a day of 2023 loads into a server
    /// kept for 100y). Default: --storage.tsdb.retention.time.
    #[arg(long = "logs.retention.time", value_name = "DURATION")]
    pub logs_retention_time: Option<String>,

    /// Largest size of the stored log blocks, e.g. 10GB (base 1024); oldest first. 0: no limit.
    #[arg(long = "logs.retention.size", default_value = "0", value_name = "SIZE")]
    pub logs_retention_size: String,

    /// Most bytes of log lines held in memory before they are cut into a block, e.g. 32MB
    /// (base 1024): bounds the log store's memory and the WAL replayed at a restart. Smaller
    /// values cut more often (more, smaller blocks until the daily merge). At least 1MB.
    #[arg(
        long = "logs.head.max-size",
        default_value = "32MB",
        value_name = "SIZE"
    )]
    pub logs_head_max_size: String,

    /// Log push rate limit in MiB per second (Loki's ingestion_rate_mb); 0: none.
    #[arg(
        long = "logs.ingestion-rate-mb",
        default_value_t = 4.0,
        value_name = "MB"
    )]
    pub logs_ingestion_rate_mb: f64,

    /// Log push burst in MiB (Loki's ingestion_burst_size_mb).
    #[arg(
        long = "logs.ingestion-burst-size-mb",
        default_value_t = 6.0,
        value_name = "MB"
    )]
    pub logs_ingestion_burst_size_mb: f64,

    /// Fields of documents pushed to /elasticsearch/_bulk that become stream labels,
    /// comma-separated dotted paths into nested objects (host.name → label host_name); the
    /// stream label index (the document's index) is always added. A request's _stream_fields
    /// query argument replaces the list, as VictoriaLogs' does.
    #[arg(
        long = "logs.elasticsearch.label-fields",
        default_value = "host.name,service.name",
        value_name = "FIELDS"
    )]
    pub logs_elasticsearch_label_fields: String,

    /// Address to serve the HTTP API on.
    #[arg(
        long = "web.listen-address",
        default_value = "0.0.0.0:9090",
        value_name = "ADDR"
    )]
    pub listen_address: SocketAddr,

    /// Web configuration in the exporter-toolkit format Prometheus reads: TLS
    /// (`tls_server_config`), basic authentication (`basic_auth_users`, bcrypt hashes) and
    /// response headers; re-read when it changes.
    #[arg(long = "web.config.file", value_name = "FILE")]
    pub web_config_file: Option<PathBuf>,

    /// Most connections open at once; further clients wait in the kernel's accept queue
    /// (0: no limit).
    #[arg(long = "web.max-connections", default_value_t = bongsu_api::DEFAULT_MAX_CONNECTIONS, value_name = "N")]
    pub max_connections: usize,

    /// How far back an instant vector selector looks for a sample.
    #[arg(
        long = "query.lookback-delta",
        default_value = "5m",
        value_name = "DURATION"
    )]
    pub lookback_delta: String,

    /// Longest downtime after which the `for` state of alerts is still restored at start.
    #[arg(
        long = "rules.alert.for-outage-tolerance",
        default_value = "1h",
        value_name = "DURATION"
    )]
    pub for_outage_tolerance: String,

    /// Least time between restoring an alert's `for` state and the alert firing.
    #[arg(
        long = "rules.alert.for-grace-period",
        default_value = "10m",
        value_name = "DURATION"
    )]
    pub for_grace_period: String,

    /// Least time between two sends of one alert to Alertmanager.
    #[arg(
        long = "rules.alert.resend-delay",
        default_value = "1m",
        value_name = "DURATION"
    )]
    pub resend_delay: String,

    /// Longest time one query may take; longer ones fail with a timeout error.
    #[arg(long = "query.timeout", default_value = "2m", value_name = "DURATION")]
    pub query_timeout: String,

    /// Most samples one query may load into memory; more fail the query.
    #[arg(
        long = "query.max-samples",
        default_value_t = 50_000_000,
        value_name = "N"
    )]
    pub query_max_samples: usize,

    /// Most samples all running queries (API and rules) may hold at once; a query that would
    /// pass it fails with 503 and the server stays up (0: no limit).
    #[arg(
        long = "query.max-samples-total",
        default_value_t = bongsu_promql::DEFAULT_MAX_SAMPLES_TOTAL,
        value_name = "N"
    )]
    pub query_max_samples_total: usize,

    /// Most queries evaluated at once; more wait in line (the wait counts against the
    /// timeout).
    #[arg(long = "query.max-concurrency", default_value_t = 20, value_name = "N")]
    pub query_max_concurrency: usize,

    /// Regex of the origins allowed to call the API from a browser (CORS); fully anchored.
    #[arg(long = "web.cors.origin", default_value = ".*", value_name = "REGEX")]
    pub cors_origin: String,

    /// Most samples one remote-read request may return; 0 means no limit.
    #[arg(
        long = "storage.remote.read-sample-limit",
        default_value_t = 50_000_000,
        value_name = "N"
    )]
    pub remote_read_sample_limit: usize,

    /// Most remote-read requests served at once; 0 means no limit.
    #[arg(
        long = "storage.remote.read-concurrent-limit",
        default_value_t = 10,
        value_name = "N"
    )]
    pub remote_read_concurrent_limit: usize,

    /// Comma-separated experimental features, as Prometheus' flag. `native-histograms` makes
    /// `scrape_native_histograms` default to true (Prometheus 3.5's meaning of the flag: native
    /// histograms are scraped, protobuf first, unless a job says otherwise); other names are
    /// logged as unknown.
    #[arg(long = "enable-feature", value_name = "FEATURE", value_delimiter = ',')]
    pub enable_feature: Vec<String>,

    /// Enable shutdown and reload over HTTP (`POST /-/quit`, `POST /-/reload`).
    #[arg(long = "web.enable-lifecycle")]
    pub enable_lifecycle: bool,

    /// Enable the TSDB admin API: snapshots of the data directory and deletion of series data
    /// (`POST /api/v1/admin/tsdb/{snapshot,delete_series,clean_tombstones}`).
    #[arg(long = "web.enable-admin-api")]
    pub enable_admin_api: bool,

    /// Folder of Grafana dashboard JSON files shown at /dashboards beside the shipped ones;
    /// its `*.json` files are read at each request, so edits show on reload.
    #[arg(long = "web.dashboards-dir", value_name = "DIR")]
    pub web_dashboards_dir: Option<PathBuf>,

    /// Alertmanager configuration file (alertmanager.yml format). Without it, alerts posted to
    /// /api/v2/alerts go to a default receiver that logs them.
    #[arg(long = "alertmanager.config.file", value_name = "FILE")]
    pub alertmanager_config_file: Option<PathBuf>,

    /// How long Alertmanager keeps expired silences and notification-log entries.
    #[arg(
        long = "data.retention",
        default_value = "120h",
        value_name = "DURATION"
    )]
    pub data_retention: String,

    /// Maximum number of silences, including expired silences (kept --data.retention after
    /// they end). At the limit, creating a silence (or replacing one, which keeps the old one
    /// as expired) fails with 400 "exceeded maximum number of silences". If negative or zero,
    /// no limit is set.
    #[arg(
        long = "silences.max-silences",
        default_value_t = 0,
        allow_negative_numbers = true,
        value_name = "N"
    )]
    pub max_silences: i64,

    /// Maximum silence size in bytes, counted as the silence's JSON in the snapshot file
    /// (Alertmanager counts its protobuf). A larger silence fails with 400 "silence exceeded
    /// maximum size". If negative or zero, no limit is set.
    #[arg(
        long = "silences.max-silence-size-bytes",
        default_value_t = 0,
        allow_negative_numbers = true,
        value_name = "BYTES"
    )]
    pub max_silence_size_bytes: i64,

    /// Maximum number of alerts per alertname, counting alerts that are not resolved. A new
    /// alert beyond it is dropped (the API still answers 200), logged and counted in
    /// alertmanager_alerts_limited_total; stored alerts are always updated. If negative or
    /// zero, no limit is set.
    #[arg(
        long = "alerts.per-alertname-limit",
        default_value_t = 0,
        allow_negative_numbers = true,
        value_name = "N"
    )]
    pub per_alertname_limit: i64,

    /// Interval between alert GC, which drops resolved alerts from the alert store.
    #[arg(
        long = "alerts.gc-interval",
        default_value = "30m",
        value_name = "DURATION"
    )]
    pub alerts_gc_interval: String,

    /// Most alerts the built-in Alertmanager stores, resolved ones not yet collected included
    /// (bongsu's own limit; Alertmanager has none). When full, resolved alerts are collected
    /// at once; a new alert that still finds no room is dropped (the API still answers 200),
    /// logged and counted in bongsu_alertmanager_alerts_limited_total. 0 means no limit.
    #[arg(
        long = "alertmanager.max-alerts",
        default_value_t = 100_000,
        value_name = "N"
    )]
    pub max_alerts: usize,

    /// Most aggregation groups of the built-in Alertmanager, over all routes (bongsu's own
    /// flag for a limit Alertmanager leaves to embedders). An alert that would need one more
    /// group is logged, counted in alertmanager_dispatcher_aggregation_group_limit_reached_total
    /// and left out of that route; it gets in when re-sent after empty groups were dropped.
    /// 0 means no limit.
    #[arg(
        long = "alertmanager.max-aggregation-groups",
        default_value_t = 100_000,
        value_name = "N"
    )]
    pub max_aggregation_groups: usize,

    /// The URL under which bongsu is reached, used in Alertmanager notifications
    /// (externalURL). Defaults to http://<hostname>:<port>.
    #[arg(long = "web.external-url", value_name = "URL")]
    pub external_url: Option<String>,

    /// Turn off the Prometheus remote-write receiver (POST /api/v1/write, Remote-Write 1.0 and
    /// 2.0), which is on by default; it then answers 404.
    #[arg(long = "web.disable-remote-write-receiver")]
    pub disable_remote_write_receiver: bool,

    /// Accepted so that Prometheus command lines carry over; the receiver is on by default.
    #[arg(
        long = "web.enable-remote-write-receiver",
        conflicts_with = "disable_remote_write_receiver"
    )]
    pub enable_remote_write_receiver: bool,

    /// Most alert notifications waiting to be sent to Alertmanagers; beyond it the oldest
    /// are dropped.
    #[arg(
        long = "alertmanager.notification-queue-capacity",
        default_value_t = 10_000,
        value_name = "N"
    )]
    pub notification_queue_capacity: usize,

    /// Send the queued alert notifications when shutting down (`=false` drops them).
    #[arg(
        long = "alertmanager.drain-notification-queue-on-shutdown",
        default_value_t = true,
        action = clap::ArgAction::Set,
        value_name = "BOOL"
    )]
    pub drain_notification_queue: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import data into blocks of the database at --storage.tsdb.path.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Check files without starting the server, like `promtool check`.
    #[command(subcommand)]
    Check(CheckCommand),
    /// Run unit tests, like `promtool test`.
    #[command(subcommand)]
    Test(TestCommand),
    /// Anomaly detection offline.
    #[command(subcommand)]
    Anomaly(AnomalyCommand),
}

#[derive(Debug, Subcommand)]
pub enum AnomalyCommand {
    /// Run a detector's model over a `timestamp,value` CSV, as it runs live (value by value,
    /// no look-ahead), and print `timestamp,value,anomaly_score` for each row (0 while the
    /// model warms up). The step between values is the CSV's median gap.
    Replay {
        /// A detector file (the format of `anomaly_detection_files`).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Which detector of the file (required when it has more than one).
        #[arg(long)]
        detector: Option<String>,
        /// The CSV: `timestamp,value` rows (Unix seconds or `YYYY-MM-DD HH:MM:SS`, UTC), an
        /// optional header.
        data: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum TestCommand {
    /// Run rule unit-test files (promtool's format): prints SUCCESS or FAILED with the
    /// differences for each; exits 1 if any test fails.
    Rules {
        /// The test files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Only run test groups whose name matches this regex; may be repeated.
        #[arg(long)]
        run: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// Check that configuration files (prometheus.yml format) load: prints SUCCESS or
    /// FAILED with the error for each; exits 1 if any fails.
    Config {
        /// The configuration files to check.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Check Alertmanager configuration files (alertmanager.yml format), like `amtool
    /// check-config`: prints what each holds, or FAILED with the error; exits 1 if any fails.
    AlertmanagerConfig {
        /// The configuration files to check.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Check web configuration files (`--web.config.file`), like `promtool check
    /// web-config`: each file with SUCCESS or FAILED and the error, reading the
    /// certificates it names; exits 1 if any fails.
    WebConfig {
        /// The web configuration files to check.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Check log collection files (promtail.yml format, `--logs.config.file`): prints
    /// SUCCESS or FAILED with the error for each; exits 1 if any fails.
    LogConfig {
        /// The promtail.yml files to check.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Expand `${VAR}` references from the environment first, as the server does with
        /// --logs.config.expand-env.
        #[arg(long = "logs.config.expand-env")]
        expand_env: bool,
    },
    /// Check rule files, like `promtool check rules`: prints SUCCESS with the rule count or
    /// FAILED with every error; exits 1 on errors, 3 on lint problems with --lint-fatal.
    /// With --backend=loki (cortextool's flag) the files are LogQL rules (`log_rule_files`,
    /// Loki's ruler format).
    Rules {
        /// The rule files to check.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// The rules' query language: "prometheus" (PromQL, `rule_files`) or "loki" (LogQL
        /// metric queries, `log_rule_files`).
        #[arg(long, default_value = "prometheus", value_parser = ["prometheus", "loki"])]
        backend: String,
        /// Linting checks: "all", "duplicate-rules" or "none".
        #[arg(long, default_value = "duplicate-rules", value_parser = ["all", "duplicate-rules", "none"])]
        lint: String,
        /// Make lint problems exit with status 3.
        #[arg(long = "lint-fatal")]
        lint_fatal: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import an OpenMetrics text file (with timestamps), like `promtool tsdb
    /// create-blocks-from openmetrics`.
    Openmetrics {
        /// The OpenMetrics file to read.
        file: PathBuf,
    },
    /// Copy blocks of Prometheus' TSDB (a `<ulid>` directory of its data directory or a
    /// snapshot, floats and native histograms) into --storage.tsdb.path as bongsu blocks.
    /// Blocks with deletions (tombstones) are refused: run `clean_tombstones` first.
    PrometheusBlock {
        /// The block directories.
        #[arg(required = true, value_name = "DIR")]
        blocks: Vec<PathBuf>,
    },
}

/// Parses a size with Prometheus' units (B, KB, MB, GB, TB, PB, EB; base 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: u64 = s[..digits]
        .parse()
        .map_err(|_| format!("invalid size {s:?}"))?;
    let shift = match &s[digits..] {
        "" | "B" => 0,
        "KB" => 10,
        "MB" => 20,
        "GB" => 30,
        "TB" => 40,
        "PB" => 50,
        "EB" => 60,
        _ => {
            return Err(format!(
                "invalid size {s:?}: units are B, KB, MB, GB, TB, PB, EB"
            ))
        }
    };
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("size {s:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("512MB"), Ok(512 << 20));
        assert_eq!(parse_size("10GB"), Ok(10 << 30));
        assert!(parse_size("10 apples").is_err());
    }

    #[test]
    fn prometheus_flag_names() {
        let cli = Cli::try_parse_from([
            "bongsu",
            "--config.file=p.yml",
            "--storage.tsdb.path",
            "/d",
            "--storage.tsdb.retention.time=30d",
            "--web.listen-address=127.0.0.1:9999",
        ])
        .unwrap();
        assert_eq!(cli.storage_path, PathBuf::from("/d"));
        assert_eq!(cli.server.retention_time, "30d");
        assert!(!cli.server.disable_remote_write_receiver);
        assert_eq!(cli.server.notification_queue_capacity, 10_000);
        assert!(cli.server.drain_notification_queue);
        let cli = Cli::try_parse_from([
            "bongsu",
            "--alertmanager.notification-queue-capacity=5",
            "--alertmanager.drain-notification-queue-on-shutdown=false",
        ])
        .unwrap();
        assert_eq!(cli.server.notification_queue_capacity, 5);
        assert!(!cli.server.drain_notification_queue);
        assert_eq!(
            (cli.server.max_silences, cli.server.max_silence_size_bytes),
            (0, 0)
        );
        assert_eq!(
            (
                cli.server.per_alertname_limit,
                cli.server.alerts_gc_interval.as_str()
            ),
            (0, "30m")
        );
        assert_eq!(
            (cli.server.max_alerts, cli.server.max_aggregation_groups),
            (100_000, 100_000)
        );
        let cli = Cli::try_parse_from([
            "bongsu",
            "--silences.max-silences",
            "-1",
            "--silences.max-silence-size-bytes=4096",
            "--alerts.per-alertname-limit=-5",
            "--alerts.gc-interval=5m",
            "--alertmanager.max-alerts=0",
            "--alertmanager.max-aggregation-groups=10",
        ])
        .unwrap();
        assert_eq!(
            (cli.server.max_silences, cli.server.max_silence_size_bytes),
            (-1, 4096)
        );
        assert_eq!(
            (
                cli.server.per_alertname_limit,
                cli.server.alerts_gc_interval.as_str()
            ),
            (-5, "5m")
        );
        assert_eq!(
            (cli.server.max_alerts, cli.server.max_aggregation_groups),
            (0, 10)
        );
        let cli = Cli::try_parse_from(["bongsu", "--web.disable-remote-write-receiver"]).unwrap();
        assert!(cli.server.disable_remote_write_receiver);
        let cli = Cli::try_parse_from(["bongsu", "--web.enable-remote-write-receiver"]).unwrap();
        assert!(!cli.server.disable_remote_write_receiver);
        assert!(Cli::try_parse_from([
            "bongsu",
            "--web.enable-remote-write-receiver",
            "--web.disable-remote-write-receiver"
        ])
        .is_err());
        let cli = Cli::try_parse_from([
            "bongsu",
            "import",
            "openmetrics",
            "f.om",
            "--storage.tsdb.path",
            "out",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Import(ImportCommand::Openmetrics { .. }))
        ));
        assert_eq!(cli.storage_path, PathBuf::from("out"));
        assert_eq!(cli.server.for_outage_tolerance, "1h");
        assert_eq!(cli.server.for_grace_period, "10m");
        assert_eq!(cli.server.resend_delay, "1m");
        let cli = Cli::try_parse_from([
            "bongsu",
            "check",
            "rules",
            "--lint=none",
            "--lint-fatal",
            "r.yml",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Check(CheckCommand::Rules { ref lint, lint_fatal: true, .. })) if lint == "none"
        ));
        let cli = Cli::try_parse_from(["bongsu", "check", "config", "a.yml", "b.yml"]).unwrap();
        assert!(
            matches!(cli.command, Some(Command::Check(CheckCommand::Config { ref files })) if files.len() == 2)
        );
        let cli =
            Cli::try_parse_from(["bongsu", "check", "alertmanager-config", "am.yml"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Check(CheckCommand::AlertmanagerConfig { ref files })) if files.len() == 1
        ));
        assert!(Cli::try_parse_from(["bongsu", "check", "alertmanager-config"]).is_err());
        let cli = Cli::try_parse_from([
            "bongsu",
            "check",
            "log-config",
            "--logs.config.expand-env",
            "p.yml",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Check(CheckCommand::LogConfig { ref files, expand_env: true })) if files.len() == 1
        ));
        let cli = Cli::try_parse_from(["bongsu", "--logs.config.file", "p.yml"]).unwrap();
        assert_eq!(
            cli.server.logs_config_file.as_deref(),
            Some(std::path::Path::new("p.yml"))
        );
        assert!(!cli.server.logs_config_expand_env);
    }
}
