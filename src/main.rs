//! The `bongsu` binary: the server, and the `import` and `check` subcommands.

mod cli;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use clap::Parser;

use bongsu::api::{router, ApiOptions, ApiState};
use bongsu::config::{parse_prometheus_duration, Config};
use bongsu::promql::Engine;
use bongsu::tsdb::{Db, DbOptions};
use cli::{CheckCommand, Cli, Command, ImportCommand, ServerArgs};

/// How often the server looks for new block directories (from `bongsu import`) and checks
/// whether the head should be compacted into a block.
const COMPACTION_INTERVAL: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::new(format!("bongsu={0},{0}", cli.log_level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let result = match &cli.command {
        None => serve(&cli),
        Some(Command::Import(ImportCommand::Openmetrics { file })) => import(file, &cli),
        Some(Command::Check(CheckCommand::Config { files })) => return check_config(files),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `bongsu check config FILE...`: loads each file as the server would, reporting in
/// promtool's words; fails if any file fails.
fn check_config(files: &[std::path::PathBuf]) -> ExitCode {
    let mut ok = true;
    for file in files {
        match Config::load(Some(file)) {
            Ok(_) => println!(
                "SUCCESS: {} is valid prometheus config file syntax",
                file.display()
            ),
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

fn serve(cli: &Cli) -> anyhow::Result<()> {
    let args = &cli.server;
    let config = Config::load(args.config_file.as_deref())?;
    if !config.scrape_configs.is_empty()
        || !config.rule_files.is_empty()
        || !config.alerting.alertmanagers.is_empty()
        || !config.remote_write.is_empty()
    {
        tracing::warn!("scrape_configs, rule_files, alerting and remote_write are loaded and validated but not acted on yet: this build stores, imports and queries data");
    }
    let opts = db_options(args)?;
    let lookback = parse_prometheus_duration(&args.lookback_delta)
        .ok_or_else(|| anyhow!("invalid --query.lookback-delta {:?}", args.lookback_delta))?;
    let engine = Engine {
        lookback_ms: lookback.as_millis() as i64,
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let state = ApiState::with_options(
            engine,
            ApiOptions {
                remote_write_receiver: !args.disable_remote_write_receiver,
            },
        );
        let listener = tokio::net::TcpListener::bind(args.listen_address)
            .await
            .with_context(|| format!("listening on {}", args.listen_address))?;
        tracing::info!(address = %args.listen_address, "listening");
        let app = router(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown_signal())
                .await
        });

        let dir = cli.storage_path.clone();
        let db = tokio::task::spawn_blocking(move || Db::open(&dir, opts))
            .await
            .context("opening the database")?
            .with_context(|| format!("opening the database in {}", cli.storage_path.display()))?;
        let db = Arc::new(db);
        state.set_ready(db.clone());
        tracing::info!("server is ready to receive web requests");

        let maintenance = tokio::spawn(compaction_loop(db.clone()));
        server
            .await
            .context("server task")?
            .context("serving HTTP")?;
        maintenance.abort();
        tracing::info!("shutting down: flushing the WAL");
        tokio::task::spawn_blocking(move || db.close())
            .await
            .context("closing the database")??;
        Ok(())
    })
}

async fn compaction_loop(db: Arc<Db>) {
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
    }
}

async fn shutdown_signal() {
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
    }
    tracing::info!("received a termination signal");
}
