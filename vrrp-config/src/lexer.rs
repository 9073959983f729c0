//! Splits keepalived.conf lines into words and braces.
//!
//! keepalived's rules: words are separated by whitespace; `{` and `}` are tokens of their own even
//! when glued to a word; `#` or `!` outside double quotes starts a comment that runs to the end of
//! the line (also in the middle of a word, as keepalived does); a double-quoted string is one word
//! without its quotes, with no escapes, and may hold spaces, `#`, `!` and braces.

use std::path::Path;
use std::sync::Arc;

use crate::diagnostic::{Report, Span, Word};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Word,
    Open,
    Close,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub word: Word,
    /// Identifies the physical line across all files: a statement's arguments share it.
    pub line_id: u32,
}

/// Tokenizes one line; `line_no` counts from 1.
pub(crate) fn tokenize_line(
    line: &str,
    file: &Arc<Path>,
    line_no: u32,
    line_id: u32,
    report: &mut Report,
) -> Vec<Token> {
    let chars: Vec<char> = line.chars().collect();
    let span = |index: usize| Span {
        file: Arc::clone(file),
        line: line_no,
        column: u32::try_from(index + 1).unwrap_or(u32::MAX),
    };
    let token = |kind, text: String, index: usize| Token {
        kind,
        word: Word { text, span: span(index) },
        line_id,
    };

    let mut tokens = Vec::new();
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        if c.is_whitespace() {
            index += 1;
        } else if c == '#' || c == '!' {
            break;
        } else if c == '{' || c == '}' {
            let kind = if c == '{' { TokenKind::Open } else { TokenKind::Close };
            tokens.push(token(kind, c.to_string(), index));
            index += 1;
        } else if c == '"' {
            let start = index;
            let Some(length) = chars[start + 1..].iter().position(|&c| c == '"') else {
                report
                    .error_at(&span(start), "unterminated quoted string: expected a closing '\"'");
                break;
            };
            let text: String = chars[start + 1..start + 1 + length].iter().collect();
            tokens.push(token(TokenKind::Word, text, start));
            index = start + length + 2;
        } else {
            let start = index;
            while index < chars.len() && !ends_word(chars[index]) {
                index += 1;
            }
            let text: String = chars[start..index].iter().collect();
            tokens.push(token(TokenKind::Word, text, start));
        }
    }
    tokens
}

fn ends_word(c: char) -> bool {
    c.is_whitespace() || matches!(c, '{' | '}' | '"' | '#' | '!')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<(TokenKind, String, u32)> {
        let mut report = Report::default();
        let file: Arc<Path> = Arc::from(Path::new("t.conf"));
        tokenize_line(line, &file, 1, 0, &mut report)
            .into_iter()
            .map(|t| (t.kind, t.word.text, t.word.span.column))
            .collect()
    }

    #[test]
    fn braces_split_from_words_and_comments_end_the_line() {
        use TokenKind::*;
        assert_eq!(
            words("  unicast_peer{ 192.0.2.2 } # peer"),
            vec![
                (Word, "unicast_peer".into(), 3),
                (Open, "{".into(), 15),
                (Word, "192.0.2.2".into(), 17),
                (Close, "}".into(), 27),
            ]
        );
        assert_eq!(
            words("router_id r1#x"),
            vec![(Word, "router_id".into(), 1), (Word, "r1".into(), 11)]
        );
        assert_eq!(words("! all comment"), vec![]);
    }

    #[test]
    fn quoted_strings_keep_spaces_and_comment_characters() {
        assert_eq!(
            words(r#"script "/bin/check --name 'a b' #1!" user"#),
            vec![
                (TokenKind::Word, "script".into(), 1),
                (TokenKind::Word, "/bin/check --name 'a b' #1!".into(), 8),
                (TokenKind::Word, "user".into(), 38),
            ]
        );
    }

    #[test]
    fn unterminated_quote_is_an_error_at_its_column() {
        let mut report = Report::default();
        let file: Arc<Path> = Arc::from(Path::new("t.conf"));
        tokenize_line("notify \"/bin/x", &file, 4, 0, &mut report);
        let error = report.finish().unwrap_err();
        assert_eq!(
            error.to_string(),
            "t.conf:4:8: unterminated quoted string: expected a closing '\"'"
        );
    }
}
