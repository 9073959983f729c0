//! `vrrpd`: the VRRP daemon.

fn main() {
    println!("vrrpd: embedded XDP program of {} bytes", vrrp_user::xdp::OBJECT.len());
}
