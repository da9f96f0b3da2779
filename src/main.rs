//! The `bongsu` binary: the server, and the `import` and `check` subcommands.

mod anomaly;
mod cli;
mod log_collection;
mod scrape_metadata;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use clap::{CommandFactory, FromArgMatches};
use cli::{AnomalyCommand, CheckCommand, Cli, Command, ImportCommand, ServerArgs, TestCommand};

use bongsu::log_rules::{StoreLogQuerier, TempLogStores};
use bongsu_alertmanager::provider::AlertLimits;
use bongsu_alertmanager::server::{Alertmanager, Options as AlertmanagerOptions};
use bongsu_alertmanager::silence::SilenceLimits;
use bongsu_alertmanager::types::Clock;
use bongsu_anomaly::detector::DetectorManager;
use bongsu_api::{router, ApiOptions, ApiState, CorsOrigin, Lifecycle, ReloadRequest};
use bongsu_config::{redacted_yaml, Config, DEFAULT_CONFIG};
use bongsu_ingest::logs::LogLimits;
use bongsu_logstore::{LogStore, LogStoreOptions};
use bongsu_model::parse_prometheus_duration;
use bongsu_notifier::{Notifier, NotifierOptions};
use bongsu_promql::Engine;
use bongsu_relabel::NameValidationScheme;
use bongsu_remoteread::{Fanout, RemoteReads, Warnings};
use bongsu_remotewrite::RemoteWrite;
use bongsu_rules::check::{check_rule_files, CheckOptions};
use bongsu_rules::manager::{ManagerOptions, RuleManager};
use bongsu_rules::unittest::{test_rule_files, TestOptions};
use bongsu_rules::{EngineQuery, PromTemplates, QueryLang, SendAlerts};
use bongsu_scrape::from_config::pool_specs;
use bongsu_scrape::manager::ScrapeManager;
use bongsu_storage::Storage;
use bongsu_tsdb::{Db, DbOptions};

/// How often the server looks for new block directories (from `bongsu import`) and checks
/// whether the head should be compacted into a block.
const COMPACTION_INTERVAL: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // promtool's `test rules` prints only its report; rule evaluation warnings are part of it.
    let level = match cli.command {
        Some(Command::Test(_)) => "error",
        _ => cli.log_level.as_str(),
    };
    let filter = tracing_subscriber::EnvFilter::new(format!("bongsu={level},{level}"));
    if cli.log_format == "json" {
        tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    } else {
        tracing_logfmt::builder()
            .subscriber_builder()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    let result = match &cli.command {
        None => serve(&cli, flag_values(&matches)),
        Some(Command::Import(ImportCommand::Openmetrics { file })) => import(file, &cli),
        Some(Command::Import(ImportCommand::PrometheusBlock { blocks })) => {
            import_prometheus_blocks(blocks, &cli)
        }
        Some(Command::Anomaly(AnomalyCommand::Replay {
            config,
            detector,
            data,
        })) => anomaly::replay_csv(config, detector.as_deref(), data),
        Some(Command::Check(CheckCommand::Config { files })) => return check_config(files),
        Some(Command::Check(CheckCommand::AlertmanagerConfig { files })) => {
            return check_alertmanager_config(files)
        }
        Some(Command::Check(CheckCommand::WebConfig { files })) => return check_web_config(files),
        Some(Command::Check(CheckCommand::LogConfig { files, expand_env })) => {
            return log_collection::check_log_config(files, *expand_env)
        }
        Some(Command::Test(TestCommand::Rules { files, run })) => {
            let opts = TestOptions {
                run: run.clone(),
                logs: Some(Arc::new(TempLogStores)),
            };
            return ExitCode::from(test_rule_files(files, &opts, &mut std::io::stdout()));
        }
        Some(Command::Check(CheckCommand::Rules {
            files,
            backend,
            lint,
            lint_fatal,
        })) => {
            let opts = CheckOptions {
                lint_duplicates: lint != "none",
                lint_fatal: *lint_fatal,
                scheme: NameValidationScheme::Utf8,
                templates: &PromTemplates::default(),
                lang: if backend == "loki" {
                    QueryLang::Logql
                } else {
                    QueryLang::Promql
                },
            };
            let code =
                check_rule_files(files, &opts, &mut std::io::stdout(), &mut std::io::stderr());
            return ExitCode::from(code);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Every flag of the server with its value (defaults included), for `status/flags`.
fn flag_values(matches: &clap::ArgMatches) -> Vec<(String, String)> {
    let cmd = Cli::command();
    let mut out = Vec::new();
    for arg in cmd.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if matches!(long, "help" | "version") {
            continue;
        }
        let value = matches
            .get_raw(arg.get_id().as_str())
            .map(|vals| {
                vals.map(|v| v.to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        out.push((long.to_string(), value));
    }
    out.sort();
    out
}

/// `bongsu check config FILE...`: loads each file as the server would, reporting in
/// promtool's words; fails if any file fails.
fn check_config(files: &[std::path::PathBuf]) -> ExitCode {
    let mut ok = true;
    for file in files {
        match Config::load(Some(file)) {
            Ok(cfg) => {
                println!(
                    "SUCCESS: {} is valid prometheus config file syntax",
                    file.display()
                );
                ok &= check_config_rule_files(&cfg);
                ok &= anomaly::check_detector_files(&cfg);
            }
            Err(e) => {
                ok = false;
                eprintln!("FAILED: {e}");
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The configuration's `rule_files` and `log_rule_files`, checked as `check rules` does
/// (promtool's `check config` checks the rule files too); false if any fails.
fn check_config_rule_files(cfg: &Config) -> bool {
    let sets = [
        (bongsu_rules::manager::rule_files(cfg), QueryLang::Promql),
        (bongsu_rules::manager::log_rule_files(cfg), QueryLang::Logql),
    ];
    let mut ok = true;
    for (files, lang) in sets {
        let files = match files {
            Ok(f) => f,
            Err(e) => {
                eprintln!("  FAILED: {e}");
                ok = false;
                continue;
            }
        };
        if files.is_empty() {
            continue;
        }
        println!();
        let opts = CheckOptions {
            lint_duplicates: true,
            lint_fatal: false,
            scheme: cfg.global.metric_name_validation_scheme,
            templates: &PromTemplates::default(),
            lang,
        };
        ok &= check_rule_files(
            &files,
            &opts,
            &mut std::io::stdout(),
            &mut std::io::stderr(),
        ) == 0;
    }
    ok
}

/// `bongsu check alertmanager-config FILE...`: loads each file as `amtool check-config` does
/// and prints the same report; fails if any file fails.
/// `check web-config`: promtool's output, on stderr as promtool writes it.
fn check_web_config(files: &[std::path::PathBuf]) -> ExitCode {
    let mut failed = false;
    for file in files {
        match bongsu_api::WebConfigWatcher::open(file) {
            Ok(_) => eprintln!("{} SUCCESS", file.display()),
            Err(e) => {
                eprintln!("{} FAILED: {e}", file.display());
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn check_alertmanager_config(files: &[std::path::PathBuf]) -> ExitCode {
    let mut failed = 0;
    for file in files {
        print!("Checking '{}'", file.display());
        match bongsu_alertmanager::config::Config::load_file(file) {
            Err(e) => {
                println!("  FAILED: {e}");
                failed += 1;
            }
            Ok(cfg) => {
                println!("  SUCCESS");
                println!("Found:");
                println!(" - global config");
                println!(" - route");
                println!(" - {} inhibit rules", cfg.inhibit_rules.len());
                println!(" - {} receivers", cfg.receivers.len());
                println!(" - {} templates", cfg.templates.len());
                if !cfg.templates.is_empty() {
                    match bongsu_alertmanager::config::load_templates(&cfg.templates) {
                        Ok(_) => println!("  SUCCESS"),
                        Err(e) => {
                            println!("  FAILED: {e}");
                            failed += 1;
                        }
                    }
                }
            }
        }
        println!();
    }
    if failed > 0 {
        eprintln!("error: failed to validate {failed} file(s)");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn import(file: &std::path::Path, cli: &Cli) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let stats = bongsu::backfill::import_openmetrics(
        file,
        &cli.storage_path,
        DbOptions::default().block_range_ms,
    )?;
    eprintln!(
        "imported {} samples of {} series into {} block(s) under {} in {:.2?}{}",
        stats.samples,
        stats.series,
        stats.blocks.len(),
        cli.storage_path.display(),
        started.elapsed(),
        if stats.duplicates > 0 {
            format!(" ({} duplicate samples dropped)", stats.duplicates)
        } else {
            String::new()
        },
    );
    Ok(())
}

/// `import prometheus-block`: each block copied as a bongsu block into the data directory
/// (a running server picks them up at its next compaction check).
fn import_prometheus_blocks(blocks: &[std::path::PathBuf], cli: &Cli) -> anyhow::Result<()> {
    std::fs::create_dir_all(&cli.storage_path)
        .with_context(|| cli.storage_path.display().to_string())?;
    for src in blocks {
        match bongsu_tsdb::promblock::import_prometheus_block(src, &cli.storage_path)
            .map_err(|e| anyhow!("{}: {e}", src.display()))?
        {
            Some(meta) => eprintln!(
                "imported {} as block {} ({} series, {} samples)",
                src.display(),
                meta.ulid,
                meta.stats.num_series,
                meta.stats.num_samples
            ),
            None => eprintln!("{} holds no samples; nothing imported", src.display()),
        }
    }
    Ok(())
}

fn db_options(args: &ServerArgs) -> anyhow::Result<DbOptions> {
    let retention = if args.retention_time == "0" {
        Duration::ZERO
    } else {
        parse_prometheus_duration(&args.retention_time).ok_or_else(|| {
            anyhow!(
                "invalid --storage.tsdb.retention.time {:?}",
                args.retention_time
            )
        })?
    };
    let retention_bytes = cli::parse_size(&args.retention_size)
        .map_err(|e| anyhow!("--storage.tsdb.retention.size: {e}"))?;
    Ok(DbOptions {
        retention_ms: retention.as_millis() as i64,
        retention_bytes,
        ..DbOptions::default()
    })
}

/// Smallest `--logs.head.max-size`: below it a head would be cut at every few pushes.
const LOGS_HEAD_MIN_BYTES: u64 = 1024 * 1024;

/// The log store's options: retention from `--logs.retention.*` (time defaulting to the
/// metrics' retention), the head's size from `--logs.head.max-size`.
fn log_store_options(args: &ServerArgs) -> anyhow::Result<LogStoreOptions> {
    let text = args
        .logs_retention_time
        .as_deref()
        .unwrap_or(&args.retention_time);
    let retention = if text == "0" {
        Duration::ZERO
    } else {
        parse_prometheus_duration(text)
            .ok_or_else(|| anyhow!("invalid --logs.retention.time {text:?}"))?
    };
    let size = cli::parse_size(&args.logs_retention_size)
        .map_err(|e| anyhow!("--logs.retention.size: {e}"))?;
    let head = cli::parse_size(&args.logs_head_max_size)
        .map_err(|e| anyhow!("--logs.head.max-size: {e}"))?;
    if head < LOGS_HEAD_MIN_BYTES {
        return Err(anyhow!(
            "--logs.head.max-size {:?} is below the minimum of 1MB",
            args.logs_head_max_size
        ));
    }
    Ok(LogStoreOptions {
        retention,
        retention_bytes: (size > 0).then_some(size),
        head_max_bytes: usize::try_from(head).unwrap_or(usize::MAX),
        ..LogStoreOptions::default()
    })
}

/// The push endpoints' limits: Loki's defaults, the rate from the flags, and old lines refused
/// exactly when the store would not keep them (older than the retention).
fn log_limits(args: &ServerArgs, store: &LogStoreOptions) -> LogLimits {
    let mib = |mb: f64| (mb.max(0.0) * 1024.0 * 1024.0) as usize;
    LogLimits {
        reject_old_samples: !store.retention.is_zero(),
        reject_old_samples_max_age: store.retention,
        ingestion_rate_bytes: mib(args.logs_ingestion_rate_mb),
        ingestion_burst_bytes: mib(args.logs_ingestion_burst_size_mb),
        elasticsearch_label_fields: args
            .logs_elasticsearch_label_fields
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(String::from)
            .collect(),
        ..LogLimits::default()
    }
}

/// Loads the configuration file, or the embedded default, whose self-scrape target is pointed
/// at the address this server listens on.
fn load_config(args: &ServerArgs) -> anyhow::Result<Config> {
    match &args.config_file {
        Some(path) => Ok(Config::load(Some(path))?),
        None => {
            let own = format!("localhost:{}", args.listen_address.port());
            let text = DEFAULT_CONFIG.replace("localhost:9090", &own);
            Ok(Config::parse(&text, "<embedded default>")?)
        }
    }
}

/// The configuration text the server runs with, secrets masked, for `status/config`.
fn config_yaml(args: &ServerArgs) -> String {
    let text = match &args.config_file {
        Some(path) => std::fs::read_to_string(path).unwrap_or_default(),
        None => DEFAULT_CONFIG.replace(
            "localhost:9090",
            &format!("localhost:{}", args.listen_address.port()),
        ),
    };
    redacted_yaml(&text).unwrap_or_default()
}

/// The retention as Prometheus' runtime information words it.
fn retention_text(args: &ServerArgs) -> String {
    let time = (args.retention_time != "0").then_some(args.retention_time.as_str());
    let size = (args.retention_size != "0").then_some(args.retention_size.as_str());
    match (time, size) {
        (Some(t), Some(s)) => format!("{t} or {s}"),
        (Some(t), None) => t.to_string(),
        (None, Some(s)) => s.to_string(),
        (None, None) => "unlimited".to_string(),
    }
}

fn duration_flag(name: &str, value: &str) -> anyhow::Result<Duration> {
    parse_prometheus_duration(value).ok_or_else(|| anyhow!("invalid --{name} {value:?}"))
}

fn rule_options(args: &ServerArgs) -> anyhow::Result<ManagerOptions> {
    Ok(ManagerOptions {
        outage_tolerance: duration_flag(
            "rules.alert.for-outage-tolerance",
            &args.for_outage_tolerance,
        )?,
        grace_period: duration_flag("rules.alert.for-grace-period", &args.for_grace_period)?,
        resend_delay: duration_flag("rules.alert.resend-delay", &args.resend_delay)?,
        external_url: args.external_url.clone().unwrap_or_default(),
    })
}

fn serve(cli: &Cli, flags: Vec<(String, String)>) -> anyhow::Result<()> {
    let args = &cli.server;
    // As Go programs (Prometheus) do at start-up: the soft descriptor limit, often 1024, would
    // otherwise run out long before the hard one under many connections, blocks and segments.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => tracing::debug!(limit = n, "open files limit"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open files limit"),
    }
    for feature in &args.enable_feature {
        match feature.as_str() {
            "native-histograms" => {
                bongsu_config::set_native_histograms_feature(true);
                tracing::info!("Experimental native histogram support enabled. Changed default scrape_protocols to prefer PrometheusProto format.");
            }
            "" => {}
            other => tracing::warn!(option = other, "Unknown option for --enable-feature"),
        }
    }
    let config = load_config(args)?;
    let specs = pool_specs(&config).map_err(|e| anyhow!(e))?;
    let opts = db_options(args)?;
    let log_opts = log_store_options(args)?;
    let rule_opts = rule_options(args)?;
    let lookback = parse_prometheus_duration(&args.lookback_delta)
        .ok_or_else(|| anyhow!("invalid --query.lookback-delta {:?}", args.lookback_delta))?;
    let timeout = parse_prometheus_duration(&args.query_timeout)
        .ok_or_else(|| anyhow!("invalid --query.timeout {:?}", args.query_timeout))?;
    let engine = Engine {
        lookback_ms: lookback.as_millis() as i64,
        timeout,
        max_samples: args.query_max_samples,
        total_budget: (args.query_max_samples_total > 0).then(|| {
            Arc::new(bongsu_promql::SampleBudget::new(
                args.query_max_samples_total,
            ))
        }),
        ..Engine::default()
    };
    let engine_for_rules = engine.clone();

    let cors_origin = CorsOrigin::new(&args.cors_origin)
        .map_err(|e| anyhow!("invalid --web.cors.origin {:?}: {e}", args.cors_origin))?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let state = ApiState::with_options(
            engine,
            ApiOptions {
                remote_write_receiver: !args.disable_remote_write_receiver,
                lifecycle: args.enable_lifecycle,
                admin_api: args.enable_admin_api,
                max_concurrent_queries: args.query_max_concurrency,
                flags,
                storage_retention: retention_text(args),
                cors_origin,
                remote_read_concurrency: args.remote_read_concurrent_limit,
                remote_read_sample_limit: args.remote_read_sample_limit,
                log_limits: log_limits(args, &log_opts),
                dashboards_dir: args.web_dashboards_dir.clone(),
            },
        );
        let am = start_alertmanager(cli)?;
        state.set_alertmanager(am.clone());
        state.set_config(Ok((
            config_yaml(args),
            config.global.external_labels.clone(),
        )));
        // TLS and authentication (`--web.config.file`); a file that does not load stops the
        // start, as Prometheus'.
        let web = match &args.web_config_file {
            Some(path) => Some(Arc::new(
                bongsu_api::WebConfigWatcher::open(path)
                    .with_context(|| format!("loading --web.config.file {}", path.display()))?,
            )),
            None => None,
        };
        let listener = tokio::net::TcpListener::bind(args.listen_address)
            .await
            .with_context(|| format!("listening on {}", args.listen_address))?;
        let listener = bongsu_api::ServerListener::new(listener, args.max_connections, web.clone())
            .context("listening")?;
        tracing::info!(address = %args.listen_address, "listening");
        let (quit_tx, quit_rx) = tokio::sync::mpsc::channel(1);
        let (reload_tx, reload_rx) = tokio::sync::mpsc::channel(4);
        state.set_lifecycle(Lifecycle {
            reload: reload_tx,
            quit: quit_tx,
        });
        let mut app = router(state.clone());
        if let Some(web) = web {
            app = app.layer(axum::middleware::from_fn_with_state(
                bongsu_api::Auth::new(web),
                bongsu_api::auth_middleware,
            ));
        }
        let tails = state.clone();
        let server = tokio::spawn(async move {
            // As a make-service, each connection gets a clone of the router (a reference
            // count); served as a plain `Router`, axum rebuilds its route table per
            // connection (`with_state`), some 40 kB each that an idle connection keeps.
            axum::serve(listener, app.into_make_service())
                .with_graceful_shutdown(async move {
                    shutdown_signal(quit_rx).await;
                    // Tailing WebSockets would hold the graceful shutdown open.
                    tails.close_tails();
                })
                .await
        });

        let dir = cli.storage_path.clone();
        let db = tokio::task::spawn_blocking(move || Db::open(&dir, opts))
            .await
            .context("opening the database")?
            .with_context(|| format!("opening the database in {}", cli.storage_path.display()))?;
        let db = Arc::new(db);
        let logs_dir = cli.storage_path.join("logs");
        let logs = tokio::task::spawn_blocking(move || LogStore::open(&logs_dir, log_opts))
            .await
            .context("opening the log store")?
            .context("opening the log store")?;
        let logs = Arc::new(logs);
        state.set_logs(logs.clone());
        let collection = match args.logs_config_file.clone() {
            Some(file) => {
                let (store, expand) = (logs.clone(), args.logs_config_expand_env);
                let c = tokio::task::spawn_blocking(move || {
                    log_collection::LogCollection::start(file, expand, store)
                })
                .await
                .context("starting log collection")??;
                state.add_metrics_source(Arc::new(bongsu_logcollect::write_metrics));
                tokio::spawn(log_collection::append_pipeline_metrics(
                    db.clone(),
                    config.global.scrape_interval,
                ));
                Some(Arc::new(c))
            }
            None => None,
        };
        state.set_ready(db.clone());
        let scrape = Arc::new(ScrapeManager::new(db.clone()));
        let remote = Arc::new(RemoteWrite::new(&db));
        remote.set_metadata_source({
            let scrape = scrape.clone();
            Arc::new(move || scrape_metadata::active_targets_metadata(&scrape))
        });
        remote
            .apply(&config.remote_write, &config.global.external_labels)
            .await
            .map_err(|e| anyhow!("starting remote write: {e}"))?;
        state.add_metrics_source({
            let remote = remote.clone();
            Arc::new(move |enc| remote.write_metrics(enc))
        });
        let remote_read = Arc::new(RemoteReads::new(
            tokio::runtime::Handle::current(),
            local_start_time(db.clone()),
        ));
        remote_read
            .apply(&config.remote_read, &config.global.external_labels)
            .map_err(|e| anyhow!("starting remote read: {e}"))?;
        state.set_remote_read(remote_read.clone());
        state.add_metrics_source(Arc::new(bongsu_remoteread::write_metrics));
        // Rules read through the same merged storage as queries, as Prometheus' rule manager
        // uses its fanout storage; their remote failures are logged.
        let rule_storage: Arc<dyn Storage> = Arc::new(Fanout::new(
            db.clone(),
            remote_read.clone(),
            Warnings::default(),
        ));
        scrape.apply(specs).await;
        state.set_scrape_manager(scrape.clone());
        let notifier = Notifier::new(NotifierOptions {
            queue_capacity: args.notification_queue_capacity,
            drain_on_shutdown: args.drain_notification_queue,
        });
        notifier.apply(&config).map_err(|e| anyhow!(e))?;
        notifier.set_receiver(am.clone());
        notifier.start();
        state.set_notifier(notifier.clone());
        let rule_storage_for_detectors = rule_storage.clone();
        let engine_for_detectors = engine_for_rules.clone();
        let rules = Arc::new(RuleManager::new(
            rule_storage.clone(),
            engine_for_rules.clone(),
            Arc::new(PromTemplates::with_query(Arc::new(EngineQuery {
                db: rule_storage,
                engine: engine_for_rules,
            }))),
            Some(Arc::new(SendAlerts::new(rule_opts.external_url.clone(), {
                let notifier = notifier.clone();
                move |alerts| notifier.send(alerts)
            }))),
            rule_opts,
        ));
        rules.set_log_querier(Arc::new(StoreLogQuerier {
            store: logs.clone(),
        }));
        rules
            .update(&config)
            .await
            .map_err(|e| anyhow!("loading rules: {e}"))?;
        state.set_rule_manager(rules.clone());
        // Detectors read through the merged storage as rules do and write their scores
        // through it (appends go to the local TSDB).
        let detectors = Arc::new(DetectorManager::new(
            rule_storage_for_detectors,
            engine_for_detectors,
        ));
        state.add_metrics_source(Arc::new(bongsu_anomaly::detector::metrics::write_metrics));
        detectors
            .update(config.anomaly_detection_paths().map_err(|e| anyhow!(e))?)
            .await
            .map_err(|e| anyhow!("loading anomaly detectors: {e}"))?;
        tracing::info!("server is ready to receive web requests");

        let maintenance = tokio::spawn(compaction_loop(db.clone(), logs.clone()));
        let reloads = tokio::spawn(reload_loop(
            args.clone(),
            Reloadable {
                scrape: scrape.clone(),
                rules: rules.clone(),
                detectors: detectors.clone(),
                am: am.clone(),
                notifier: notifier.clone(),
                remote: remote.clone(),
                remote_read,
                state: state.clone(),
                collection: collection.clone(),
            },
            reload_rx,
        ));
        server
            .await
            .context("server task")?
            .context("serving HTTP")?;
        reloads.abort();
        maintenance.abort();
        tracing::info!("stopping rule evaluation");
        rules.stop().await;
        detectors.stop().await;
        am.shutdown();
        tracing::info!("stopping the notifier");
        notifier.stop().await;
        tracing::info!("stopping scrapes");
        scrape.stop().await;
        // After the scrapes' stale markers are in the WAL, so that they are sent too.
        tracing::info!("stopping remote write");
        remote.stop().await;
        if let Some(c) = collection {
            tracing::info!("stopping log collection");
            tokio::task::spawn_blocking(move || c.stop())
                .await
                .context("stopping log collection")?;
        }
        tracing::info!("shutting down: flushing the WAL");
        tokio::task::spawn_blocking(move || db.close())
            .await
            .context("closing the database")??;
        tokio::task::spawn_blocking(move || logs.sync())
            .await
            .context("closing the log store")??;
        Ok(())
    })
}

/// What a reload applies the configuration files to.
struct Reloadable {
    scrape: Arc<ScrapeManager>,
    rules: Arc<RuleManager>,
    detectors: Arc<DetectorManager>,
    am: Arc<Alertmanager>,
    notifier: Arc<Notifier>,
    remote: Arc<RemoteWrite>,
    remote_read: Arc<RemoteReads>,
    state: ApiState,
    /// The collector of `--logs.config.file`, reloaded with the main configuration.
    collection: Option<Arc<log_collection::LogCollection>>,
}

/// Reloads the configuration on SIGHUP and `/-/reload`. A configuration that fails to load
/// or to apply is reported and the running one stays.
async fn reload_loop(
    args: ServerArgs,
    parts: Reloadable,
    mut requests: tokio::sync::mpsc::Receiver<ReloadRequest>,
) {
    let Reloadable {
        scrape,
        rules,
        detectors,
        am,
        notifier,
        remote,
        remote_read,
        state,
        collection,
    } = parts;
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        let reply = tokio::select! {
            Some(reply) = requests.recv() => Some(reply),
            Some(()) = async { match hup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => None,
            else => return,
        };
        let result = load_config(&args)
            .map_err(|e| format!("{e:#}"))
            .and_then(|c| pool_specs(&c).map(|specs| (c, specs)))
            .and_then(|(c, specs)| {
                let am_config = load_alertmanager_config(&args).map_err(|e| {
                    am.config_load_failed();
                    format!("{e:#}")
                })?;
                Ok((c, specs, am_config))
            });
        // As Prometheus: every part takes the new configuration it can; any failure fails
        // the reload.
        let result = match result {
            Ok((config, specs, am_config)) => {
                scrape.apply(specs).await;
                let external = config.global.external_labels.clone();
                state.set_config(Ok((config_yaml(&args), external)));
                let notified = notifier.apply(&config);
                let am_result = am.apply_config(am_config).map_err(|e| e.to_string());
                let logs_result = match collection.clone() {
                    Some(c) => tokio::task::spawn_blocking(move || c.reload())
                        .await
                        .unwrap_or_else(|e| Err(format!("reloading log collection: {e}"))),
                    None => Ok(()),
                };
                let remote_result = remote
                    .apply(&config.remote_write, &config.global.external_labels)
                    .await
                    .and(
                        remote_read
                            .apply(&config.remote_read, &config.global.external_labels)
                            .map_err(|e| format!("remote read: {e}")),
                    );
                let detectors_result = match config.anomaly_detection_paths() {
                    Ok(paths) => detectors.update(paths).await.map_err(|e| e.to_string()),
                    Err(e) => Err(e),
                };
                rules
                    .update(&config)
                    .await
                    .and(detectors_result)
                    .and(notified)
                    .and(am_result)
                    .and(logs_result)
                    .and(remote_result)
            }
            Err(e) => Err(e),
        };
        let outcome = match result {
            Ok(()) => {
                tracing::info!("completed loading of configuration file");
                Ok(())
            }
            Err(e) => {
                state.set_config(Err(()));
                tracing::error!(error = %e, "error reloading the configuration; the previous one stays");
                Err(e)
            }
        };
        if let Some(reply) = reply {
            let _ = reply.send(outcome);
        }
    }
}

/// The local storage's start time as Prometheus reckons it for `read_recent: false` remotes:
/// the oldest block's start, or now without blocks, plus a margin of two block ranges for
/// everything to spin up.
fn local_start_time(db: Arc<Db>) -> bongsu_remoteread::StartTime {
    Box::new(move || {
        let margin = 2 * db.options().block_range_ms;
        let start = db
            .block_metas()
            .iter()
            .map(|m| m.min_time)
            .min()
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64 * 1000)
            });
        start.saturating_add(margin)
    })
}

fn load_alertmanager_config(
    args: &ServerArgs,
) -> anyhow::Result<Option<bongsu_alertmanager::config::Config>> {
    args.alertmanager_config_file
        .as_deref()
        .map(|p| {
            bongsu_alertmanager::config::Config::load_file(p)
                .with_context(|| format!("loading {}", p.display()))
        })
        .transpose()
}

/// A limit flag as Alertmanager reads it: negative or zero sets no limit.
fn positive(n: i64) -> Option<usize> {
    usize::try_from(n).ok().filter(|&n| n > 0)
}

/// Starts the Alertmanager with its state under `<storage.tsdb.path>/alertmanager`.
fn start_alertmanager(cli: &Cli) -> anyhow::Result<Arc<Alertmanager>> {
    let args = &cli.server;
    let config = load_alertmanager_config(args)?;
    let retention = parse_prometheus_duration(&args.data_retention)
        .ok_or_else(|| anyhow!("invalid --data.retention {:?}", args.data_retention))?;
    let alert_gc_interval = parse_prometheus_duration(&args.alerts_gc_interval)
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            anyhow!(
                "invalid --alerts.gc-interval {:?}: a duration greater than zero",
                args.alerts_gc_interval
            )
        })?;
    let external_url = args.external_url.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into());
        format!("http://{host}:{}", args.listen_address.port())
    });
    let opts = AlertmanagerOptions {
        data_dir: Some(cli.storage_path.join("alertmanager")),
        retention,
        external_url,
        silence_limits: SilenceLimits {
            max_silences: positive(args.max_silences),
            max_silence_size_bytes: positive(args.max_silence_size_bytes),
        },
        alert_limits: AlertLimits {
            per_alertname: positive(args.per_alertname_limit),
            max_alerts: (args.max_alerts > 0).then_some(args.max_alerts),
        },
        max_aggregation_groups: (args.max_aggregation_groups > 0)
            .then_some(args.max_aggregation_groups),
        alert_gc_interval,
    };
    Ok(Alertmanager::start(opts, config, Clock::new())?)
}

async fn compaction_loop(db: Arc<Db>, logs: Arc<LogStore>) {
    let mut tick = tokio::time::interval(COMPACTION_INTERVAL);
    loop {
        tick.tick().await;
        let db = db.clone();
        let work = move || {
            db.reload_blocks()?;
            db.compact()
        };
        match tokio::task::spawn_blocking(work).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "compaction failed"),
            Err(e) => tracing::error!(error = %e, "compaction task failed"),
        }
        let logs = logs.clone();
        match tokio::task::spawn_blocking(move || logs.compact()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "log store maintenance failed"),
            Err(e) => tracing::error!(error = %e, "log store maintenance task failed"),
        }
    }
}

async fn shutdown_signal(mut quit: tokio::sync::mpsc::Receiver<()>) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
        Some(()) = quit.recv() => {},
    }
    tracing::info!("received a termination signal");
}
