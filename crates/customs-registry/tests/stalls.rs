//! A registry that never answers, or trickles bytes, fails a pull with a clear error inside a
//! minute, with the client's default timeouts (issue 12). A real `docker-registry` sits behind
//! a fault-injecting proxy on loopback.

use customs_testkit::registry as support;

use std::io::Read;
use std::time::{Duration, Instant};

use customs_image::manifest::{Descriptor, Manifest};
use customs_image::reference::Reference;
use customs_registry::{RegistryClient, RegistryError, RegistryOptions};
use support::proxy::{Fault, FaultProxy};
use support::{shared_image, Mode, Registry};

const LIMIT: Duration = Duration::from_secs(60);

fn reference(host: &str, rest: &str) -> Reference {
    Reference::parse(&format!("{host}/{rest}")).unwrap()
}

/// The registry's own options with the default timeouts (only retries are fast).
fn client(reg: &Registry) -> RegistryClient {
    let defaults = RegistryOptions::default();
    RegistryClient::new(RegistryOptions {
        connect_timeout: defaults.connect_timeout,
        read_timeout: defaults.read_timeout,
        request_budget: defaults.request_budget,
        ..reg.options()
    })
    .unwrap()
}

#[test]
fn a_registry_that_never_answers_fails_inside_a_minute() {
    let reg = Registry::start(Mode::Anonymous);
    let proxy = FaultProxy::start(reg.addr, Fault::Silent);
    let started = Instant::now();
    let err = client(&reg)
        .get_manifest(&reference(&proxy.host(), "app:latest"))
        .unwrap_err();
    let took = started.elapsed();
    assert!(took < LIMIT, "gave up after {took:?}: {err}");
    assert!(
        matches!(err, RegistryError::Connect { .. }) && err.to_string().contains("timed out"),
        "{err}"
    );
}

#[test]
fn a_trickled_manifest_fails_inside_a_minute() {
    let reg = Registry::start(Mode::Anonymous);
    reg.push_oci_archive(&shared_image("app-multi.oci.tar"), "app:latest");
    let proxy = FaultProxy::start(
        reg.addr,
        Fault::Trickle {
            blobs: false,
            every: Duration::from_secs(2),
        },
    );
    let started = Instant::now();
    let err = client(&reg)
        .get_manifest(&reference(&proxy.host(), "app:latest"))
        .unwrap_err();
    let took = started.elapsed();
    assert!(took < LIMIT, "gave up after {took:?}: {err}");
    assert!(err.to_string().contains("stalled"), "{err}");
}

#[test]
fn a_trickled_blob_fails_inside_a_minute_and_a_slow_consumer_does_not() {
    let reg = Registry::start(Mode::Anonymous);
    reg.push_oci_archive(&shared_image("app-multi.oci.tar"), "app:latest");
    let direct = client(&reg);
    let r = reference(&reg.host(), "app:latest");
    let (bytes, _, _) = direct.get_manifest(&r).unwrap();
    let manifest: Manifest = serde_json::from_slice(&bytes).unwrap();
    let layer: Descriptor = manifest.layers[0].clone();

    // A consumer that pauses longer than the stall window between reads is not a stall.
    let mut blob = direct.get_blob(&r.repo(), &layer).unwrap();
    let mut first = vec![0u8; 4096];
    blob.read_exact(&mut first).unwrap();
    std::thread::sleep(Duration::from_secs(17));
    std::io::copy(&mut blob, &mut std::io::sink()).unwrap();

    let proxy = FaultProxy::start(
        reg.addr,
        Fault::Trickle {
            blobs: true,
            every: Duration::from_millis(500),
        },
    );
    let started = Instant::now();
    let trickled = client(&reg);
    let r = reference(&proxy.host(), "app:latest");
    let err = match trickled.get_blob(&r.repo(), &layer) {
        Ok(mut blob) => std::io::copy(&mut blob, &mut std::io::sink())
            .unwrap_err()
            .to_string(),
        Err(e) => e.to_string(),
    };
    let took = started.elapsed();
    assert!(took < LIMIT, "gave up after {took:?}: {err}");
    assert!(err.contains("stalled"), "{err}");
}
