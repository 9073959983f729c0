//! Reads a keepalived.conf and the files it includes into one token stream.
//!
//! keepalived expands `include PATTERN` lines before parsing, wherever they appear (even inside
//! a block), so this happens at the token level too. A relative pattern is taken relative to the
//! directory of the file that contains it. A file that cannot be read and an include cycle are
//! errors; a wildcard pattern matching nothing is only a warning (an empty `conf.d` is normal).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{Report, Word};
use crate::glob;
use crate::lexer::{tokenize_line, Token, TokenKind};

/// Tokenizes `text` (the contents of `origin`) and every file it includes.
pub(crate) fn read_tokens(text: &str, origin: &Path, report: &mut Report) -> Vec<Token> {
    let mut reader =
        Reader { report, reading: vec![canonical(origin)], tokens: Vec::new(), next_line_id: 0 };
    reader.read(text, Arc::from(origin));
    reader.tokens
}

struct Reader<'r> {
    report: &'r mut Report,
    /// The files being read, outermost first, to detect cycles.
    reading: Vec<PathBuf>,
    tokens: Vec<Token>,
    next_line_id: u32,
}

impl Reader<'_> {
    fn read(&mut self, text: &str, file: Arc<Path>) {
        for (index, line) in text.lines().enumerate() {
            let line_no = u32::try_from(index + 1).unwrap_or(u32::MAX);
            let tokens = tokenize_line(line, &file, line_no, self.next_line_id, self.report);
            self.next_line_id = self.next_line_id.wrapping_add(1);
            match tokens.first() {
                Some(first) if first.kind == TokenKind::Word && first.word.text == "include" => {
                    self.include(&tokens, &file);
                }
                _ => self.tokens.extend(tokens),
            }
        }
    }

    fn include(&mut self, tokens: &[Token], file: &Path) {
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
            let paths = glob::expand(&full);
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
            self.include_file(path, pattern);
        }
    }

    fn include_file(&mut self, path: PathBuf, pattern: &Word) {
        let identity = match std::fs::canonicalize(&path) {
            Ok(identity) => identity,
            Err(error) => {
                let message = format!("cannot read included file \"{}\": {error}", path.display());
                self.report.error_at(&pattern.span, message);
                return;
            }
        };
        if self.reading.contains(&identity) {
            let message = format!("include cycle: \"{}\" is already being read", path.display());
            self.report.error_at(&pattern.span, message);
            return;
        }
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                self.reading.push(identity);
                self.read(&text, Arc::from(path));
                self.reading.pop();
            }
            Err(error) => {
                let message = format!("cannot read included file \"{}\": {error}", path.display());
                self.report.error_at(&pattern.span, message);
            }
        }
    }
}

/// The identity of a file for cycle detection; text given in memory may name no real file.
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}
