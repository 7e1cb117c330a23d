//! Names from a model file, made safe to print: a node or dim name may hold
//! any character, and a terminal obeys control characters and escape
//! sequences (a newline forges a line, `ESC [` rewrites the screen, a
//! right-to-left override reorders what follows). They are shown escaped.

use std::borrow::Cow;
use std::fmt::Write;

/// `s` with every control character written as an escape (`\n`, `\t`,
/// `\r`, `\x1b`, `\u{85}`), and the Unicode controls that reorder or hide
/// text (bidirectional overrides and isolates, zero-width joiners aside)
/// as `\u{202e}`; a backslash stays a backslash.
pub fn printable(s: &str) -> Cow<'_, str> {
    // Most text is printable ASCII, told byte by byte.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) || !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x80 && needs_escape(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("conv1"), "conv1");
        assert_eq!(
            printable("a\nnncost: error: forged"),
            "a\\nnncost: error: forged"
        );
        assert_eq!(printable("\x1b[2J"), "\\x1b[2J");
        assert_eq!(printable("tab\there\r"), "tab\\there\\r");
        assert_eq!(printable("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(printable("del\x7f"), "del\\x7f");
        assert_eq!(printable("\u{85}"), "\\u{85}");
        // Ordinary non-ASCII text is left alone.
        assert_eq!(printable("×·é名"), "×·é名");
    }
}
