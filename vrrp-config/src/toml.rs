//! The native TOML format (schema in the crate documentation).
//!
//! A TOML document is lowered into the same statement tree as keepalived.conf, one key per
//! keyword, so both formats share every rule, default and message; each value keeps the
//! position it was written at.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::diagnostic::{Report, Span, Word};
use crate::syntax::Node;

/// Named blocks: arrays of tables, each with a `name`.
const NAMED_BLOCKS: &[&str] = &[
    "vrrp_instance",
    "vrrp_script",
    "vrrp_sync_group",
    "track_file",
    "vrrp_track_file",
    "vrrp_track_process",
];

/// Flags of keepalived that take no argument and come in pairs, so `false` means the other.
const OPPOSITES: &[(&str, &str)] = &[("preempt", "nopreempt"), ("accept", "no_accept")];

fn opposite(keyword: &str) -> Option<&'static str> {
    OPPOSITES.iter().find_map(|&(yes, no)| match keyword {
        _ if keyword == yes => Some(no),
        _ if keyword == no => Some(yes),
        _ => None,
    })
}

/// Keywords whose value is a command; as an array it is the exact argument list.
const COMMAND_KEYS: &[&str] =
    &["script", "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify"];

pub(crate) fn read_tree(text: &str, origin: &Path, report: &mut Report) -> Vec<Node> {
    let lowering = Lowering { text, line_starts: line_starts(text), file: Arc::from(origin) };
    let document = match DeTable::parse(text) {
        Ok(document) => document,
        Err(error) => {
            let span = lowering.span(error.span().unwrap_or(0..0));
            report.error_at(&span, format!("invalid TOML: {}", error.message().trim_end()));
            return Vec::new();
        }
    };
    let mut nodes = Vec::new();
    for (key, value) in document.get_ref() {
        let keyword = lowering.word(key.get_ref().to_string(), key.span());
        if NAMED_BLOCKS.contains(&keyword.text.as_str()) {
            lowering.named_blocks(&keyword, value, report, &mut nodes);
        } else {
            nodes.extend(lowering.entry(keyword, value, report));
        }
    }
    nodes
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(text.match_indices('\n').map(|(index, _)| index + 1)).collect()
}

struct Lowering<'t> {
    text: &'t str,
    line_starts: Vec<usize>,
    file: Arc<Path>,
}

impl Lowering<'_> {
    fn span(&self, range: Range<usize>) -> Span {
        let offset = range.start.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let line_start = self.line_starts[line.saturating_sub(1)];
        let column = self.text.get(line_start..offset).map_or(0, |prefix| prefix.chars().count());
        Span {
            file: Arc::clone(&self.file),
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column + 1).unwrap_or(u32::MAX),
        }
    }

    fn word(&self, text: String, range: Range<usize>) -> Word {
        Word { text, span: self.span(range) }
    }

    /// `[[vrrp_instance]]` tables become `vrrp_instance NAME { ... }`.
    fn named_blocks(
        &self,
        keyword: &Word,
        value: &Spanned<DeValue<'_>>,
        report: &mut Report,
        nodes: &mut Vec<Node>,
    ) {
        let Some(tables) = value.get_ref().as_array() else {
            let expected = format!("expected an array of tables ([[{}]])", keyword.text);
            report.error_at(&keyword.span, format!("invalid {}: {expected}", keyword.text));
            return;
        };
        for table in tables.iter() {
            let Some(entries) = table.get_ref().as_table() else {
                let message = format!("invalid {}: expected a table", keyword.text);
                report.error_at(&self.span(table.span()), message);
                continue;
            };
            let mut name = None;
            let mut block = Vec::new();
            for (key, value) in entries {
                let key_word = self.word(key.get_ref().to_string(), key.span());
                if key_word.text == "name" {
                    name = self.scalar(&key_word, value, report);
                } else {
                    block.extend(self.entry(key_word, value, report));
                }
            }
            let Some(name) = name else {
                let message = format!("missing name in {}", keyword.text);
                report.error_line(&self.span(table.span()), message);
                continue;
            };
            let keyword = Word { text: keyword.text.clone(), span: name.span.clone() };
            nodes.push(Node { keyword, args: vec![name], block: Some(block) });
        }
    }

    /// `key = value` becomes the statement `key value`.
    fn entry(
        &self,
        keyword: Word,
        value: &Spanned<DeValue<'_>>,
        report: &mut Report,
    ) -> Option<Node> {
        let node = |args, block| Some(Node { keyword: keyword.clone(), args, block });
        match value.get_ref() {
            // keepalived's `preempt` / `nopreempt` and `accept` / `no_accept` take no argument;
            // the TOML boolean picks one of the pair.
            DeValue::Boolean(false) if opposite(&keyword.text).is_some() => {
                let text = opposite(&keyword.text).unwrap_or_default().to_string();
                let keyword = Word { text, span: keyword.span.clone() };
                Some(Node { keyword, args: Vec::new(), block: None })
            }
            DeValue::Boolean(true) => node(Vec::new(), None),
            DeValue::Boolean(false) => node(vec![self.word("false".into(), value.span())], None),
            DeValue::Table(table) => {
                let block = table
                    .iter()
                    .filter_map(|(key, value)| {
                        self.entry(self.word(key.get_ref().to_string(), key.span()), value, report)
                    })
                    .collect();
                node(Vec::new(), Some(block))
            }
            DeValue::Array(items) if COMMAND_KEYS.contains(&keyword.text.as_str()) => {
                let mut argv = Vec::new();
                for item in items.iter() {
                    argv.push(quote(&self.scalar(&keyword, item, report)?.text));
                }
                node(vec![self.word(argv.join(" "), value.span())], None)
            }
            DeValue::Array(items) => {
                let block = items.iter().filter_map(|item| self.list_entry(&keyword, item, report));
                node(Vec::new(), Some(block.collect()))
            }
            _ => node(vec![self.scalar(&keyword, value, report)?], None),
        }
    }

    /// An array element of a list block: `"ADDR"` or `{ address = "ADDR", option = value }`.
    fn list_entry(
        &self,
        keyword: &Word,
        item: &Spanned<DeValue<'_>>,
        report: &mut Report,
    ) -> Option<Node> {
        let Some(table) = item.get_ref().as_table() else {
            let entry = self.scalar(keyword, item, report)?;
            return Some(Node { keyword: entry, args: Vec::new(), block: None });
        };
        let mut entry = None;
        let mut args = Vec::new();
        for (key, value) in table {
            let key_word = self.word(key.get_ref().to_string(), key.span());
            match (key_word.text.as_str(), value.get_ref()) {
                ("address" | "name", _) => entry = self.scalar(&key_word, value, report),
                (_, DeValue::Boolean(true)) => args.push(key_word),
                (_, DeValue::Boolean(false)) => {}
                _ => {
                    let value = self.scalar(&key_word, value, report);
                    args.push(key_word);
                    args.extend(value);
                }
            }
        }
        let Some(entry) = entry else {
            let message =
                format!("invalid {} entry: expected an address or name key", keyword.text);
            report.error_at(&self.span(item.span()), message);
            return None;
        };
        Some(Node { keyword: entry, args, block: None })
    }

    /// A string or number as the text keepalived syntax would have.
    fn scalar(
        &self,
        keyword: &Word,
        value: &Spanned<DeValue<'_>>,
        report: &mut Report,
    ) -> Option<Word> {
        let text = match value.get_ref() {
            DeValue::String(text) => text.to_string(),
            DeValue::Integer(integer) => i128::from_str_radix(integer.as_str(), integer.radix())
                .map_or_else(|_| integer.as_str().to_string(), |number| number.to_string()),
            DeValue::Float(float) => float.as_str().to_string(),
            DeValue::Boolean(flag) => flag.to_string(),
            other => {
                let message = format!(
                    "invalid {}: expected a string or a number, not {}",
                    keyword.text,
                    other.type_str()
                );
                report.error_at(&self.span(value.span()), message);
                return None;
            }
        };
        Some(self.word(text, value.span()))
    }
}

/// Quotes one argument so that keepalived's command splitting gives it back unchanged.
fn quote(argument: &str) -> String {
    let plain = !argument.is_empty()
        && !argument.chars().any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\'));
    if plain {
        return argument.to_string();
    }
    let escaped = argument.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{escaped}\"")
}
