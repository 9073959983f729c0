//! The statement tree shared by both formats: a keyword, its arguments, an optional block.
//!
//! In keepalived syntax a statement's arguments are the words on the keyword's line; a block
//! opens with `{` on the same line or the next, and its `}` may close on any line, so
//! `unicast_peer { 192.0.2.2 }` on one line works as keepalived allows.

use crate::diagnostic::{Report, Span, Word};
use crate::lexer::{Token, TokenKind};

/// Nesting deeper than any real configuration is refused instead of recursing without bound.
const MAX_DEPTH: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub keyword: Word,
    pub args: Vec<Word>,
    pub block: Option<Vec<Node>>,
}

/// Builds the statement tree of a token stream.
pub(crate) fn parse_tokens(tokens: Vec<Token>, report: &mut Report) -> Vec<Node> {
    let mut tokens = tokens.into_iter().peekable();
    parse_block(&mut tokens, None, 0, report)
}

fn parse_block(
    tokens: &mut std::iter::Peekable<std::vec::IntoIter<Token>>,
    opened_at: Option<&Span>,
    depth: usize,
    report: &mut Report,
) -> Vec<Node> {
    let mut nodes = Vec::new();
    while let Some(token) = tokens.next() {
        match token.kind {
            TokenKind::Close if opened_at.is_some() => return nodes,
            TokenKind::Close => {
                report.error_at(&token.word.span, "unexpected '}': no block is open")
            }
            TokenKind::Open => {
                report.error_at(
                    &token.word.span,
                    "unexpected '{': a block needs a keyword before it",
                );
                parse_nested(tokens, &token.word.span, depth, report);
            }
            TokenKind::Word => {
                let mut args = Vec::new();
                while let Some(arg) = tokens
                    .next_if(|next| next.kind == TokenKind::Word && next.line_id == token.line_id)
                {
                    args.push(arg.word);
                }
                let block = tokens
                    .next_if(|next| next.kind == TokenKind::Open)
                    .map(|open| parse_nested(tokens, &open.word.span, depth, report));
                nodes.push(Node { keyword: token.word, args, block });
            }
        }
    }
    if let Some(span) = opened_at {
        report.error_at(span, "this '{' is never closed: expected a matching '}'");
    }
    nodes
}

fn parse_nested(
    tokens: &mut std::iter::Peekable<std::vec::IntoIter<Token>>,
    opened_at: &Span,
    depth: usize,
    report: &mut Report,
) -> Vec<Node> {
    if depth >= MAX_DEPTH {
        report.error_at(opened_at, format!("blocks nested deeper than {MAX_DEPTH} levels"));
        // Skip the block's contents so that what follows it still parses.
        let mut open = 1usize;
        for token in tokens.by_ref() {
            match token.kind {
                TokenKind::Open => open += 1,
                TokenKind::Close => open -= 1,
                TokenKind::Word => {}
            }
            if open == 0 {
                break;
            }
        }
        return Vec::new();
    }
    parse_block(tokens, Some(opened_at), depth + 1, report)
}
