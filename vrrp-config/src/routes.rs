//! `virtual_routes`, `static_routes`, `virtual_rules` and `static_rules` lines: the subset of
//! keepalived's `ip route` / `ip rule` grammar (keepalived vrrp_iproute.c alloc_route(),
//! vrrp_iprule.c alloc_rule()) that the configurations of the field use (OpenStack neutron's
//! L3-HA routers, octavia's amphorae, keepalived's samples). Anything else keepalived takes is
//! refused with the word it is on, never guessed at or dropped, since a route left out moves
//! half a router.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::diagnostic::{Report, Word};
use crate::model::{Family, Route, RouteKind, Rule, RuleAction, PROTOCOL_KEEPALIVED, TABLE_MAIN};
use crate::syntax::Node;
use crate::values::{self, Parsed};

/// Route options of keepalived that vrrpd does not carry out.
const UNSUPPORTED_ROUTE_OPTIONS: &[&str] = &[
    "or",
    "nexthop",
    "from",
    "tos",
    "dsfield",
    "as",
    "encap",
    "expires",
    "mtu",
    "hoplimit",
    "advmss",
    "rtt",
    "rttvar",
    "reordering",
    "window",
    "cwnd",
    "ssthresh",
    "realms",
    "rto_min",
    "initcwnd",
    "initrwnd",
    "features",
    "quickack",
    "congctl",
    "pref",
    "ttl-propagate",
    "fastopen_no_cookie",
    "add",
    "prepend",
    "append",
    "vrf",
    "track_group",
    "id",
];

/// Route types of `ip route` that keepalived takes and vrrpd does not.
const UNSUPPORTED_ROUTE_TYPES: &[&str] =
    &["local", "broadcast", "anycast", "multicast", "throw", "nat", "xresolve"];

/// Rule options of keepalived that vrrpd does not carry out.
const UNSUPPORTED_RULE_OPTIONS: &[&str] = &[
    "tos",
    "dsfield",
    "realms",
    "suppress_prefixlength",
    "sup_pl",
    "suppress_ifgroup",
    "sup_group",
    "tunnel-id",
    "uidrange",
    "l3mdev",
    "protocol",
    "ipproto",
    "sport",
    "dport",
    "goto",
    "nop",
    "track_group",
    "type",
];

/// The words of one line. A TOML list entry is one string (`"0.0.0.0/0 via 192.0.2.1"`) or a
/// table whose `address` key is the first word; both read as the keepalived line would.
pub(crate) fn line_words(entry: &Node) -> Vec<Word> {
    let mut words: Vec<Word> = entry
        .keyword
        .text
        .split_whitespace()
        .map(|text| Word { text: text.to_owned(), span: entry.keyword.span.clone() })
        .collect();
    words.extend(entry.args.iter().cloned());
    words
}

/// A cursor over a line's words that reports a missing value at the option that needs it.
struct Line<'w> {
    words: std::slice::Iter<'w, Word>,
}

impl<'w> Line<'w> {
    fn value(&mut self, option: &Word, report: &mut Report) -> Option<&'w Word> {
        let value = self.words.next();
        if value.is_none() {
            report.error_at(&option.span, format!("missing value after {}", option.text));
        }
        value
    }

    fn parsed<T>(
        &mut self,
        option: &Word,
        report: &mut Report,
        parse: impl Fn(&str) -> Parsed<T>,
    ) -> Option<T> {
        let value = self.value(option, report)?;
        parse(&value.text).map_err(|expected| report.invalid(&option.text, value, &expected)).ok()
    }
}

/// The family one address gives a line, checked against what the line said before.
fn settle(family: &mut Option<Family>, address: IpAddr, at: &Word, report: &mut Report) -> bool {
    let this = family_of(address);
    match family {
        Some(settled) if *settled != this => {
            let message = format!("\"{}\" mixes IPv4 and IPv6 in one line", at.text);
            report.error_at(&at.span, message);
            false
        }
        _ => {
            *family = Some(this);
            true
        }
    }
}

fn family_of(address: IpAddr) -> Family {
    if address.is_ipv4() {
        Family::Ipv4
    } else {
        Family::Ipv6
    }
}

fn unspecified(family: Family) -> IpAddr {
    match family {
        Family::Ipv4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Family::Ipv6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

/// A destination or selector: `default` / `any` / `all` (keepalived vrrp_ipaddress.c
/// parse_route()), else `ADDR[/PREFIX]`.
enum Prefix {
    Any,
    Exactly(IpAddr, u8),
}

fn prefix(text: &str) -> Parsed<Prefix> {
    match text {
        "default" | "any" | "all" => Ok(Prefix::Any),
        _ => values::ip_with_prefix(text).map(|(address, len)| Prefix::Exactly(address, len)),
    }
}

/// A table: a number from 1, or the names every iproute2 knows. Other names would need
/// /etc/iproute2/rt_tables, which is not read: a name it does not define must not route into
/// some other table.
fn table(text: &str) -> Parsed<u32> {
    let number = match text {
        "main" => TABLE_MAIN,
        "default" => 253,
        "local" => 255,
        _ => text.parse().map_err(|_| {
            "expected a table number from 1, main, default or local (names from \
             /etc/iproute2/rt_tables are not read)"
                .to_string()
        })?,
    };
    if number == 0 {
        return Err("table 0 is not a table".into());
    }
    Ok(number)
}

fn protocol(text: &str) -> Parsed<u8> {
    match text {
        "kernel" => Ok(2),
        "boot" => Ok(3),
        "static" => Ok(4),
        "keepalived" => Ok(PROTOCOL_KEEPALIVED),
        _ => values::byte(text, 0, 255)
            .map_err(|_| "expected a protocol number or kernel, boot, static, keepalived".into()),
    }
}

fn number(text: &str) -> Parsed<u32> {
    text.parse().map_err(|_| "expected a number from 0 to 4294967295".to_string())
}

/// `MARK[/MASK]`, decimal or 0x hexadecimal.
fn fwmark(text: &str) -> Parsed<(u32, Option<u32>)> {
    let one = |text: &str| match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    };
    let expected = || "expected MARK or MARK/MASK (decimal or 0x hexadecimal)".to_string();
    match text.split_once('/') {
        Some((mark, mask)) => {
            Ok((one(mark).ok_or_else(expected)?, Some(one(mask).ok_or_else(expected)?)))
        }
        None => Ok((one(text).ok_or_else(expected)?, None)),
    }
}

/// A route or rule option vrrpd cannot carry out: an error, or with `--allow-unsupported` a
/// warning and the whole line left out (half a route would be a different one).
fn unsupported(what: &str, word: &Word, report: &mut Report, allow_unsupported: bool) {
    if allow_unsupported {
        let message = format!(
            "{what} \"{}\" is not supported: this line is left out (--allow-unsupported), \
             so failover does not move it",
            word.text
        );
        report.warn_at(&word.span, message);
    } else {
        let message = format!(
            "{what} \"{}\" is not supported: vrrpd cannot carry this line out \
             (--allow-unsupported leaves it out)",
            word.text
        );
        report.error_at(&word.span, message);
    }
}

/// One route line. `None` after reporting what is wrong.
pub(crate) fn route(words: &[Word], report: &mut Report, allow_unsupported: bool) -> Option<Route> {
    let mut line = Line { words: words.iter() };
    let mut family = None;
    let mut destination: Option<(Prefix, &Word)> = None;
    let mut kind = RouteKind::Unicast;
    let (mut source, mut gateway, mut device, mut scope) = (None, None, None, None);
    let (mut table_id, mut metric, mut given_protocol) = (TABLE_MAIN, None, None);
    let (mut onlink, mut no_track, mut valid) = (false, false, true);
    while let Some(word) = line.words.next() {
        match word.text.as_str() {
            "inet" => valid &= settle(&mut family, unspecified(Family::Ipv4), word, report),
            "inet6" => valid &= settle(&mut family, unspecified(Family::Ipv6), word, report),
            "src" => {
                let address = line.parsed(word, report, values::ip)?;
                valid &= settle(&mut family, address, word, report);
                source = Some(address);
            }
            "via" | "gw" => {
                let mut value = line.value(word, report)?;
                if value.text == "inet" || value.text == "inet6" {
                    value = line.value(value, report)?;
                }
                let address = values::ip(&value.text)
                    .map_err(|expected| report.invalid(&word.text, value, &expected))
                    .ok()?;
                valid &= settle(&mut family, address, value, report);
                gateway = Some(address);
            }
            "dev" | "oif" => device = Some(line.value(word, report)?.text.clone()),
            "scope" => scope = Some(line.parsed(word, report, values::scope)?),
            "table" => table_id = line.parsed(word, report, table)?,
            "metric" | "priority" | "preference" => {
                metric = Some(line.parsed(word, report, number)?)
            }
            "protocol" | "proto" => {
                given_protocol = Some((line.parsed(word, report, protocol)?, word))
            }
            "onlink" => onlink = true,
            "no_track" => no_track = true,
            "to" => {}
            "unicast" => kind = RouteKind::Unicast,
            "blackhole" => kind = RouteKind::Blackhole,
            "unreachable" => kind = RouteKind::Unreachable,
            "prohibit" => kind = RouteKind::Prohibit,
            text if UNSUPPORTED_ROUTE_TYPES.contains(&text) => {
                unsupported("route type", word, report, allow_unsupported);
                return None;
            }
            text if UNSUPPORTED_ROUTE_OPTIONS.contains(&text) => {
                // Its arguments cannot be told from the next option: stop at it.
                unsupported("route option", word, report, allow_unsupported);
                return None;
            }
            text => match prefix(text) {
                Ok(parsed) => {
                    if let Some((_, first)) = &destination {
                        let message = format!(
                            "a second destination \"{}\" (the first is \"{}\")",
                            word.text, first.text
                        );
                        report.error_at(&word.span, message);
                        return None;
                    }
                    if let Prefix::Exactly(address, _) = parsed {
                        valid &= settle(&mut family, address, word, report);
                    }
                    destination = Some((parsed, word));
                }
                Err(_) => {
                    let expected = "expected a destination (ADDR[/PREFIX] or default) or one of \
                                    src, via, dev, scope, table, metric, protocol, onlink, \
                                    no_track, blackhole, unreachable, prohibit";
                    report.invalid("route option", word, expected);
                    return None;
                }
            },
        }
    }
    let Some((destination, _)) = destination else {
        let first = words.first()?;
        report.error_at(&first.span, "a route needs a destination");
        return None;
    };
    if !valid {
        return None;
    }
    // keepalived: a line that names no address family is IPv4.
    let family = family.unwrap_or(Family::Ipv4);
    let (destination, prefix_len) = match destination {
        Prefix::Any => (unspecified(family), 0),
        Prefix::Exactly(address, len) => (address, len),
    };
    let protocol = match given_protocol {
        Some((protocol, _)) if no_track => protocol,
        Some((protocol, word)) if protocol != PROTOCOL_KEEPALIVED => {
            // keepalived vrrp_iproute.c alloc_route(): a tracked route is recognised by it.
            let message = format!(
                "a tracked route has protocol keepalived ({PROTOCOL_KEEPALIVED}); protocol {protocol} \
                 is not used (add no_track to keep it), as keepalived does"
            );
            report.warn_at(&word.span, message);
            PROTOCOL_KEEPALIVED
        }
        _ => PROTOCOL_KEEPALIVED,
    };
    Some(Route {
        destination,
        prefix_len,
        kind,
        source,
        gateway,
        device,
        scope,
        table: table_id,
        metric,
        protocol,
        onlink,
        no_track,
    })
}

/// One rule line. `None` after reporting what is wrong.
pub(crate) fn rule(words: &[Word], report: &mut Report, allow_unsupported: bool) -> Option<Rule> {
    let mut line = Line { words: words.iter() };
    let mut family = None;
    let (mut from, mut to, mut input, mut output) = (None, None, None, None);
    let (mut mark, mut priority, mut action) = (None, None, None::<(RuleAction, &Word)>);
    let (mut invert, mut no_track, mut valid) = (false, false, true);
    while let Some(word) = line.words.next() {
        let mut set_action = |chosen: RuleAction, report: &mut Report| {
            if let Some((_, first)) = action {
                let message =
                    format!("a rule has one action: \"{}\" after \"{}\"", word.text, first.text);
                report.error_at(&word.span, message);
                return false;
            }
            action = Some((chosen, word));
            true
        };
        match word.text.as_str() {
            "inet" => valid &= settle(&mut family, unspecified(Family::Ipv4), word, report),
            "inet6" => valid &= settle(&mut family, unspecified(Family::Ipv6), word, report),
            "from" | "to" => {
                let value = line.value(word, report)?;
                let parsed = prefix(&value.text)
                    .map_err(|expected| report.invalid(&word.text, value, &expected))
                    .ok()?;
                let selector = match parsed {
                    Prefix::Any => None,
                    Prefix::Exactly(address, len) => {
                        valid &= settle(&mut family, address, value, report);
                        Some((address, len))
                    }
                };
                if word.text == "from" {
                    from = selector;
                } else {
                    to = selector;
                }
            }
            "table" | "lookup" => {
                let table_id = line.parsed(word, report, table)?;
                valid &= set_action(RuleAction::Table(table_id), report);
            }
            "blackhole" => valid &= set_action(RuleAction::Blackhole, report),
            "unreachable" => valid &= set_action(RuleAction::Unreachable, report),
            "prohibit" => valid &= set_action(RuleAction::Prohibit, report),
            "preference" | "order" | "priority" => {
                priority = Some(line.parsed(word, report, number)?)
            }
            "fwmark" => mark = Some(line.parsed(word, report, fwmark)?),
            "iif" | "dev" => input = Some(line.value(word, report)?.text.clone()),
            "oif" => output = Some(line.value(word, report)?.text.clone()),
            "not" => invert = true,
            "no_track" => no_track = true,
            text if UNSUPPORTED_RULE_OPTIONS.contains(&text) => {
                unsupported("rule option", word, report, allow_unsupported);
                return None;
            }
            _ => {
                let expected = "expected one of from, to, table, priority, iif, oif, fwmark, not, \
                                no_track, blackhole, unreachable, prohibit";
                report.invalid("rule option", word, expected);
                return None;
            }
        }
    }
    let Some((action, _)) = action else {
        let first = words.first()?;
        // keepalived vrrp_iprule.c alloc_rule(): "No action specified for rule".
        let message = "a rule needs an action: table N, blackhole, unreachable or prohibit";
        report.error_at(&first.span, message);
        return None;
    };
    if !valid {
        return None;
    }
    Some(Rule {
        family: family.unwrap_or(Family::Ipv4),
        from,
        to,
        input_interface: input,
        output_interface: output,
        fwmark: mark,
        priority,
        action,
        invert,
        no_track,
    })
}
