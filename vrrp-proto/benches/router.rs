//! State machine cost per received advertisement: `handle_advertisement`, then draining
//! `poll_output` and reading `poll_timeout`, as the daemon does for each event.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use vrrp_proto::{Advertisement, Centiseconds, Router, RouterConfig, State, Version};

const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100));
const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3));

fn router(t0: Instant) -> Router {
    let config = RouterConfig { version: Version::V3, ..RouterConfig::new(7, LOCAL, vec![VIP]) };
    let mut router = Router::new(config).expect("valid configuration");
    router.handle_startup(t0);
    while router.poll_output().is_some() {}
    router
}

fn advertisement(priority: u8) -> Advertisement {
    Advertisement::new(Version::V3, 7, priority, Centiseconds::new(100), vec![VIP]).expect("valid")
}

fn per_advertisement(c: &mut Criterion) {
    let t0 = Instant::now();

    // The common case: a backup following its master.
    let mut backup = router(t0);
    let from_master = advertisement(200);
    let mut now = t0;
    c.bench_function("router/backup_follows_master", |b| {
        b.iter(|| {
            now += Duration::from_secs(1);
            backup.handle_advertisement(now, PEER, black_box(&from_master));
            while let Some(output) = backup.poll_output() {
                black_box(output);
            }
            black_box(backup.poll_timeout())
        })
    });
    assert_eq!(backup.state(), State::Backup);

    // A master answering a lower priority at once: one output per advertisement.
    let mut master = router(t0);
    master.handle_timeout(t0 + Duration::from_secs(4));
    while master.poll_output().is_some() {}
    let lower = advertisement(50);
    let mut now = t0 + Duration::from_secs(4);
    c.bench_function("router/master_answers_lower", |b| {
        b.iter(|| {
            now += Duration::from_millis(10);
            master.handle_advertisement(now, PEER, black_box(&lower));
            while let Some(output) = master.poll_output() {
                black_box(output);
            }
            black_box(master.poll_timeout())
        })
    });
    assert_eq!(master.state(), State::Master);
}

criterion_group!(benches, per_advertisement);
criterion_main!(benches);
