//! Reads a keepalived.conf and the files it includes into one token stream.
//!
//! keepalived expands `include PATTERN` lines before parsing, wherever they appear (even inside
//! a block), so this happens at the token level too. A relative pattern is taken relative to the
//! directory of the file that contains it. A file that cannot be read and an include cycle are
//! errors; a wildcard pattern matching nothing is only a warning (an empty `conf.d` is normal).
//!
//! keepalived sets no limits here (lib/parser.c); a configuration is an input like any other,
//! so these do: a file of at most [`MAX_FILE_BYTES`], at most [`MAX_FILES`] files and
//! [`MAX_TOTAL_BYTES`] in all. Real configurations with thousands of instances stay far below.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{Report, Span, Word};
use crate::glob;
use crate::lexer::{tokenize_line, Token, TokenKind};
use crate::preprocess::{Preprocessor, Sink};

/// The largest configuration file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 8 << 20;
/// The most files one configuration reads, the main file included (sibling wildcard includes
/// that include each other again grow exponentially without it).
pub const MAX_FILES: usize = 1024;
/// The most bytes one configuration reads, over all its files.
pub const MAX_TOTAL_BYTES: u64 = 32 << 20;

/// Reads a configuration file of at most [`MAX_FILE_BYTES`] (a FIFO or a device included).
pub(crate) fn read_file(path: &Path) -> std::io::Result<String> {
    let mut text = String::new();
    std::fs::File::open(path)?.take(MAX_FILE_BYTES + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {} MiB, the most a configuration file may hold",
            MAX_FILE_BYTES >> 20
        )));
    }
    Ok(text)
}

/// Tokenizes `text` (the contents of `origin`) and every file it includes, each line through
/// keepalived's preprocessor with `config_id` as the configuration id.
pub(crate) fn read_tokens(
    text: &str,
    origin: &Path,
    config_id: Option<&str>,
    report: &mut Report,
) -> Vec<Token> {
    let mut reader = Reader {
        report,
        reading: vec![canonical(origin)],
        tokens: Vec::new(),
        next_line_id: 0,
        files: 1,
        bytes: text.len() as u64,
        over_budget: false,
        cycles_reported: HashSet::new(),
    };
    let mut preprocessor = Preprocessor::new(config_id);
    reader.read(&mut preprocessor, text, Arc::from(origin));
    reader.tokens
}

struct Reader<'r> {
    report: &'r mut Report,
    /// The files being read, outermost first, to detect cycles.
    reading: Vec<PathBuf>,
    tokens: Vec<Token>,
    next_line_id: u32,
    /// Files and bytes read so far, against [`MAX_FILES`] and [`MAX_TOTAL_BYTES`].
    files: usize,
    bytes: u64,
    /// Set once a limit is reached: the error is reported once, and nothing more is read.
    over_budget: bool,
    /// Files whose include cycle was reported.
    cycles_reported: HashSet<PathBuf>,
}

impl Reader<'_> {
    fn read(&mut self, preprocessor: &mut Preprocessor, text: &str, file: Arc<Path>) {
        for (index, line) in text.lines().enumerate() {
            let line_no = u32::try_from(index + 1).unwrap_or(u32::MAX);
            let span = Span { file: Arc::clone(&file), line: line_no, column: 1 };
            preprocessor.line(line, &span, self);
        }
    }

    fn include(&mut self, preprocessor: &mut Preprocessor, tokens: &[Token], file: &Path) {
        let Some(pattern) = tokens.get(1).filter(|t| t.kind == TokenKind::Word) else {
            self.report
                .error_at(&tokens[0].word.span, "include needs a file name or pattern after it");
            return;
        };
        for extra in &tokens[2..] {
            self.report.warn(
                &extra.word.span,
                format!("unexpected \"{}\" after include, ignored", extra.word.text),
            );
        }
        let pattern = &pattern.word;
        let full = file.parent().unwrap_or(Path::new("")).join(&pattern.text);
        let paths = if glob::has_wildcards(&pattern.text) {
            let paths = match glob::expand(&full) {
                Ok(paths) => paths,
                Err(error) => {
                    let message = format!("include pattern \"{}\": {error}", full.display());
                    self.report.error_at(&pattern.span, message);
                    return;
                }
            };
            if paths.is_empty() {
                self.report.warn(
                    &pattern.span,
                    format!("include pattern \"{}\" matches no file", full.display()),
                );
            }
            paths
        } else {
            vec![full]
        };
        for path in paths {
            self.include_file(preprocessor, path, pattern);
        }
    }

    fn include_file(&mut self, preprocessor: &mut Preprocessor, path: PathBuf, pattern: &Word) {
        if self.over_budget {
            return;
        }
        if self.files >= MAX_FILES {
            self.over_budget = true;
            let message = format!(
                "including \"{}\" would read more than {MAX_FILES} files; the includes fan out \
                 too far (do included files include each other again?)",
                path.display()
            );
            self.report.error_at(&pattern.span, message);
            return;
        }
        let identity = match std::fs::canonicalize(&path) {
            Ok(identity) => identity,
            Err(error) => {
                let message = format!("cannot read included file \"{}\": {error}", path.display());
                self.report.error_at(&pattern.span, message);
                return;
            }
        };
        if self.reading.contains(&identity) {
            // Once per file: files that include each other meet the same cycle many times.
            if self.cycles_reported.insert(identity) {
                let message =
                    format!("include cycle: \"{}\" is already being read", path.display());
                self.report.error_at(&pattern.span, message);
            }
            return;
        }
        match read_file(&path) {
            Ok(text) if self.bytes + text.len() as u64 > MAX_TOTAL_BYTES => {
                self.over_budget = true;
                let message = format!(
                    "including \"{}\" would read more than {} MiB of configuration in all",
                    path.display(),
                    MAX_TOTAL_BYTES >> 20
                );
                self.report.error_at(&pattern.span, message);
            }
            Ok(text) => {
                self.files += 1;
                self.bytes += text.len() as u64;
                self.reading.push(identity);
                self.read(preprocessor, &text, Arc::from(path));
                self.reading.pop();
            }
            Err(error) => {
                let message = format!("cannot read included file \"{}\": {error}", path.display());
                self.report.error_at(&pattern.span, message);
            }
        }
    }
}

impl Sink for Reader<'_> {
    /// keepalived expands `include` after preprocessing (parser.c read_line() calls
    /// check_include() last), so an include may name a definition or sit in a sequence.
    fn line(&mut self, preprocessor: &mut Preprocessor, text: &str, span: &Span) {
        let tokens = tokenize_line(text, &span.file, span.line, self.next_line_id, self.report);
        self.next_line_id = self.next_line_id.wrapping_add(1);
        match tokens.first() {
            Some(first) if first.kind == TokenKind::Word && first.word.text == "include" => {
                self.include(preprocessor, &tokens, &span.file);
            }
            _ => self.tokens.extend(tokens),
        }
    }

    fn report(&mut self) -> &mut Report {
        self.report
    }
}

/// The identity of a file for cycle detection; text given in memory may name no real file.
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}
