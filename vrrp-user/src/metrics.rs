//! Prometheus metrics, opt-in (`--metrics-listen ADDR:PORT`): `GET /metrics` in the text
//! exposition format, rendered from the latest published snapshot by tasks of their own.
//!
//! Served by hyper: it runs on the daemon's tokio runtime, and bounds what a client can hold
//! (header read timeout, buffer size); connections are bounded here.
//!
//! `vrrpd_instance_state` uses the keepalived exporter's encoding (0 INIT, 1 BACKUP, 2 MASTER,
//! 3 FAULT) so dashboards port by renaming; `vrrpd_instance_master` is 0/1 so one rule across
//! nodes catches two masters.

use std::{convert::Infallible, fmt::Write as _, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::{Context, Result};
use http_body_util::Full;
use hyper::{
    body::{Bytes, Incoming},
    server::conn::http1,
    service::service_fn,
    Method, Request, Response, StatusCode,
};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    net::TcpListener,
    sync::{watch, Semaphore},
};

use crate::status::{InstanceStatus, Published, Status};

/// Scrapes served at once; more connections are closed unanswered.
const MAX_CONNECTIONS: usize = 8;
/// The pause after a failed accept.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How long a client has to send its request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// The most a connection may buffer (a scrape's request is a few hundred bytes).
const MAX_BUFFER: usize = 16 * 1024;

/// The endpoint; dropping it stops serving.
pub struct MetricsServer {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `address` and serves the metrics there.
pub async fn serve(
    address: SocketAddr,
    published: watch::Receiver<Arc<Published>>,
) -> Result<MetricsServer> {
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("binding the metrics endpoint {address}"))?;
    log::info!("metrics on http://{address}/metrics");
    Ok(MetricsServer { task: tokio::spawn(accept_loop(listener, published)) })
}

async fn accept_loop(listener: TcpListener, published: watch::Receiver<Arc<Published>>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of descriptors, say: wait instead of spinning on the runtime the event
                // loop shares.
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else { continue };
        let published = published.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let service = service_fn(move |request| {
                let published = published.clone();
                async move { Ok::<_, Infallible>(respond(&request, &published)) }
            });
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(MAX_BUFFER)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn respond(
    request: &Request<Incoming>,
    published: &watch::Receiver<Arc<Published>>,
) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode, body: String| {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = status;
        response
    };
    if request.uri().path() != "/metrics" {
        return reply(StatusCode::NOT_FOUND, "see /metrics\n".to_owned());
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return reply(StatusCode::METHOD_NOT_ALLOWED, "GET only\n".to_owned());
    }
    let published = Arc::clone(&published.borrow());
    let status = match Status::read(&published) {
        Ok(status) => status,
        Err(error) => return reply(StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}\n")),
    };
    let mut response = reply(StatusCode::OK, render(&status));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// keepalived exporter's state encoding.
fn state_code(state: &str) -> u8 {
    match state {
        "BACKUP" => 1,
        "MASTER" => 2,
        "FAULT" => 3,
        _ => 0,
    }
}

/// The text exposition format of `status`.
pub fn render(status: &Status) -> String {
    let mut text = String::new();
    let mut family = |name: &str, kind: &str, help: &str, samples: Vec<(String, u64)>| {
        let _ = writeln!(text, "# HELP {name} {help}");
        let _ = writeln!(text, "# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(text, "{name}{{{labels}}} {value}");
        }
    };
    let per_instance = |value: &dyn Fn(&InstanceStatus) -> u64| {
        status.instances.iter().map(|i| (labels(i, ""), value(i))).collect::<Vec<_>>()
    };
    family(
        "vrrpd_build_info",
        "gauge",
        "vrrpd's version and data path, always 1.",
        vec![(
            format!(
                "version=\"{}\",datapath=\"{}\"",
                escape(&status.daemon.version),
                status.daemon.datapath.name()
            ),
            1,
        )],
    );
    family(
        "vrrpd_instance_state",
        "gauge",
        "The instance's state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.",
        per_instance(&|i| u64::from(state_code(&i.state))),
    );
    family(
        "vrrpd_instance_master",
        "gauge",
        "1 while the instance is MASTER, else 0.",
        per_instance(&|i| u64::from(i.state == "MASTER")),
    );
    let priorities = status
        .instances
        .iter()
        .flat_map(|i| {
            [
                (labels(i, ",kind=\"base\""), u64::from(i.base_priority)),
                (labels(i, ",kind=\"effective\""), u64::from(i.effective_priority)),
            ]
        })
        .collect();
    family(
        "vrrpd_instance_priority",
        "gauge",
        "The instance's priority: configured (base) and after tracking (effective).",
        priorities,
    );
    family(
        "vrrpd_advertisements_sent_total",
        "counter",
        "Advertisements sent, priority 0 included.",
        per_instance(&|i| i.statistics.advertisements_sent),
    );
    family(
        "vrrpd_advertisements_received_total",
        "counter",
        "Advertisements given to the instance's state machine.",
        per_instance(&|i| i.statistics.advertisements_received),
    );
    let transitions = status
        .instances
        .iter()
        .flat_map(|i| {
            let s = &i.statistics;
            [
                ("INIT", s.transitions_to_init),
                ("BACKUP", s.transitions_to_backup),
                ("MASTER", s.transitions_to_master),
                ("FAULT", s.transitions_to_fault),
            ]
            .map(|(to, count)| (labels(i, &format!(",to=\"{to}\"")), count))
        })
        .collect();
    family(
        "vrrpd_transitions_total",
        "counter",
        "State changes of the instance, by the state entered.",
        transitions,
    );
    let frames = status
        .datapath_counters
        .iter()
        .map(|c| {
            (
                format!("reason=\"{}\",verdict=\"{}\"", escape(&c.reason), escape(&c.verdict)),
                c.frames,
            )
        })
        .collect();
    family(
        "vrrpd_datapath_frames_total",
        "counter",
        "Frames the data path judged, by reason and verdict (note: a remark beside a verdict; \
         refused: not VRRP, dropped for no_accept).",
        frames,
    );
    text
}

fn labels(i: &InstanceStatus, extra: &str) -> String {
    format!(
        "instance=\"{}\",interface=\"{}\",vrid=\"{}\",family=\"{}\"{extra}",
        escape(&i.name),
        escape(&i.interface),
        i.vrid,
        i.family
    )
}

/// A label value as the exposition format quotes it.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::sample_status;

    fn sample(text: &str, name_and_labels: &str) -> Option<u64> {
        text.lines().find_map(|line| line.strip_prefix(name_and_labels)?.trim().parse().ok())
    }

    #[test]
    fn the_text_has_each_family_once_with_its_type_and_the_samples_of_the_status() {
        let text = render(&sample_status());
        let vi = "instance=\"VI_1\",interface=\"eth0\",vrid=\"51\",family=\"ipv4\"";
        assert_eq!(sample(&text, &format!("vrrpd_instance_state{{{vi}}}")), Some(2));
        assert_eq!(sample(&text, &format!("vrrpd_instance_master{{{vi}}}")), Some(1));
        let effective = format!("vrrpd_instance_priority{{{vi},kind=\"effective\"}}");
        assert_eq!(sample(&text, &effective), Some(130));
        let base = format!("vrrpd_instance_priority{{{vi},kind=\"base\"}}");
        assert_eq!(sample(&text, &base), Some(150));
        let to_master = format!("vrrpd_transitions_total{{{vi},to=\"MASTER\"}}");
        assert_eq!(sample(&text, &to_master), Some(1));
        let absorbed = "vrrpd_datapath_frames_total{reason=\"absorbed\",verdict=\"accepted\"}";
        assert_eq!(sample(&text, absorbed), Some(7));
        let sent = format!("vrrpd_advertisements_sent_total{{{vi}}}");
        assert!(sample(&text, &sent).is_some_and(|sent| sent > 0), "{text}");
        assert!(text.contains("vrrpd_build_info{version=\""), "{text}");
        for family in [
            "vrrpd_build_info gauge",
            "vrrpd_instance_state gauge",
            "vrrpd_advertisements_received_total counter",
            "vrrpd_datapath_frames_total counter",
        ] {
            let typed = format!("# TYPE {family}\n");
            assert_eq!(text.matches(&typed).count(), 1, "{typed:?} once in:\n{text}");
        }
    }

    #[test]
    fn the_dashboard_queries_only_metrics_the_endpoint_serves() {
        let dashboard: serde_json::Value =
            serde_json::from_str(include_str!("../../dist/grafana-dashboard.json")).unwrap();
        let text = render(&sample_status());
        let mut queried = 0;
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                let expr = target["expr"].as_str().unwrap();
                let names = expr
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .filter(|word| word.starts_with("vrrpd_"));
                for name in names {
                    queried += 1;
                    let typed = format!("# TYPE {name} ");
                    assert!(text.contains(&typed), "the dashboard queries {name}, not served");
                }
            }
        }
        assert!(queried >= 6, "{queried} metric references");
    }

    #[test]
    fn label_values_are_quoted_as_the_format_says() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
