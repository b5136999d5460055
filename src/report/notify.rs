//! Telling someone: a JSON POST of the report to a webhook (chat, paging, ticketing),
//! retried with backoff, on FAIL and ERROR or after every drill.

use super::model::{DrillReport, Verdict};
use crate::error::{Error, Result};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyOn {
    Failure,
    Always,
}

impl NotifyOn {
    pub fn parse(text: &str) -> Result<NotifyOn> {
        match text {
            "failure" => Ok(NotifyOn::Failure),
            "always" => Ok(NotifyOn::Always),
            other => Err(Error::Usage(format!(
                "notify.on = {other:?}: use \"failure\" (FAIL or ERROR) or \"always\""
            ))),
        }
    }

    pub fn wants(self, verdict: Verdict) -> bool {
        self == NotifyOn::Always || verdict != Verdict::Pass
    }
}

/// Refuses a plain-http webhook except to this machine: the report names stores and
/// paths, and the URL often carries a token.
pub fn check_url(url: &str) -> Result<()> {
    let parsed = reqwest::Url::parse(url).map_err(|e| Error::Usage(format!("webhook URL: {e}")))?;
    let host = parsed.host_str().unwrap_or_default();
    let loopback =
        crate::store::spec::is_loopback(host.trim_start_matches('[').trim_end_matches(']'));
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(Error::Usage(
            "webhook URL must be https:// (plain http:// only to this machine)".into(),
        )),
    }
}

/// Posts `{"report_id": …, "report": …}`; retries timeouts, resets, 429 and 5xx with
/// backoff, at most `attempts` times. Returns what happened, for the operator.
pub async fn post(
    url: &str,
    report_id: &str,
    report: &DrillReport,
    attempts: usize,
) -> Result<String> {
    check_url(url)?;
    crate::tls::install_crypto_provider();
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| Error::Other(format!("webhook client: {e}")))?;
    let body = serde_json::json!({ "report_id": report_id, "report": report });
    let mut delays = backon::BackoffBuilder::build(
        backon::ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(Duration::from_millis(200))
            .with_max_delay(Duration::from_secs(5))
            .with_max_times(attempts.saturating_sub(1)),
    );
    let mut tried = 0;
    loop {
        tried += 1;
        let outcome = client.post(url).json(&body).send().await;
        let retry_reason = match outcome {
            Ok(response) if response.status().is_success() => {
                return Ok(format!(
                    "delivered (HTTP {}, attempt {tried})",
                    response.status().as_u16()
                ));
            }
            Ok(response) => {
                let status = response.status();
                if status.as_u16() == 429 || status.is_server_error() {
                    format!("HTTP {}", status.as_u16())
                } else {
                    return Err(Error::Other(format!(
                        "webhook refused the report: HTTP {}",
                        status.as_u16()
                    )));
                }
            }
            Err(e) => format!("{e}"),
        };
        match delays.next() {
            Some(delay) => tokio::time::sleep(delay).await,
            None => {
                return Err(Error::Other(format!(
                    "webhook not reached after {tried} attempt(s): {retry_reason}"
                )));
            }
        }
    }
}
