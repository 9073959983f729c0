//! Encode and decode cost per advertisement, for each kind of packet.

use std::hint::black_box;
use std::net::IpAddr;

use criterion::{criterion_group, criterion_main, Criterion};
use vrrp_proto::{
    decode_ip_packet, decode_payload, Advertisement, Centiseconds, ChecksumMode, IpMetadata,
    ReceiveChecks, Version,
};

struct Kind {
    name: &'static str,
    advert: Advertisement,
    source: IpAddr,
    destination: IpAddr,
}

fn kinds() -> Vec<Kind> {
    let ip = |text: &str| text.parse::<IpAddr>().expect("literal address");
    let v4_addresses = vec![ip("192.168.200.16"), ip("192.168.200.17")];
    vec![
        Kind {
            name: "v2",
            advert: Advertisement::new(
                Version::V2,
                51,
                100,
                Centiseconds::from_seconds(1),
                v4_addresses.clone(),
            )
            .expect("valid"),
            source: ip("192.168.200.1"),
            destination: ip("224.0.0.18"),
        },
        Kind {
            name: "v3_ipv4",
            advert: Advertisement::new(Version::V3, 51, 100, Centiseconds::new(100), v4_addresses)
                .expect("valid"),
            source: ip("192.168.200.1"),
            destination: ip("224.0.0.18"),
        },
        Kind {
            name: "v3_ipv6",
            advert: Advertisement::new(
                Version::V3,
                51,
                100,
                Centiseconds::new(100),
                vec![ip("fe80::51"), ip("2001:db8::51")],
            )
            .expect("valid"),
            source: ip("fe80::1"),
            destination: ip("ff02::12"),
        },
    ]
}

fn packets(c: &mut Criterion) {
    for kind in kinds() {
        let mode = ChecksumMode::default();
        let payload =
            kind.advert.encode_payload(kind.source, kind.destination, mode).expect("encodes");
        let packet =
            kind.advert.encode_ip_packet(kind.source, kind.destination, mode).expect("encodes");
        let meta = IpMetadata { source: kind.source, destination: kind.destination, ttl: 255 };
        let checks = ReceiveChecks::default();

        c.bench_function(&format!("decode_payload/{}", kind.name), |b| {
            b.iter(|| decode_payload(black_box(&payload), meta, checks))
        });
        c.bench_function(&format!("decode_ip_packet/{}", kind.name), |b| {
            b.iter(|| decode_ip_packet(black_box(&packet), checks))
        });
        let mut buffer = Vec::with_capacity(128);
        c.bench_function(&format!("encode_payload_into/{}", kind.name), |b| {
            b.iter(|| {
                buffer.clear();
                black_box(&kind.advert).encode_payload_into(
                    &mut buffer,
                    kind.source,
                    kind.destination,
                    mode,
                )
            })
        });
        c.bench_function(&format!("encode_ip_packet/{}", kind.name), |b| {
            b.iter(|| black_box(&kind.advert).encode_ip_packet(kind.source, kind.destination, mode))
        });
    }
}

criterion_group!(benches, packets);
criterion_main!(benches);
