//! A fault-injecting HTTP/1.1 proxy on 127.0.0.1 in front of a test registry: it answers
//! with errors, corrupts blob bodies, redirects blob downloads, adds credentials, or resets
//! uploads, and records every request it saw. One request per connection
//! (`Connection: close`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the proxy does to requests.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Forward everything unchanged.
    None,
    /// Answer the first `count` requests with `status` (and `Retry-After: secs` if given),
    /// then forward.
    FailFirst {
        /// How many requests fail.
        count: usize,
        /// The status they are answered with.
        status: u16,
        /// The `Retry-After` value, in seconds.
        retry_after: Option<u64>,
    },
    /// Forward, but flip the first byte of the body of every blob download.
    CorruptBlobs,
    /// Answer blob downloads with `307` to the same path on `to` (`host:port`).
    RedirectBlobs {
        /// The `host:port` redirected to.
        to: String,
    },
    /// Forward with this `Authorization` header added (like a pre-signed storage URL).
    AddAuthorization(String),
    /// Accept every connection and never answer (connections are held open until drop).
    Silent,
    /// Hang up on every blob upload whose body is over 64 KiB (`PATCH` or `PUT` under
    /// `/blobs/uploads/`) after reading its first 4 KiB, with the rest unread, so the
    /// connection is reset while the client is still writing.
    ResetUploads,
    /// Forward, but send the body of every manifest (`blobs: false`) or blob (`blobs: true`)
    /// download one byte at a time, `every` apart, after prompt headers.
    Trickle {
        /// Trickle blob downloads (else manifest downloads).
        blobs: bool,
        /// The pause between bytes.
        every: Duration,
    },
}

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The HTTP method.
    pub method: String,
    /// The request target, as sent.
    pub path: String,
    /// The `Authorization` header, if sent.
    pub authorization: Option<String>,
}

/// A proxy on 127.0.0.1 in front of a registry that injects one [`Fault`]; stopped on drop.
pub struct FaultProxy {
    /// Where the proxy listens.
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Seen>>>,
    thread: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` with `fault`.
    pub fn start(upstream: SocketAddr, fault: Fault) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (stop2, seen2) = (stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            let mut failures_left = match fault {
                Fault::FailFirst { count, .. } => count,
                _ => 0,
            };
            let mut held = Vec::new();
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) if matches!(fault, Fault::Silent) => held.push(stream),
                    Ok((stream, _)) => {
                        let _ = stream.set_nonblocking(false);
                        let _ = serve(stream, upstream, &fault, &mut failures_left, &seen2, &stop2);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FaultProxy {
            addr,
            stop,
            seen,
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:PORT` of the proxy.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Every request the proxy has seen, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn is_blob_get(method: &str, path: &str) -> bool {
    method == "GET" && path.contains("/blobs/sha256:")
}

fn serve(
    client: TcpStream,
    upstream: SocketAddr,
    fault: &Fault,
    failures_left: &mut usize,
    seen: &Mutex<Vec<Seen>>,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    // A TLS ClientHello (the client trying HTTPS first): hang up, as a plain server would.
    if reader.fill_buf()?.first() == Some(&0x16) {
        return Ok(());
    }
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    let mut content_length = 0usize;
    let mut authorization = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        let (k, v) = h.split_once(':').unwrap_or((h.as_str(), ""));
        let (k, v) = (k.trim().to_string(), v.trim().to_string());
        match k.to_ascii_lowercase().as_str() {
            "content-length" => content_length = v.parse().unwrap_or(0),
            "authorization" => authorization = Some(v.clone()),
            "connection" => continue,
            _ => {}
        }
        headers.push((k, v));
    }
    if matches!(fault, Fault::ResetUploads)
        && (method == "PATCH" || method == "PUT")
        && path.contains("/blobs/uploads/")
        && content_length > 64 * 1024
    {
        seen.lock().unwrap().push(Seen {
            method,
            path,
            authorization,
        });
        let mut some = [0u8; 4096];
        reader.read_exact(&mut some)?;
        // Closing with unread bytes in the receive buffer sends a reset.
        return Ok(());
    }
    let mut body = vec![0u8; content_length];
    reader.read_exact(&mut body)?;
    seen.lock().unwrap().push(Seen {
        method: method.clone(),
        path: path.clone(),
        authorization,
    });
    let mut client = client;

    match fault {
        Fault::FailFirst {
            status,
            retry_after,
            ..
        } if *failures_left > 0 => {
            *failures_left -= 1;
            let extra = retry_after
                .map(|s| format!("Retry-After: {s}\r\n"))
                .unwrap_or_default();
            let msg = "injected failure";
            write!(
                client,
                "HTTP/1.1 {status} Injected\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{msg}",
                msg.len()
            )?;
            return Ok(());
        }
        Fault::RedirectBlobs { to } if is_blob_get(&method, &path) => {
            write!(
                client,
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://{to}{path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )?;
            return Ok(());
        }
        Fault::AddAuthorization(value) => {
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
            headers.push(("Authorization".into(), value.clone()));
        }
        _ => {}
    }

    let mut up = TcpStream::connect(upstream)?;
    up.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    for (k, v) in &headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    up.write_all(head.as_bytes())?;
    up.write_all(&body)?;
    let mut response = Vec::new();
    up.read_to_end(&mut response)?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .unwrap_or(response.len());
    let (resp_head, resp_body) = response.split_at(split);
    let resp_head = String::from_utf8_lossy(resp_head);
    let mut out = String::new();
    for line in resp_head.split("\r\n").filter(|l| !l.is_empty()) {
        if line.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut resp_body = resp_body.to_vec();
    let ok = resp_head.starts_with("HTTP/1.1 200") || resp_head.starts_with("HTTP/1.0 200");
    if matches!(fault, Fault::CorruptBlobs)
        && ok
        && is_blob_get(&method, &path)
        && !resp_body.is_empty()
    {
        resp_body[0] ^= 0xff;
    }
    client.write_all(out.as_bytes())?;
    if let Fault::Trickle { blobs, every } = fault {
        let hit = if *blobs {
            is_blob_get(&method, &path)
        } else {
            method == "GET" && path.contains("/manifests/")
        };
        if ok && hit {
            client.flush()?;
            for b in &resp_body {
                if stop.load(Ordering::SeqCst) {
                    return Ok(());
                }
                std::thread::sleep(*every);
                client.write_all(&[*b])?;
                client.flush()?;
            }
            return Ok(());
        }
    }
    client.write_all(&resp_body)?;
    client.flush()?;
    Ok(())
}
