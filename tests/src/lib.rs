//! Helpers of the integration tests: namespace labs, crafted frames, BPF_PROG_TEST_RUN.
//!
//! These tests need root (CAP_SYS_ADMIN for namespaces, CAP_BPF and CAP_NET_ADMIN for XDP).
//! Without it they fail with that reason: [`require_root`].

pub mod corpus;
pub mod flood;
pub mod frames;
pub mod interop;
pub mod lab;
pub mod netns;
pub mod rig;
pub mod scale;
pub use vrrp_user::test_run;
pub mod timeline;
pub mod vlan_push;
pub mod xdp;

/// Fails the test, loudly, when it cannot run here.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "this test needs root (namespaces, XDP, BPF maps); run it with `cargo xtask test` as root"
    );
}

/// Polls `condition` until it holds or `timeout` passes; the error names `what` was awaited.
/// Every lab assertion on an asynchronous effect (a script, a log line, a file) waits this way.
pub fn wait_until(
    what: &str,
    timeout: std::time::Duration,
    mut condition: impl FnMut() -> bool,
) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + timeout;
    while !condition() {
        if std::time::Instant::now() > deadline {
            anyhow::bail!("{what}: not within {timeout:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Ok(())
}

/// Runs each listed test function (`fn NAME(hook: Hook)`) once per kernel hook, as
/// `at_xdp::NAME` (`vrrp_xdp`) and `at_tcx::NAME` (`vrrp_tc`): one set of rules, proved at both.
#[macro_export]
macro_rules! at_each_hook {
    ($($test:ident),* $(,)?) => {
        mod at_xdp {
            $(#[test]
            fn $test() {
                super::$test(vrrp_user::hook::Hook::Xdp)
            })*
        }
        mod at_tcx {
            $(#[test]
            fn $test() {
                super::$test(vrrp_user::hook::Hook::Tcx)
            })*
        }
    };
}
