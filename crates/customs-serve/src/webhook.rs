//! Webhooks: JSON events (`push`, `quarantine`, `findings`) POSTed to configured URLs, each
//! body signed with HMAC-SHA256 under the hook's secret (`X-Customs-Signature-256:
//! sha256=<hex>`, as GitHub signs its hooks). Delivery runs on a blocking thread per event
//! and never delays the request that caused it; a failed delivery is logged without the
//! secret or the body.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::WebhookConfig;

/// The configured hooks.
pub(crate) struct Webhooks {
    hooks: Vec<WebhookConfig>,
}

/// `sha256=<hex>` of `body` under `secret`.
pub(crate) fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl Webhooks {
    pub fn new(hooks: &[WebhookConfig]) -> Webhooks {
        Webhooks {
            hooks: hooks.to_vec(),
        }
    }

    /// Sends `event` with `payload` (an object; `event` and `timestamp` are added) to every
    /// hook that wants it.
    pub fn fire(&self, event: &'static str, mut payload: serde_json::Value) {
        let targets: Vec<WebhookConfig> = self
            .hooks
            .iter()
            .filter(|h| h.events.is_empty() || h.events.iter().any(|e| e == event))
            .cloned()
            .collect();
        if targets.is_empty() {
            return;
        }
        payload["event"] = event.into();
        payload["timestamp"] = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .into();
        let body = payload.to_string();
        tokio::task::spawn_blocking(move || {
            let client = match reqwest::blocking::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
            {
                Ok(c) => c,
                Err(e) => {
                    log::error!("webhook client: {e}");
                    return;
                }
            };
            for hook in targets {
                let sig = signature(hook.secret.as_bytes(), body.as_bytes());
                let result = client
                    .post(&hook.url)
                    .header("Content-Type", "application/json")
                    .header("X-Customs-Event", event)
                    .header("X-Customs-Signature-256", sig)
                    .body(body.clone())
                    .send();
                match result {
                    Ok(r) if r.status().is_success() => {
                        log::info!("webhook {event} delivered to {}", hook.url_for_log())
                    }
                    Ok(r) => log::warn!(
                        "webhook {event} to {}: HTTP {}",
                        hook.url_for_log(),
                        r.status()
                    ),
                    Err(e) => log::warn!(
                        "webhook {event} to {}: {}",
                        hook.url_for_log(),
                        e.without_url()
                    ),
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signature_matches_rfc_4231_test_case_2() {
        assert_eq!(
            super::signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
