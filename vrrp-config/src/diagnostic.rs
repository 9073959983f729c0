//! Diagnostics: where a problem is in the configuration and what is wrong.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A position in a configuration file; line and column count from 1 (columns in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Span {
    pub file: Arc<Path>,
    pub line: u32,
    pub column: u32,
}

/// A piece of configuration text and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    pub text: String,
    pub span: Span,
}

/// How serious a diagnostic is: warnings let the configuration load, errors refuse it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Warning,
    Error,
}

/// One message about the configuration, displayed as `file:line:column: message`
/// (line and column are left out when they do not apply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The file the problem is in: the loaded file or the included one.
    pub file: PathBuf,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

/// The configuration was refused. Holds every error found (at least one) and the warnings
/// seen on the way, so an operator can fix everything in one go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
}

impl fmt::Display for ConfigError {
    /// One error per line, each as `file:line:column: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.errors.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// The configuration file itself cannot be read.
    pub(crate) fn unreadable(file: &Path, error: &std::io::Error) -> ConfigError {
        let error = Diagnostic {
            severity: Severity::Error,
            file: file.to_path_buf(),
            line: None,
            column: None,
            message: format!("cannot read: {error}"),
        };
        ConfigError { errors: vec![error], warnings: Vec::new() }
    }
}

/// Collects diagnostics while a configuration is read and checked.
#[derive(Debug, Default)]
pub(crate) struct Report {
    diagnostics: Vec<Diagnostic>,
}

impl Report {
    fn push(&mut self, severity: Severity, span: &Span, column: bool, message: String) {
        self.diagnostics.push(Diagnostic {
            severity,
            file: span.file.to_path_buf(),
            line: Some(span.line),
            column: column.then_some(span.column),
            message,
        });
    }

    /// A warning naming the line only (unknown or unused keywords).
    pub fn warn(&mut self, span: &Span, message: impl Into<String>) {
        self.push(Severity::Warning, span, false, message.into());
    }

    /// A warning pointing at the exact text keepalived is lenient about.
    pub fn warn_at(&mut self, span: &Span, message: impl Into<String>) {
        self.push(Severity::Warning, span, true, message.into());
    }

    /// A warning about a whole file.
    pub fn warn_file(&mut self, file: &Path, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic {
            severity: Severity::Warning,
            file: file.to_path_buf(),
            line: None,
            column: None,
            message: message.into(),
        });
    }

    /// An error pointing at the exact offending text.
    pub fn error_at(&mut self, span: &Span, message: impl Into<String>) {
        self.push(Severity::Error, span, true, message.into());
    }

    /// An error about a whole statement or block, naming its line.
    pub fn error_line(&mut self, span: &Span, message: impl Into<String>) {
        self.push(Severity::Error, span, false, message.into());
    }

    /// The invalid-value error every parser reports the same way.
    pub fn invalid(&mut self, what: &str, word: &Word, expected: &str) {
        self.error_at(&word.span, format!("invalid {what} \"{}\": {expected}", word.text));
    }

    /// Splits into warnings, or a refusal when any error was found.
    pub fn finish(self) -> Result<Vec<Diagnostic>, ConfigError> {
        let (errors, warnings): (Vec<_>, Vec<_>) =
            self.diagnostics.into_iter().partition(|d| d.severity == Severity::Error);
        if errors.is_empty() {
            Ok(warnings)
        } else {
            Err(ConfigError { errors, warnings })
        }
    }
}
