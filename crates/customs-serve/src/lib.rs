//! customs-serve is an OCI Distribution Spec v1.1 registry that lets nothing in, or out,
//! without passing customs. It owns the HTTP API (hyper on tokio), the embedded storage (blob
//! files plus SQLite metadata under one data directory), and the seam where a push gate
//! judges each image manifest before it becomes pullable ([`Gate`]).
//!
//! Why hand-written: the OCI registries that exist as crates are clients; the servers that
//! exist (distribution, zot, Harbor) are Go programs without the gate we need, so the server
//! is written here, on hyper, with routing by hand because repository names contain slashes.
//!
//! ```no_run
//! let config = customs_serve::Config::default();
//! let server = customs_serve::Server::start(config, None).unwrap();
//! println!("listening on {}", server.addr());
//! ```

#![deny(missing_docs)]

mod auth;
mod config;
mod error;
mod gate;
mod http;
mod policy_gate;
mod pull_gate;
mod store;
mod webhook;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

pub use config::{
    AccessRule, AuthConfig, Config, ConfigError, ImmutableTags, TlsConfig, DEFAULT_LISTEN,
};
pub use config::{GateConfig, PullGateRule, WebhookConfig, EXAMPLE_CONFIG};
pub use config::{KeylessIdentity, RobotConfig, RobotScope};
pub use gate::{Gate, GateRequest, Verdict, Violation};
pub use policy_gate::{GateError, PolicyGate};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configuration breaks a rule.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The data directory could not be opened.
    #[error("opening the data directory {path}: {source}")]
    Storage {
        /// The directory.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The push gate could not be set up.
    #[error(transparent)]
    Gate(#[from] GateError),
    /// The users file or TLS files could not be loaded.
    #[error("{0}")]
    Auth(String),
    /// The address could not be bound, or the runtime not started.
    #[error("listening on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// A running registry on a background thread; stops when dropped or [`Server::stop`]ped.
pub struct Server {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::watch::Sender<bool>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Validates `config`, opens its data directory, binds its address and starts serving.
    /// `gate` judges pushed images; without one, the config's `[gate]` (a [`PolicyGate`]) does,
    /// and without that every image passes.
    pub fn start(config: Config, gate: Option<Arc<dyn Gate>>) -> Result<Server, ServeError> {
        config.validate()?;
        let store = store::Store::open_with(&config.data_dir, config.storage.as_ref()).map_err(
            |source| ServeError::Storage {
                path: config.data_dir.clone(),
                source,
            },
        )?;
        let store = Arc::new(store);
        let auth = match &config.auth {
            Some(a) => Some(
                auth::Auth::load(a, Arc::clone(&store))
                    .map_err(|e| ServeError::Auth(e.to_string()))?,
            ),
            None => None,
        };
        let tls = match &config.tls {
            Some(t) => Some(tls_acceptor(t)?),
            None => None,
        };
        let listen = config.listen;
        let gate = match (gate, &config.gate) {
            (Some(g), _) => Some(g),
            (None, Some(g)) => {
                let scratch = config.data_dir.join("gate");
                std::fs::create_dir_all(&scratch).map_err(|source| ServeError::Storage {
                    path: scratch.clone(),
                    source,
                })?;
                let registry = g.registry.clone().unwrap_or_else(|| listen.to_string());
                let pg = PolicyGate::new(&g.policy, g.database.as_deref(), &registry, &scratch)?;
                Some(Arc::new(pg) as Arc<dyn Gate>)
            }
            (None, None) => None,
        };
        let listener =
            std::net::TcpListener::bind(listen).map_err(|source| ServeError::Listen {
                addr: listen,
                source,
            })?;
        listener
            .set_nonblocking(true)
            .map_err(|source| ServeError::Listen {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ServeError::Listen {
            addr: listen,
            source,
        })?;
        fewer_malloc_arenas();
        survive_closed_connections();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("customs-serve")
            // File reads and writes run here one chunk at a time (no task holds a thread for
            // a whole transfer), so a small pool keeps up, and a burst of uploads does not
            // start hundreds of threads, each with its own stack and malloc arena.
            .max_blocking_threads(MAX_BLOCKING_THREADS)
            .build()
            .map_err(|source| ServeError::Listen { addr, source })?;
        let pull_gate = if config.pull_gate.is_empty() {
            None
        } else {
            let scratch = config.data_dir.join("gate");
            std::fs::create_dir_all(&scratch).map_err(|source| ServeError::Storage {
                path: scratch.clone(),
                source,
            })?;
            Some(pull_gate::PullGate::load(&config.pull_gate, &scratch).map_err(ServeError::Auth)?)
        };
        let watch_every = config
            .gate
            .as_ref()
            .filter(|g| g.watch_secs > 0)
            .map(|g| std::time::Duration::from_secs(g.watch_secs));
        let update = config
            .gate
            .as_ref()
            .filter(|g| g.update_secs > 0)
            .and_then(|g| {
                let every = std::time::Duration::from_secs(g.update_secs);
                Some((g.database.clone()?, g.update_mirror.clone(), every))
            });
        let mut state = http::State::new(store, config, gate, auth);
        state.pull_gate = pull_gate;
        let state = Arc::new(state);
        let (tx, rx) = tokio::sync::watch::channel(false);
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                if let Some(every) = watch_every {
                    tokio::spawn(http::watch(Arc::clone(&state), every));
                }
                if let Some((database, mirror, every)) = update {
                    tokio::spawn(http::update_database(database, mirror, every));
                }
                if let Err(e) = serve(listener, state, tls, rx).await {
                    log::error!("registry stopped: {e}");
                }
            });
        });
        Ok(Server {
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// The address it listens on (with the real port when the config said port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets requests in flight finish, and returns when it has stopped.
    pub fn stop(mut self) {
        self.shutdown_now();
    }

    /// Serves until SIGINT or SIGTERM, then stops gracefully: no new connections, and
    /// requests in flight (uploads included) run to completion.
    pub fn run_until_signal(self) -> std::io::Result<()> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                r = tokio::signal::ctrl_c() => r,
                _ = term.recv() => Ok(()),
            }
        })?;
        log::info!("shutting down: finishing requests in flight");
        self.stop();
        Ok(())
    }

    /// Blocks until the server stops (it stops on its own only on a fatal error).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    fn shutdown_now(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}

/// The most bytes a connection buffers while reading a request.
const CONNECTION_BUFFER: usize = 64 * 1024;

/// The most blocking-pool threads the server's runtime starts.
const MAX_BLOCKING_THREADS: usize = 8;

/// A peer that closes its connection while a response is written must cost only that
/// request. Writes to such a socket raise SIGPIPE, whose default action ends the process, and
/// a program embedding the server may have restored that default (command-line programs often
/// do, to stop quietly on a closed pipe): any client could then stop the registry by hanging
/// up mid-download. The server ignores SIGPIPE, and the write fails with `EPIPE` on that
/// connection alone.
fn survive_closed_connections() {
    #[cfg(unix)]
    // SAFETY: setting SIGPIPE's disposition to "ignore" installs no handler; it is valid at
    // any time and in any thread.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// glibc gives every thread that allocates its own arena (up to eight per core), and each
/// keeps the memory it freed: under parallel uploads most of the server's resident memory
/// was freed-but-kept arena pages. Two arenas are plenty for a server that streams.
fn fewer_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator; M_ARENA_MAX may be set at any time.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

fn tls_acceptor(t: &TlsConfig) -> Result<tokio_rustls::TlsAcceptor, ServeError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let err = |what: &str, e: &dyn std::fmt::Display| ServeError::Auth(format!("TLS {what}: {e}"));
    let certs = CertificateDer::pem_file_iter(&t.cert)
        .map_err(|e| err(&format!("certificate {}", t.cert.display()), &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(&format!("certificate {}", t.cert.display()), &e))?;
    let key = PrivateKeyDer::from_pem_file(&t.key)
        .map_err(|e| err(&format!("key {}", t.key.display()), &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err("versions", &e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| err("certificate and key", &e))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

async fn connection<IO>(
    io: IO,
    state: Arc<http::State>,
    peer: std::net::IpAddr,
    mut stop: tokio::sync::watch::Receiver<bool>,
) where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let idle = state.config.idle_timeout();
    let service = service_fn(move |req| {
        let state = Arc::clone(&state);
        async move { Ok::<_, Infallible>(http::handle(state, req, peer).await) }
    });
    // A smaller read buffer than hyper's default (about 400 KiB): uploads arrive in chunks
    // this size at most, which keeps eight parallel pushes from holding megabytes.
    // Headers that stall past the idle timeout close the connection (slow-header clients
    // cannot hold it); a stalled body is timed out by the handlers, frame by frame.
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(idle)
        .max_buf_size(CONNECTION_BUFFER)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                log::debug!("connection: {e}");
            }
        }
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    state: Arc<http::State>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    log::warn!("accept: {e}");
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let state = Arc::clone(&state);
        let stop = shutdown.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            match tls {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(s) => connection(s, state, peer.ip(), stop).await,
                    Err(e) => log::debug!("TLS handshake with {peer}: {e}"),
                },
                None => connection(stream, state, peer.ip(), stop).await,
            }
        });
        while connections.try_join_next().is_some() {}
    }
    // Finish requests in flight (uploads included) before returning.
    while connections.join_next().await.is_some() {}
    Ok(())
}
