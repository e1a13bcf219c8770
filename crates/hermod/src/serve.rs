//! `hermod serve`: load settings, open the stores, start the listeners, stop on a signal.

use anyhow::{Context, Result};
use hermod_config::Settings;
use std::sync::Arc;
use std::time::Duration;

use hermod_auth::Authenticator;
use hermod_delivery::Delivery;
use hermod_smtp::authcheck::Checker;
use hermod_store::FsBlobStore;

use crate::commands::open_store;
use crate::tls;

pub async fn serve(settings: Settings) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&settings.log_level))
        .context("log.level is not a valid filter")?;
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();

    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}; check data_dir",
            settings.data_dir.display()
        )
    })?;
    let store = open_store(&settings).await?;
    let blobs = FsBlobStore::open(settings.effective_blob_dir())?;
    // Bodies spooled when the last run died were never acknowledged: drop them.
    let swept = blobs.sweep_spool()?;
    if swept > 0 {
        tracing::info!(
            files = swept,
            "removed unacknowledged spool files left by the last run"
        );
    }
    let (tls, cert_path, origin) = tls::server_config(&settings)?;
    match origin {
        tls::Origin::Configured => {
            tracing::info!(cert = %cert_path.display(), "using the configured certificate")
        }
        tls::Origin::SelfSignedExisting => {
            tracing::warn!(cert = %cert_path.display(), "using the self-signed certificate made earlier; set tls.cert and tls.key for a trusted one")
        }
        tls::Origin::SelfSignedNew => tracing::warn!(
            cert = %cert_path.display(),
            hostname = %settings.hostname,
            "made a self-signed certificate; set tls.cert and tls.key for a trusted one"
        ),
    }
    tracing::info!(
        data_dir = %settings.data_dir.display(),
        store = store.backend(),
        blobs = %blobs.spool_dir().parent().map(|p| p.display().to_string()).unwrap_or_default(),
        "hermod started"
    );

    let auth = Authenticator::new(
        store.clone(),
        settings.auth_max_failures,
        settings.auth_lockout,
    );
    let imap = Arc::new(hermod_imap::Shared::new(
        store.clone(),
        blobs.clone(),
        settings.clone(),
        Some(tls.clone()),
        auth.clone(),
    ));
    let delivery = Delivery::new(
        store.clone(),
        blobs.clone(),
        settings.hostname.clone(),
        hermod_delivery::srs_secret(&settings.data_dir).with_context(|| {
            format!(
                "cannot read or create {}/srs.key",
                settings.data_dir.display()
            )
        })?,
    );
    // One resolver for outbound MX lookups and inbound SPF/DKIM/DMARC.
    let resolver =
        hermod_outbound::Resolver::from_settings(&settings).map_err(|e| anyhow::anyhow!(e))?;
    let checker = Checker::new(
        resolver.authenticator(),
        settings.hostname.clone(),
        settings.smtp_dmarc_reject,
    );
    let smtp = Arc::new(hermod_smtp::Shared::new(
        store.clone(),
        blobs.clone(),
        settings.clone(),
        Some(tls.clone()),
        auth.clone(),
        delivery,
        Some(checker),
    ));
    let listeners = hermod_smtp::start(smtp)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let mx_listeners: Vec<std::net::SocketAddr> = listeners
        .bound
        .iter()
        .filter(|(kind, _)| *kind == hermod_smtp::server::ListenerKind::Smtp)
        .map(|(_, addr)| *addr)
        .collect();
    let outbound = if settings.delivery_hold {
        tracing::warn!("outbound delivery is on hold (delivery.hold): mail stays in the queue");
        None
    } else {
        let mta_sts = hermod_outbound::MtaSts::from_settings(resolver.clone(), &settings)
            .map_err(|e| anyhow::anyhow!("{e}; check delivery.tls_ca_file"))?;
        Some(hermod_outbound::Outbound::start_with(Arc::new(
            hermod_outbound::Delivery::with_resolver(
                store.clone(),
                blobs,
                settings.clone(),
                mx_listeners,
                resolver,
            )
            .with_mta_sts(mta_sts),
        )))
    };
    let imap_listeners = hermod_imap::start(imap)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let web = start_web(&settings, store.clone(), auth.clone(), tls.clone()).await?;

    wait_for_shutdown().await?;
    let _ = web.send(true);
    for task in listeners.tasks.iter().chain(&imap_listeners.tasks) {
        task.abort();
    }
    tracing::info!("shutting down");
    if let Some(outbound) = outbound {
        outbound.stop(Duration::from_secs(10)).await;
    }
    store.close().await;
    Ok(())
}

/// The panels and the REST API on `listen.http`. Returns the switch that stops them.
async fn start_web(
    settings: &Settings,
    store: hermod_store::Store,
    auth: Authenticator,
    tls: Arc<rustls::ServerConfig>,
) -> Result<tokio::sync::watch::Sender<bool>> {
    let mut operators = Vec::new();
    for o in &settings.web_operators {
        let a = hermod_model::EmailAddress::parse(o).map_err(|e| {
            anyhow::anyhow!("web.operators: {o:?} is not an address ({e}); list full addresses")
        })?;
        operators.push(a);
    }
    let mut bound = [Vec::new(), Vec::new()];
    for ((addrs, key, name), out) in [
        (&settings.listen_http, "listen.http", "Http"),
        (&settings.listen_https, "listen.https", "Https"),
    ]
    .into_iter()
    .zip(bound.iter_mut())
    {
        for addr in addrs {
            let l = hermod_net::bind(addr, key)
                .await
                .map_err(|e| anyhow::anyhow!(e))?;
            tracing::info!(listener = name, address = %l.local_addr()?, "HTTP listening");
            out.push(l);
        }
    }
    let [listeners, tls_listeners] = bound;
    let mut state = hermod_web::WebState::new(store, settings.clone(), auth, operators);
    state.secure_cookies = settings.web_secure_cookies;
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    if !tls_listeners.is_empty() {
        // The web app wants HTTP/1.1 over TLS; the mail listeners' config offers no ALPN.
        let tls_state = state.clone();
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            if let Err(e) = hermod_web::serve_tls(tls_listeners, tls, tls_state, shutdown).await {
                tracing::error!(error = %e, "the HTTPS server stopped");
            }
        });
    }
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        if let Err(e) = hermod_web::serve(listeners, state, shutdown).await {
            tracing::error!(error = %e, "the web server stopped");
        }
    });
    Ok(stop)
}

async fn wait_for_shutdown() -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}
