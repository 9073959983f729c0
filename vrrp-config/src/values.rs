//! Parsers for single configuration values. Each returns what was expected on failure, so
//! every format reports `invalid KEYWORD "TEXT": EXPECTED` the same way.

use std::net::IpAddr;
use std::time::Duration;

use crate::model::{InitialState, MacAddr, Scope, Version};

pub(crate) type Parsed<T> = Result<T, String>;

pub(crate) fn integer(text: &str, min: i64, max: i64) -> Parsed<i64> {
    text.parse::<i64>()
        .ok()
        .filter(|value| (min..=max).contains(value))
        .ok_or_else(|| format!("expected an integer from {min} to {max}"))
}

pub(crate) fn byte(text: &str, min: u8, max: u8) -> Parsed<u8> {
    integer(text, min.into(), max.into()).map(|value| value as u8)
}

pub(crate) fn count(text: &str, min: u32) -> Parsed<u32> {
    integer(text, min.into(), u32::MAX.into()).map(|value| value as u32)
}

pub(crate) fn weight(text: &str) -> Parsed<i32> {
    integer(text, -253, 253).map(|value| value as i32)
}

/// A `track_file` weight (keepalived track_file.c: -254..254).
pub(crate) fn file_weight(text: &str) -> Parsed<i32> {
    integer(text, -254, 254).map(|value| value as i32)
}

/// Seconds as keepalived writes them: an unsigned decimal such as `1`, `0.5` or `0.000001`.
pub(crate) fn seconds(text: &str) -> Parsed<Duration> {
    let expected = || "expected a number of seconds such as 1 or 0.5".to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > 9 {
        return Err(expected());
    }
    let secs: u64 = whole.parse().map_err(|_| expected())?;
    let nanos: u32 = format!("{fraction:0<9}").parse().map_err(|_| expected())?;
    Ok(Duration::new(secs, nanos))
}

/// A period that must not be zero (a script's `interval` and `timeout`; keepalived reports zero
/// as a configuration error, vrrp_parser.c vrrp_vscript_interval_handler()).
pub(crate) fn positive_seconds(text: &str) -> Parsed<Duration> {
    seconds(text)
        .ok()
        .filter(|value| !value.is_zero())
        .ok_or_else(|| "expected a number of seconds greater than 0, such as 1 or 0.5".to_string())
}

pub(crate) fn seconds_up_to(text: &str, max_secs: u64) -> Parsed<Duration> {
    seconds(text)
        .ok()
        .filter(|value| *value <= Duration::from_secs(max_secs))
        .ok_or_else(|| format!("expected a number of seconds from 0 to {max_secs}"))
}

/// A `vrrp_track_process` delay (keepalived vrrp_parser.c vrrp_tprocess_delay_general():
/// 0.000001 to 3600 seconds).
pub(crate) fn process_delay(text: &str) -> Parsed<Duration> {
    seconds(text)
        .ok()
        .filter(|value| *value >= Duration::from_micros(1) && *value <= Duration::from_secs(3600))
        .ok_or_else(|| "expected a number of seconds from 0.000001 to 3600".to_string())
}

pub(crate) fn ip(text: &str) -> Parsed<IpAddr> {
    text.parse().map_err(|_| "expected an IPv4 or IPv6 address".to_string())
}

/// `mcast_dst_ip`: an IPv4 multicast address, or an IPv6 link-local multicast one (ffX2::/16,
/// keepalived's IN6_IS_ADDR_MC_LINKLOCAL()).
pub(crate) fn mcast_dst_ip(text: &str) -> Parsed<IpAddr> {
    match ip(text)? {
        IpAddr::V4(v4) if v4.is_multicast() => Ok(v4.into()),
        IpAddr::V6(v6) if v6.is_multicast() && v6.segments()[0] & 0xff0f == 0xff02 => Ok(v6.into()),
        IpAddr::V4(_) => Err("expected an IPv4 multicast address".to_string()),
        IpAddr::V6(_) => {
            Err("expected an IPv6 link-local multicast address (ff02::/16)".to_string())
        }
    }
}

/// An address where keepalived also takes `ADDR/MASK` or `ADDR-RANGE` and keeps only `ADDR`
/// (lib/utils.c inet_stosockaddr(): "remove range and mask stuff"); true when something was
/// left out.
pub(crate) fn ip_ignoring_mask(text: &str) -> Parsed<(IpAddr, bool)> {
    match text.find(['/', '-']) {
        Some(end) => ip(&text[..end]).map(|address| (address, true)),
        None => ip(text).map(|address| (address, false)),
    }
}

/// `ADDR[/PREFIX]`; the prefix defaults to the full address length, as keepalived.
pub(crate) fn ip_with_prefix(text: &str) -> Parsed<(IpAddr, u8)> {
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (text, None),
    };
    let address: IpAddr = address
        .parse()
        .map_err(|_| "expected an IPv4 or IPv6 address with an optional /prefix".to_string())?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    match prefix {
        None => Ok((address, max)),
        Some(prefix) => byte(prefix, 0, max)
            .map(|prefix| (address, prefix))
            .map_err(|_| format!("expected a prefix length from 0 to {max}")),
    }
}

pub(crate) fn mac(text: &str) -> Parsed<MacAddr> {
    let expected = || "expected a MAC address such as 02:00:00:00:00:02".to_string();
    let mut octets = [0u8; 6];
    let mut parts = text.split(':');
    for octet in &mut octets {
        let part = parts.next().filter(|p| p.len() == 2).ok_or_else(expected)?;
        *octet = u8::from_str_radix(part, 16).map_err(|_| expected())?;
    }
    match parts.next() {
        None => Ok(MacAddr(octets)),
        Some(_) => Err(expected()),
    }
}

/// keepalived's `<BOOL>` arguments.
pub(crate) fn boolean(text: &str) -> Parsed<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" => Ok(true),
        "false" | "no" | "off" => Ok(false),
        _ => Err("expected true or false".to_string()),
    }
}

pub(crate) fn state(text: &str) -> Parsed<InitialState> {
    match text.to_ascii_uppercase().as_str() {
        "MASTER" => Ok(InitialState::Master),
        "BACKUP" => Ok(InitialState::Backup),
        _ => Err("expected MASTER or BACKUP".to_string()),
    }
}

pub(crate) fn version(text: &str) -> Parsed<Version> {
    match text {
        "2" => Ok(Version::V2),
        "3" => Ok(Version::V3),
        _ => Err("expected 2 or 3".to_string()),
    }
}

/// Names or the numbers `ip` uses for them.
pub(crate) fn scope(text: &str) -> Parsed<Scope> {
    match text {
        "global" | "0" => Ok(Scope::Global),
        "site" | "200" => Ok(Scope::Site),
        "link" | "253" => Ok(Scope::Link),
        "host" | "254" => Ok(Scope::Host),
        "nowhere" | "255" => Ok(Scope::Nowhere),
        _ => Err("expected global, site, link, host or nowhere".to_string()),
    }
}

/// Splits a command line into arguments like keepalived does, without any shell: whitespace
/// separates; single quotes keep text literally; double quotes keep spaces and honour
/// backslash escapes; a backslash outside quotes escapes the next character.
pub(crate) fn command_line(text: &str) -> Parsed<Vec<String>> {
    let mut argv = Vec::new();
    let mut current: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => argv.extend(current.take()),
            '\'' => {
                let arg = current.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => arg.push(c),
                        None => return Err("expected a closing ' in the command".to_string()),
                    }
                }
            }
            '"' => {
                let arg = current.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => arg.extend(chars.next()),
                        Some(c) => arg.push(c),
                        None => return Err("expected a closing \" in the command".to_string()),
                    }
                }
            }
            '\\' => current.get_or_insert_with(String::new).extend(chars.next()),
            c => current.get_or_insert_with(String::new).push(c),
        }
    }
    argv.extend(current);
    if argv.is_empty() {
        return Err("expected a command".to_string());
    }
    Ok(argv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_decimal() {
        assert_eq!(seconds("1"), Ok(Duration::from_secs(1)));
        assert_eq!(seconds("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(seconds("0.000001"), Ok(Duration::from_micros(1)));
        assert!(seconds("-1").is_err());
        assert!(seconds(".5").is_err());
        assert!(seconds("1s").is_err());
        assert!(seconds("99999999999999999999999").is_err());
    }

    #[test]
    fn addresses_with_prefixes() {
        assert_eq!(ip_with_prefix("192.0.2.1"), Ok(("192.0.2.1".parse().unwrap(), 32)));
        assert_eq!(ip_with_prefix("2001:db8::1/64"), Ok(("2001:db8::1".parse().unwrap(), 64)));
        assert_eq!(
            ip_with_prefix("192.0.2.1/33"),
            Err("expected a prefix length from 0 to 32".to_string())
        );
        assert!(ip_with_prefix("192.0.2/24").is_err());
    }

    #[test]
    fn masks_and_ranges_after_an_address_are_left_out() {
        assert_eq!(ip_ignoring_mask("192.0.2.1"), Ok((ip("192.0.2.1").unwrap(), false)));
        assert_eq!(ip_ignoring_mask("192.0.2.1/24"), Ok((ip("192.0.2.1").unwrap(), true)));
        assert_eq!(ip_ignoring_mask("192.0.2.3-9"), Ok((ip("192.0.2.3").unwrap(), true)));
        assert_eq!(ip_ignoring_mask("2001:db8::1/64"), Ok((ip("2001:db8::1").unwrap(), true)));
        assert!(ip_ignoring_mask("192.0.2/24").is_err());
    }

    #[test]
    fn mac_addresses() {
        assert_eq!(mac("02:00:00:00:00:0a"), Ok(MacAddr([2, 0, 0, 0, 0, 10])));
        assert!(mac("02:00:00:00:00").is_err());
        assert!(mac("02:00:00:00:00:00:01").is_err());
        assert!(mac("2:00:00:00:00:01").is_err());
    }

    #[test]
    fn command_lines_split_without_a_shell() {
        assert_eq!(
            command_line(r#"/bin/check --name 'a b' "c \"d\"" e\ f $HOME;"#),
            Ok(vec![
                "/bin/check".to_string(),
                "--name".into(),
                "a b".into(),
                "c \"d\"".into(),
                "e f".into(),
                "$HOME;".into()
            ])
        );
        assert!(command_line("/bin/x 'open").is_err());
        assert!(command_line("   ").is_err());
    }
}
