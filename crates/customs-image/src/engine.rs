//! Local container engines as image sources: Docker (`docker-daemon:NAME`, `docker:NAME`)
//! and Podman (`podman:NAME`), read over their HTTP APIs on a unix socket. No CLI is run.
//!
//! Both engines answer the Docker Engine API's `GET /images/{name}/get` with a `docker save`
//! tarball. Its `manifest.json` comes after the layers, so the stream is spooled to a
//! temporary file (mode 0600, deleted when the image is dropped) and then opened as a
//! docker archive: every digest is checked as for any archive, and no blob is held in memory.
//!
//! The HTTP client is hand-written because it needs so little: one `GET` per image over a
//! local socket, `Connection: close`, and a body that is either `Content-Length`-delimited,
//! chunked or read to EOF. The response head is parsed by `httparse`; the crates that speak
//! HTTP over unix sockets (`hyperlocal`, `bollard`) bring an async runtime for this one
//! request.
//!
//! Sockets: Docker's is `DOCKER_HOST` (`unix://` only), by default `/var/run/docker.sock`.
//! Podman's is `CONTAINER_HOST` (`unix://` only), by default `/run/podman/podman.sock` for
//! root and `$XDG_RUNTIME_DIR/podman/podman.sock` otherwise.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

/// Largest response head accepted.
const MAX_HEAD: usize = 64 << 10;
/// Largest error body read.
const MAX_ERROR_BODY: u64 = 64 << 10;

/// A local engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Engine {
    /// Docker Engine, at `DOCKER_HOST` or `/var/run/docker.sock`.
    Docker,
    /// Podman's Docker-compatible API, at `CONTAINER_HOST` or the user's podman socket.
    Podman,
}

impl Engine {
    /// The transport prefix customs prints (`docker-daemon`, `podman`).
    pub fn transport(self) -> &'static str {
        match self {
            Engine::Docker => "docker-daemon",
            Engine::Podman => "podman",
        }
    }

    /// The environment variable naming the engine's socket.
    pub fn host_variable(self) -> &'static str {
        match self {
            Engine::Docker => "DOCKER_HOST",
            Engine::Podman => "CONTAINER_HOST",
        }
    }

    /// The engine's API socket, from the environment or the default.
    pub fn socket(self) -> Result<PathBuf, EngineError> {
        self.socket_from(std::env::var_os(self.host_variable()))
    }

    fn socket_from(self, host: Option<std::ffi::OsString>) -> Result<PathBuf, EngineError> {
        let var = self.host_variable();
        if let Some(v) = host.filter(|v| !v.is_empty()) {
            let v = v.to_string_lossy().into_owned();
            return match v.strip_prefix("unix://") {
                Some(p) if !p.is_empty() => Ok(PathBuf::from(p)),
                _ => Err(EngineError::Unsupported(format!(
                    "{var}={v:?}: only unix:// sockets are supported"
                ))),
            };
        }
        Ok(match self {
            Engine::Docker => PathBuf::from("/var/run/docker.sock"),
            Engine::Podman => {
                // SAFETY: getuid has no preconditions and cannot fail.
                let root = unsafe { libc::getuid() } == 0;
                match std::env::var_os("XDG_RUNTIME_DIR").filter(|_| !root) {
                    Some(run) => PathBuf::from(run).join("podman/podman.sock"),
                    None => PathBuf::from("/run/podman/podman.sock"),
                }
            }
        })
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Engine::Docker => "docker",
            Engine::Podman => "podman",
        })
    }
}

#[derive(Debug, thiserror::Error)]
/// A local engine could not give an image.
pub enum EngineError {
    /// The engine is not running here (no socket, or nothing listening).
    #[error("{engine} is not reachable at {socket}: {source}")]
    Unreachable {
        /// The engine that was asked.
        engine: Engine,
        /// The socket that was tried.
        socket: PathBuf,
        /// Why connecting failed.
        source: io::Error,
    },
    /// The engine has no such image.
    #[error("{engine} has no image {name:?}")]
    NotFound {
        /// The engine that was asked.
        engine: Engine,
        /// The image name asked for.
        name: String,
    },
    #[error("{engine} answered {status} for {name:?}: {message}")]
    /// The engine answered with an error status.
    Status {
        /// The engine that answered.
        engine: Engine,
        /// The image name asked for.
        name: String,
        /// The HTTP status code.
        status: u16,
        /// The engine's error message (truncated).
        message: String,
    },
    #[error("{0}")]
    /// The engine is configured in a way customs does not support (a `DOCKER_HOST` that is not `unix://`; the message says what).
    Unsupported(String),
    #[error("reading {name:?} from {engine}: {source}")]
    /// Reading the image stream from the engine failed.
    Io {
        /// The engine being read.
        engine: Engine,
        /// The image being read.
        name: String,
        /// The I/O error.
        source: io::Error,
    },
}

impl EngineError {
    /// Whether trying the next source is the right answer (engine absent or image absent).
    pub fn is_absent(&self) -> bool {
        matches!(
            self,
            EngineError::Unreachable { .. } | EngineError::NotFound { .. }
        )
    }
}

/// Percent-encodes an image name for a path segment (`/` and `:` kept, as the engines'
/// routers take `{name:.*}`).
fn encode_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `docker save` of `name` from `engine`, spooled to a temporary file of at most `limit`
/// bytes. The file is deleted when the returned path is dropped.
pub fn save(engine: Engine, name: &str, limit: u64) -> Result<tempfile::TempPath, EngineError> {
    let socket = engine.socket()?;
    let io_err = |source: io::Error| EngineError::Io {
        engine,
        name: name.to_string(),
        source,
    };
    let mut stream = UnixStream::connect(&socket).map_err(|source| EngineError::Unreachable {
        engine,
        socket: socket.clone(),
        source,
    })?;
    // A local engine that stops answering should not hang customs forever.
    stream
        .set_read_timeout(Some(Duration::from_secs(300)))
        .map_err(io_err)?;
    let request = format!(
        "GET /images/{}/get HTTP/1.1\r\nHost: localhost\r\nUser-Agent: customs\r\nAccept: application/x-tar\r\nConnection: close\r\n\r\n",
        encode_name(name)
    );
    stream.write_all(request.as_bytes()).map_err(io_err)?;
    let mut reader = BufReader::with_capacity(256 * 1024, stream);
    let head = read_head(&mut reader).map_err(io_err)?;
    let mut body = body_reader(reader, &head).map_err(io_err)?;
    if head.status != 200 {
        let mut buf = Vec::new();
        let _ = (&mut body).take(MAX_ERROR_BODY).read_to_end(&mut buf);
        let message = serde_json::from_slice::<serde_json::Value>(&buf)
            .ok()
            .and_then(|v| {
                v.get("message")
                    .and_then(|m| m.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| {
                String::from_utf8_lossy(&buf)
                    .trim()
                    .chars()
                    .take(300)
                    .collect()
            });
        // Podman answers 500 with "...image not known" for a missing image on some versions.
        if head.status == 404
            || message.contains("image not known")
            || message.contains("No such image")
        {
            return Err(EngineError::NotFound {
                engine,
                name: name.to_string(),
            });
        }
        return Err(EngineError::Status {
            engine,
            name: name.to_string(),
            status: head.status,
            message,
        });
    }
    let mut spool = tempfile::Builder::new()
        .prefix("customs-engine-")
        .suffix(".tar")
        .tempfile()
        .map_err(io_err)?;
    let n = io::copy(&mut (&mut body).take(limit + 1), spool.as_file_mut()).map_err(io_err)?;
    if n > limit {
        return Err(io_err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the image stream exceeds the {limit}-byte limit"),
        )));
    }
    spool.as_file_mut().flush().map_err(io_err)?;
    Ok(spool.into_temp_path())
}

struct Head {
    status: u16,
    content_length: Option<u64>,
    chunked: bool,
}

fn read_head<R: BufRead>(r: &mut R) -> io::Result<Head> {
    let mut buf = Vec::with_capacity(1024);
    loop {
        let before = buf.len();
        let n = r
            .take((MAX_HEAD - before) as u64 + 1)
            .read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the engine closed the connection before answering",
            ));
        }
        if buf.len() > MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "response head too large",
            ));
        }
        if buf.ends_with(b"\r\n\r\n") || buf.ends_with(b"\n\n") {
            break;
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(&buf) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "incomplete response head",
            ))
        }
        Err(e) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("malformed response: {e}"),
            ))
        }
    }
    let status = resp.code.unwrap_or(0);
    let mut content_length = None;
    let mut chunked = false;
    for h in resp.headers.iter() {
        let value = String::from_utf8_lossy(h.value);
        if h.name.eq_ignore_ascii_case("content-length") {
            content_length =
                Some(value.trim().parse::<u64>().map_err(|_| {
                    io::Error::new(io::ErrorKind::InvalidData, "bad Content-Length")
                })?);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("chunked"));
        }
    }
    Ok(Head {
        status,
        content_length,
        chunked,
    })
}

fn body_reader<R: BufRead + Send + 'static>(r: R, head: &Head) -> io::Result<Box<dyn Read + Send>> {
    Ok(if head.chunked {
        Box::new(Chunked {
            inner: r,
            left: 0,
            done: false,
        })
    } else if let Some(n) = head.content_length {
        Box::new(Exactly {
            inner: r.take(n),
            left: n,
        })
    } else {
        Box::new(r)
    })
}

/// A `Content-Length` body: ending early is an error.
struct Exactly<R> {
    inner: io::Take<R>,
    left: u64,
}

impl<R: Read> Read for Exactly<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.left > 0 && !buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the engine closed the connection mid-body",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// A `Transfer-Encoding: chunked` body (RFC 9112 §7.1); trailers are read and dropped.
struct Chunked<R> {
    inner: R,
    left: u64,
    done: bool,
}

impl<R: BufRead> Chunked<R> {
    fn line(&mut self) -> io::Result<String> {
        let mut line = Vec::new();
        let n = (&mut self.inner).take(4096).read_until(b'\n', &mut line)?;
        if n == 0 || !line.ends_with(b"\n") {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "chunked body cut short",
            ));
        }
        Ok(String::from_utf8_lossy(&line).trim_end().to_string())
    }
}

impl<R: BufRead> Read for Chunked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let line = self.line()?;
            let size = line.split(';').next().unwrap_or("").trim();
            self.left = u64::from_str_radix(size, 16).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("bad chunk size {size:?}"),
                )
            })?;
            if self.left == 0 {
                // Trailers, up to the empty line.
                for _ in 0..64 {
                    if self.line()?.is_empty() {
                        self.done = true;
                        return Ok(0);
                    }
                }
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "too many trailers",
                ));
            }
        }
        let want = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "chunked body cut short",
            ));
        }
        self.left -= n as u64;
        if self.left == 0 {
            let crlf = self.line()?;
            if !crlf.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "chunk not followed by CRLF",
                ));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunked(data: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        Chunked {
            inner: data,
            left: 0,
            done: false,
        }
        .read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn chunked_bodies_decode_and_bad_ones_fail() {
        assert_eq!(
            chunked(b"5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\nX-T: 1\r\n\r\n").unwrap(),
            b"hello!"
        );
        assert!(chunked(b"5\r\nhel").is_err());
        assert!(chunked(b"zz\r\n").is_err());
        assert!(chunked(b"5\r\nhelloXX0\r\n\r\n").is_err());
        assert!(chunked(b"ffffffffffffffffff\r\n").is_err());
    }

    #[test]
    fn heads_parse_and_names_encode() {
        let mut r: &[u8] = b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}";
        let h = read_head(&mut r).unwrap();
        assert_eq!(
            (h.status, h.content_length, h.chunked),
            (404, Some(2), false)
        );
        let mut r: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(read_head(&mut r).unwrap().chunked);
        let mut r: &[u8] = b"garbage\r\n\r\n";
        assert!(read_head(&mut r).is_err());
        assert_eq!(
            encode_name("docker.io/library/alpine:3.10"),
            "docker.io/library/alpine:3.10"
        );
        assert_eq!(encode_name("a b?#"), "a%20b%3F%23");
    }

    #[test]
    fn only_unix_hosts_are_accepted() {
        // The variable is read per call; this test runs in its own process-wide env, so it
        // uses a variable no other test sets.
        std::env::set_var("CONTAINER_HOST", "tcp://127.0.0.1:2375");
        assert!(matches!(
            Engine::Podman.socket(),
            Err(EngineError::Unsupported(_))
        ));
        std::env::set_var("CONTAINER_HOST", "unix:///x/y.sock");
        assert_eq!(Engine::Podman.socket().unwrap(), PathBuf::from("/x/y.sock"));
        std::env::remove_var("CONTAINER_HOST");
    }
}
