//! Shell-style wildcards for `include`: `*`, `?` and `[...]` classes in any path component,
//! matches sorted by name (as glob(3), which keepalived uses). Hidden files only match a
//! pattern that starts with a dot.

use std::path::{Component, Path, PathBuf};

pub(crate) fn has_wildcards(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// The regular files matching `pattern`, sorted. Unreadable directories match nothing.
pub(crate) fn expand(pattern: &Path) -> Vec<PathBuf> {
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
    candidates
}

fn matches(pattern: &[char], name: &[char]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some(('*', rest)) => (0..=name.len()).any(|skip| matches(rest, &name[skip..])),
        Some(('?', rest)) => !name.is_empty() && matches(rest, &name[1..]),
        Some(('[', rest)) => match (class(rest), name.split_first()) {
            (Some((members, after)), Some((first, tail))) => {
                members(*first) && matches(after, tail)
            }
            (Some(_), None) => false,
            // An unclosed `[` is an ordinary character.
            (None, _) => name.first() == Some(&'[') && matches(rest, &name[1..]),
        },
        Some((literal, rest)) => name.first() == Some(literal) && matches(rest, &name[1..]),
    }
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
    }
}
