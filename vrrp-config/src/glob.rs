//! Shell-style wildcards for `include`: `*`, `?` and `[...]` classes in any path component,
//! matches sorted by name (as glob(3), which keepalived uses). Hidden files only match a
//! pattern that starts with a dot.
//!
//! Matching takes time linear in the name for each star (one backtracking point, as glob(3)
//! implementations do), and expansion examines at most [`MAX_ENTRIES_EXAMINED`] directory
//! entries, so no pattern can make loading a configuration slow.

use std::path::{Component, Path, PathBuf};

/// Directory entries one pattern may look at before it is refused as too broad.
pub const MAX_ENTRIES_EXAMINED: usize = 100_000;

pub(crate) fn has_wildcards(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// The regular files matching `pattern`, sorted. Unreadable directories match nothing.
pub(crate) fn expand(pattern: &Path) -> Result<Vec<PathBuf>, String> {
    let mut examined = 0usize;
    let mut candidates = vec![PathBuf::new()];
    for component in pattern.components() {
        let wildcard = match component {
            Component::Normal(name) => name.to_str().filter(|name| has_wildcards(name)),
            _ => None,
        };
        let Some(wildcard) = wildcard else {
            for candidate in &mut candidates {
                candidate.push(component);
            }
            continue;
        };
        let wildcard: Vec<char> = wildcard.chars().collect();
        let mut next = Vec::new();
        for directory in &candidates {
            let listed = if directory.as_os_str().is_empty() { Path::new(".") } else { directory };
            let Ok(entries) = std::fs::read_dir(listed) else { continue };
            for entry in entries.flatten() {
                examined += 1;
                if examined > MAX_ENTRIES_EXAMINED {
                    return Err(format!(
                        "matches too broadly (more than {MAX_ENTRIES_EXAMINED} directory entries \
                         to examine)"
                    ));
                }
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                if name.starts_with('.') && wildcard.first() != Some(&'.') {
                    continue;
                }
                if matches(&wildcard, &name.chars().collect::<Vec<_>>()) {
                    next.push(directory.join(name));
                }
            }
        }
        candidates = next;
    }
    candidates.retain(|path| path.is_file());
    candidates.sort();
    Ok(candidates)
}

/// Whether `name` matches `pattern`. A star first matches nothing; on a mismatch the latest
/// star takes one more character and matching resumes after it. Earlier stars never need to
/// take more (the latest one can absorb it), so the work is at most pattern x name steps.
fn matches(pattern: &[char], name: &[char]) -> bool {
    let (mut p, mut n) = (0, 0);
    // Where to resume: the pattern just after the latest star, and the name position it took.
    let mut resume: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match pattern.get(p) {
            Some('*') => {
                resume = Some((p + 1, n));
                p += 1;
                continue;
            }
            Some('?') => Some(p + 1),
            Some('[') => match class(&pattern[p + 1..]) {
                Some((members, after)) => members(name[n]).then_some(pattern.len() - after.len()),
                // An unclosed `[` is an ordinary character.
                None => (name[n] == '[').then_some(p + 1),
            },
            Some(literal) => (name[n] == *literal).then_some(p + 1),
            None => None,
        };
        match (step, resume) {
            (Some(next), _) => {
                p = next;
                n += 1;
            }
            (None, Some((after_star, taken))) => {
                resume = Some((after_star, taken + 1));
                p = after_star;
                n = taken + 1;
            }
            (None, None) => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// Parses a `[...]` class body (after the `[`): a membership test and the pattern after `]`.
fn class(body: &[char]) -> Option<(impl Fn(char) -> bool + '_, &[char])> {
    let negated = matches!(body.first(), Some('!' | '^'));
    let start = usize::from(negated);
    // A `]` right after the opening is a member, not the end.
    let end = body.iter().skip(start + 1).position(|&c| c == ']')? + start + 1;
    let set = &body[start..end];
    let member = move |c: char| {
        let mut index = 0;
        let mut found = false;
        while index < set.len() {
            if index + 2 < set.len() && set[index + 1] == '-' {
                found |= (set[index]..=set[index + 2]).contains(&c);
                index += 3;
            } else {
                found |= set[index] == c;
                index += 1;
            }
        }
        found != negated
    };
    Some((member, &body[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob_matches(pattern: &str, name: &str) -> bool {
        matches(&pattern.chars().collect::<Vec<_>>(), &name.chars().collect::<Vec<_>>())
    }

    #[test]
    fn wildcards_and_classes() {
        assert!(glob_matches("*.conf", "a.conf"));
        assert!(!glob_matches("*.conf", "a.conf.bak"));
        assert!(glob_matches("vi?.conf", "vi1.conf"));
        assert!(glob_matches("vi[0-9].conf", "vi7.conf"));
        assert!(!glob_matches("vi[!0-9].conf", "vi7.conf"));
        assert!(glob_matches("vi[]x].conf", "vi].conf"));
        assert!(glob_matches("a[b", "a[b"));
        assert!(glob_matches("*", ""));
        assert!(glob_matches("a*b*c", "aXbYbZc"));
        assert!(!glob_matches("a*b*c", "aXbYbZ"));
        assert!(glob_matches("*a?", "bab"));
        assert!(!glob_matches("?", ""));
        assert!(glob_matches("[ab]*[cd]", "a--d"));
    }

    #[test]
    fn many_stars_against_a_long_name_take_no_time() {
        // Backtracking over every split of the name took minutes for this one.
        let name = "a".repeat(255);
        let started = std::time::Instant::now();
        assert!(!glob_matches("*a*a*a*a*a*b", &name));
        assert!(glob_matches("*a*a*a*a*a*", &name));
        // Microseconds now, over a minute before: a bound a thousand times the cost still
        // catches the exponential matcher, on any machine.
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
    }
}
