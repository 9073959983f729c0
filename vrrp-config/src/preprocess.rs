//! keepalived's line preprocessor: conditional lines, definitions and sequences.
//!
//! keepalived rewrites each line before it parses it (lib/parser.c read_line()), in this order:
//!
//! * `@ID line` keeps `line` only when the configuration id is `ID`; `@^ID line` only when it
//!   is not. The id is `-i`/`--config-id`, else the host name up to its first dot
//!   (keepalived/core/main.c). A line with nothing after `@ID` is dropped.
//! * `$NAME=value` defines `NAME` (no space before `=`); a value ending in `\` continues on the
//!   next lines until one that does not, which makes a multi-line definition.
//! * `~SEQ(VAR, START, STEP, END) line` repeats `line` with `$VAR` defined as each number
//!   (`~SEQ(VAR, END)` counts from 1, `~SEQ(VAR, START, END)` by 1 or -1; `~SEQx` writes the
//!   numbers in hexadecimal).
//! * `$NAME` (followed by a blank, `,`, `)` or the line's end) and `${NAME}` are replaced by the
//!   definition, again and again while the line changes; a reference to nothing is left as
//!   written. A multi-line definition is replaced only where its reference ends the line: its
//!   first line takes the reference's place and its other lines follow.
//!
//! keepalived sets no bound on expansion (`$A=$A` makes it loop forever); this module does:
//! [`MAX_SUBSTITUTIONS`] per line, [`MAX_LINE_CHARS`] a line, [`MAX_NESTING`] sequences and
//! multi-line expansions inside each other, and [`MAX_GENERATED_LINES`] and
//! [`MAX_GENERATED_BYTES`] in all.

use std::collections::HashMap;

use crate::diagnostic::{Report, Span};

/// Substitutions in one line before it counts as a definition that refers to itself.
pub const MAX_SUBSTITUTIONS: usize = 256;
/// The longest line substitution may produce (keepalived's own limit is 1024 bytes, parser.h
/// MAXBUF, past which it stops substituting).
pub const MAX_LINE_CHARS: usize = 4096;
/// Sequences and multi-line expansions nested inside each other.
pub const MAX_NESTING: usize = 8;
/// Lines that sequences and multi-line definitions may generate in one configuration.
pub const MAX_GENERATED_LINES: usize = 100_000;
/// Bytes those lines may hold in all, as much as one configuration file.
pub const MAX_GENERATED_BYTES: usize = 8 << 20;

/// keepalived's built-in definitions that vrrpd cannot give the same value (parser.c
/// set_std_definitions()): a reference to them is left as written, with a warning.
const UNSUPPORTED_BUILTINS: &[&str] = &["_PWD", "_RANDOM", "_ENV"];

#[derive(Debug, Clone)]
struct Definition {
    /// One entry per line; more than one makes a multi-line definition.
    lines: Vec<String>,
}

impl Definition {
    fn multiline(&self) -> bool {
        self.lines.len() > 1
    }
}

/// The preprocessor's state across every file of one configuration: keepalived keeps one list
/// of definitions, so a definition made in an included file holds in the files read after it.
pub(crate) struct Preprocessor {
    config_id: Option<String>,
    definitions: HashMap<String, Definition>,
    /// The multi-line definition whose lines are still being read.
    continuing: Option<String>,
    generated: usize,
    /// Bytes of the lines they produced, against [`MAX_GENERATED_BYTES`].
    generated_bytes: usize,
    /// Set once [`MAX_GENERATED_LINES`] is reached: reported once, nothing more generated.
    over_budget: bool,
}

/// Where preprocessed lines go. It receives the preprocessor back so that a line it acts on
/// (an `include`) is preprocessed with the same definitions, in order.
pub(crate) trait Sink {
    /// One line ready for the lexer, written at `span`'s line.
    fn line(&mut self, preprocessor: &mut Preprocessor, text: &str, span: &Span);
    fn report(&mut self) -> &mut Report;
}

impl Preprocessor {
    pub fn new(config_id: Option<&str>) -> Self {
        let mut definitions = HashMap::new();
        // parser.c set_std_definitions(): the built-ins whose value does not depend on the host.
        let builtin = |value: &str| Definition { lines: vec![value.to_string()] };
        definitions.insert("_INSTANCE".to_string(), builtin(config_id.unwrap_or("")));
        definitions.insert("_HASH".to_string(), builtin("#"));
        definitions.insert("_BANG".to_string(), builtin("!"));
        Preprocessor {
            config_id: config_id.map(str::to_string),
            definitions,
            continuing: None,
            generated: 0,
            generated_bytes: 0,
            over_budget: false,
        }
    }

    /// Preprocesses one line of a file, giving `sink` each line it becomes (none, one, or many
    /// for a sequence or a multi-line definition). `line` is the physical line; `span` names
    /// its first column.
    pub fn line(&mut self, line: &str, span: &Span, sink: &mut dyn Sink) {
        if self.over_budget {
            return;
        }
        let code = strip_comment(line);
        if let Some(name) = self.continuing.clone() {
            // parser.c read_line(): an empty line ends a multi-line definition; a line of blanks
            // or only a comment is skipped.
            if line.trim_end_matches('\r').is_empty() {
                self.continuing = None;
                return;
            }
            if code.trim().is_empty() {
                return;
            }
            let (text, continues) = continuation(code.trim());
            if let Some(definition) = self.definitions.get_mut(&name) {
                if !text.is_empty() {
                    definition.lines.push(text.to_string());
                }
            }
            if !continues {
                self.continuing = None;
            }
            return;
        }
        if code.trim().is_empty() {
            return;
        }
        self.process(code.to_string(), span, 0, sink);
    }

    /// Lines are counted against [`MAX_GENERATED_LINES`]; false once the budget is spent.
    fn generate(&mut self, span: &Span, sink: &mut dyn Sink) -> bool {
        if self.over_budget {
            return false;
        }
        if self.generated >= MAX_GENERATED_LINES {
            self.over_budget = true;
            let message = format!(
                "~SEQ and multi-line definitions generate more than {MAX_GENERATED_LINES} lines"
            );
            sink.report().error_at(span, message);
            return false;
        }
        self.generated += 1;
        true
    }

    /// parser.c read_line(): conditional, definition, sequence, substitution, repeated while
    /// substitution changes the line.
    fn process(&mut self, mut text: String, span: &Span, depth: usize, sink: &mut dyn Sink) {
        if self.over_budget {
            return;
        }
        let mut following: Vec<String> = Vec::new();
        let mut substitutions = 0;
        loop {
            let body = text.trim_start();
            let indent = text.len() - body.len();
            // One `@` prefix per pass: keepalived reads `@a @b line` as the line `@b line`.
            if body.starts_with('@') {
                match self.conditional(body) {
                    // Blank out the prefix so that columns stay those of the file.
                    Some(kept) => text = format!("{}{kept}", " ".repeat(text.len() - kept.len())),
                    None => return,
                }
            }
            let body = text.trim_start();
            if body.starts_with('$') && self.define(body.trim_end()) {
                return;
            }
            if body.starts_with("~SEQ") {
                self.sequence(body.trim_end(), span, depth, sink);
                return;
            }
            if body.starts_with('~') {
                break;
            }
            let runaway = |sink: &mut dyn Sink| {
                let column = span.column + u32::try_from(indent).unwrap_or(0);
                sink.report().error_at(
                    &Span { column, ..span.clone() },
                    format!(
                        "this line's definitions expand without end (more than \
                         {MAX_SUBSTITUTIONS} substitutions or {MAX_LINE_CHARS} characters: \
                         does a definition refer to itself?)"
                    ),
                );
            };
            match self.substitute(&text) {
                Substituted::Unchanged => break,
                Substituted::Runaway => return runaway(sink),
                Substituted::Changed { line, rest } => {
                    substitutions += 1;
                    if substitutions > MAX_SUBSTITUTIONS || line.len() > MAX_LINE_CHARS {
                        return runaway(sink);
                    }
                    text = line;
                    if let Some(rest) = rest {
                        // The rest of an earlier multi-line expansion follows this one's.
                        following.splice(0..0, rest);
                    }
                    if !text.trim_start().starts_with('@') && !text.contains('$') {
                        break;
                    }
                }
            }
        }
        self.warn_unsupported_builtins(&text, span, sink);
        if depth > 0 || substitutions > 0 || !following.is_empty() {
            self.generated_bytes += text.len();
            if self.generated_bytes > MAX_GENERATED_BYTES {
                self.over_budget = true;
                let message = format!(
                    "~SEQ and multi-line definitions generate more than {} MiB of configuration",
                    MAX_GENERATED_BYTES >> 20
                );
                sink.report().error_at(span, message);
                return;
            }
        }
        sink.line(self, &text, span);
        if following.is_empty() {
            return;
        }
        if depth >= MAX_NESTING {
            let message = format!(
                "multi-line definitions and ~SEQ nested more than {MAX_NESTING} deep \
                 (does a definition refer to itself?)"
            );
            sink.report().error_at(span, message);
            return;
        }
        for line in following {
            if self.generate(span, sink) {
                self.process(line, span, depth + 1, sink);
            }
        }
    }

    /// References left in a line to keepalived built-ins vrrpd does not provide.
    fn warn_unsupported_builtins(&self, text: &str, span: &Span, sink: &mut dyn Sink) {
        for name in UNSUPPORTED_BUILTINS {
            let named = |(at, _): (usize, &str)| reference(&text[at..]).map(|(name, _)| name);
            let used = text.match_indices('$').filter_map(named).any(|used| used == *name);
            if used && !self.definitions.contains_key(*name) {
                let message = format!(
                    "${name} is a keepalived built-in vrrpd does not provide: left as written"
                );
                sink.report().warn(span, message);
            }
        }
    }

    /// `@ID rest` / `@^ID rest`: the rest when the line is kept (parser.c read_line()).
    fn conditional<'t>(&self, body: &'t str) -> Option<&'t str> {
        let (negated, rest) = match body[1..].strip_prefix('^') {
            Some(rest) => (true, rest),
            None => (false, &body[1..]),
        };
        let end = rest.find([' ', '\t'])?;
        let matches = self.config_id.as_deref() == Some(&rest[..end]);
        (matches != negated).then(|| rest[end..].trim_start_matches([' ', '\t']))
    }

    /// `$NAME=value` (parser.c check_definition()): true when the line was a definition.
    fn define(&mut self, body: &str) -> bool {
        let Some((name, value)) = body[1..].split_once('=') else { return false };
        if !is_name(name) {
            return false;
        }
        let (value, continues) = continuation(value.trim_start_matches([' ', '\t']));
        let lines = if value.is_empty() && continues { Vec::new() } else { vec![value.into()] };
        self.definitions.insert(name.to_string(), Definition { lines });
        if continues {
            self.continuing = Some(name.to_string());
        }
        true
    }

    /// `~SEQ[x](VAR, ...) text` (parser.c add_seq()), then `text` once per number.
    fn sequence(&mut self, body: &str, span: &Span, depth: usize, sink: &mut dyn Sink) {
        let invalid = |sink: &mut dyn Sink, why: &str| {
            sink.report().error_at(span, format!("invalid ~SEQ \"{body}\": {why}"));
        };
        let Some(seq) = self.parse_sequence(body) else {
            invalid(sink, "expected ~SEQ(VAR, START, STEP, END) followed by a line");
            return;
        };
        let Sequence { var, start, step, end, hex, text } = match seq {
            Ok(seq) => seq,
            Err(why) => return invalid(sink, &why),
        };
        if depth >= MAX_NESTING {
            invalid(sink, &format!("~SEQ nested more than {MAX_NESTING} deep"));
            return;
        }
        let mut value = start;
        while (step > 0 && value <= end) || (step < 0 && value >= end) {
            if !self.generate(span, sink) {
                return;
            }
            let number = if hex { format!("{value:x}") } else { value.to_string() };
            // parser.c read_line(): the variable is an ordinary definition, left set afterwards.
            self.definitions.insert(var.clone(), Definition { lines: vec![number] });
            self.process(text.clone(), span, depth + 1, sink);
            let Some(next) = value.checked_add(step) else { break };
            value = next;
        }
    }

    /// None when the line does not have the shape of a sequence; Err with why its values are
    /// wrong.
    fn parse_sequence(&self, body: &str) -> Option<Result<Sequence, String>> {
        let rest = &body["~SEQ".len()..];
        let (hex, rest) = match rest.strip_prefix('x') {
            Some(rest) => (true, rest),
            None => (false, rest),
        };
        let rest = rest.trim_start_matches([' ', '\t']).strip_prefix('(')?;
        let close = rest.find(')')?;
        let (inside, text) = (&rest[..close], rest[close + 1..].trim_start_matches([' ', '\t']));
        let (var, numbers) = inside.split_once(',')?;
        let var = var.trim_matches([' ', '\t']);
        if var.is_empty() || var.starts_with('{') {
            return None;
        }
        // The numbers may be definitions themselves (parser.c add_seq() calls replace_param()).
        let numbers = numbers
            .split(',')
            .map(|number| {
                let number = number.trim_matches([' ', '\t']);
                let resolved = number
                    .strip_prefix('$')
                    .and_then(|name| {
                        let name = name.strip_prefix('{').and_then(|n| n.strip_suffix('}'));
                        self.definitions.get(name.unwrap_or(&number[1..]))
                    })
                    .filter(|definition| !definition.multiline())
                    .and_then(|definition| definition.lines.first().cloned())
                    .unwrap_or_else(|| number.to_string());
                c_integer(resolved.trim()).ok_or_else(|| format!("\"{number}\" is not an integer"))
            })
            .collect::<Result<Vec<i64>, String>>();
        let numbers = match numbers {
            Ok(numbers) => numbers,
            Err(why) => return Some(Err(why)),
        };
        let (start, step, end) = match numbers[..] {
            [end] => (if end < 0 { -1 } else { 1 }, if end < 1 { -1 } else { 1 }, end),
            [start, end] => (start, if start <= end { 1 } else { -1 }, end),
            [start, step, end] => {
                if step == 0 || (start < end && step < 0) || (start > end && step > 0) {
                    return Some(Err("the step does not lead from START to END".to_string()));
                }
                (start, step, end)
            }
            _ => return Some(Err("expected one to three numbers after the variable".to_string())),
        };
        if hex && (start < 0 || end < 0) {
            return Some(Err("~SEQx takes positive numbers only".to_string()));
        }
        let var = var.to_string();
        Some(Ok(Sequence { var, start, step, end, hex, text: text.to_string() }))
    }

    /// One pass of parser.c replace_param(): each `$` in turn, rescanning what replaced it.
    fn substitute(&self, text: &str) -> Substituted {
        let mut line = text.to_string();
        let mut rest = None;
        let mut changed = false;
        let mut position = 0;
        let mut replacements = 0;
        while let Some(offset) = line[position..].find('$') {
            let at = position + offset;
            let Some((name, length)) = reference(&line[at..]) else {
                position = at + 1;
                continue;
            };
            let ends_line = line[at + length..].trim().is_empty();
            let definition = self
                .definitions
                .get(name)
                .filter(|definition| ends_line || !definition.multiline());
            let Some(definition) = definition else {
                position = at + 1;
                continue;
            };
            replacements += 1;
            if replacements > MAX_SUBSTITUTIONS || line.len() > MAX_LINE_CHARS {
                return Substituted::Runaway;
            }
            let first = definition.lines.first().map_or("", String::as_str);
            line.replace_range(at..at + length, first);
            if definition.multiline() {
                rest = Some(definition.lines[1..].to_vec());
            }
            changed = true;
            // The replacement is scanned again, as keepalived does.
            position = at;
        }
        if changed {
            Substituted::Changed { line, rest }
        } else {
            Substituted::Unchanged
        }
    }
}

struct Sequence {
    var: String,
    start: i64,
    step: i64,
    end: i64,
    hex: bool,
    text: String,
}

enum Substituted {
    Unchanged,
    /// Past [`MAX_SUBSTITUTIONS`] or [`MAX_LINE_CHARS`] within one pass.
    Runaway,
    Changed {
        line: String,
        rest: Option<Vec<String>>,
    },
}

/// The line before its comment (`#` or `!` outside double quotes), as the lexer reads it.
fn strip_comment(line: &str) -> &str {
    let mut quoted = false;
    for (index, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '#' | '!' if !quoted => return line[..index].trim_end(),
            _ => {}
        }
    }
    line.trim_end()
}

/// A definition's line without its trailing `\` (and the blanks before it), and whether the
/// definition continues on the next line.
fn continuation(text: &str) -> (&str, bool) {
    match text.strip_suffix('\\') {
        Some(text) => (text.trim_end_matches([' ', '\t']), true),
        None => (text, false),
    }
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `$NAME` or `${NAME}` at the start of `text`: the name and the reference's length
/// (parser.c find_definition()). `$NAME` must end at a blank, `,`, `)` or the line's end.
fn reference(text: &str) -> Option<(&str, usize)> {
    let after = &text[1..];
    if let Some(inner) = after.strip_prefix('{') {
        let close = inner.find('}')?;
        let name = &inner[..close];
        return is_name(name).then_some((name, close + 3));
    }
    let length =
        after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
    let name = &after[..length];
    let ends = after[length..].chars().next().is_none_or(|c| matches!(c, ' ' | '\t' | ',' | ')'));
    (is_name(name) && ends).then_some((name, length + 1))
}

/// An integer as C's strtol(.., 0) reads one: decimal, `0x` hexadecimal or `0` octal, signed.
fn c_integer(text: &str) -> Option<i64> {
    if text.is_empty() {
        // parser.c add_seq(): a missing number reads as 0.
        return Some(0);
    }
    let (negative, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let value = if let Some(hex) = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        i64::from_str_radix(hex, 16).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8).ok()?
    } else {
        digits.parse().ok()?
    };
    Some(if negative { -value } else { value })
}
