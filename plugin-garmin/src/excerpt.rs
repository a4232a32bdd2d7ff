//! The one way a server's answer text (a body, a page title, an error code)
//! gets into an error detail or a log line: [`excerpt`], short and scrubbed.
//!
//! A hostile or broken server may echo what it was sent (the password, the
//! tokens, the ticket) or send megabytes of control characters. The excerpt
//! keeps at most [`MAX_CHARS`] characters, escapes control characters,
//! replaces the secrets the caller knows, and masks what looks like one
//! anyway: the value after a secret-sounding key (`password=`,
//! `"refresh_token":`) and long token-like runs (JWTs, tickets).

/// The most characters of server text kept.
pub const MAX_CHARS: usize = 200;
/// Token-like runs at least this long are masked.
const TOKEN_RUN: usize = 20;
const MASK: &str = "[redacted]";
/// Keys whose value is masked wherever they appear.
const SECRET_KEYS: [&str; 9] = [
    "password",
    "passwd",
    "token",
    "ticket",
    "secret",
    "authorization",
    "cookie",
    "bearer",
    "session",
];

/// A short, scrubbed excerpt of `text` for an error detail or a log line.
/// `known` are secrets the caller holds (values under 4 bytes are ignored).
pub fn excerpt(text: &[u8], known: &[&str]) -> String {
    // Bounded before any work: a huge body costs no more than a small one.
    let head = &text[..text.len().min(MAX_CHARS * 8)];
    let mut text = String::from_utf8_lossy(head).into_owned();
    for secret in known.iter().map(|s| s.trim()).filter(|s| s.len() >= 4) {
        text = text.replace(secret, MASK);
    }
    let text = mask_keyed_values(&text);
    let text = mask_token_runs(&text);
    let mut out = String::new();
    let mut chars = 0;
    let mut last_space = true;
    for c in text.chars() {
        if chars >= MAX_CHARS {
            out.push('…');
            break;
        }
        if c == ' ' || c == '\n' || c == '\r' || c == '\t' {
            if !last_space {
                out.push(' ');
                chars += 1;
            }
            last_space = true;
            continue;
        }
        last_space = false;
        if c.is_control() {
            let escaped = c.escape_default().to_string();
            chars += escaped.chars().count();
            out.push_str(&escaped);
        } else {
            out.push(c);
            chars += 1;
        }
    }
    out.trim_end().to_string()
}

fn is_value_end(c: char) -> bool {
    matches!(c, '"' | '\'' | '&' | ',' | ';' | '}' | '<' | ')') || c.is_whitespace()
}

/// Masks the value after each secret-sounding key (`key=v`, `"key":"v"`,
/// `key: v`, `Bearer v`).
fn mask_keyed_values(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while at < text.len() {
        let next = SECRET_KEYS
            .iter()
            .filter_map(|k| lower[at..].find(k).map(|i| (at + i, k.len())))
            .min();
        let Some((start, len)) = next else { break };
        let mut value = start + len;
        // The rest of the key (`_token`, `word`), then the separator.
        value += text[value..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(text.len() - value);
        value += text[value..]
            .find(|c: char| !matches!(c, '"' | '\'' | ':' | '=' | ' '))
            .unwrap_or(text.len() - value);
        let end = value
            + text[value..]
                .find(is_value_end)
                .unwrap_or(text.len() - value);
        out.push_str(&text[at..value]);
        if end > value {
            out.push_str(MASK);
        }
        at = end.max(value);
    }
    out.push_str(&text[at.min(text.len())..]);
    out
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+' | '/' | '=')
}

/// Masks runs of token characters at least [`TOKEN_RUN`] long that mix
/// letters and digits (JWTs, tickets, opaque tokens; not long words).
fn mask_token_runs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let mixed =
            run.chars().any(|c| c.is_ascii_digit()) && run.chars().any(|c| c.is_ascii_alphabetic());
        if run.len() >= TOKEN_RUN && mixed {
            out.push_str(MASK);
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if is_token_char(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_secrets_keyed_values_and_tokens_are_masked() {
        let body = br#"{"message":"bad request for demo-password","password":"pw-unknown","refresh_token":"r1","note":"ST-0123456789abcdefghij-sso"}"#;
        let text = excerpt(body, &["demo-password"]);
        for secret in ["demo-password", "pw-unknown", "r1\"", "ST-0123456789"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("bad request for"), "{text}");
        let form = excerpt(b"grant_type=x&refresh_token=abc&client_id=C", &[]);
        assert_eq!(form, "grant_type=x&refresh_token=[redacted]&client_id=C");
        let header = excerpt(b"Authorization: Bearer eyJhbGciOi.eyJzdWIi.c2ln", &[]);
        assert!(!header.contains("eyJ"), "{header}");
    }

    #[test]
    fn long_and_control_laden_text_is_short_and_escaped() {
        let long = "word ".repeat(1000);
        let text = excerpt(long.as_bytes(), &[]);
        assert!(text.chars().count() <= MAX_CHARS + 1, "{}", text.len());
        assert!(text.ends_with('…'));
        let text = excerpt(b"a\x1b[31mred\x07\x00 \n\n  b", &[]);
        assert_eq!(text, "a\\u{1b}[31mred\\u{7}\\u{0} b");
        assert_eq!(excerpt(b"plain words stay", &[]), "plain words stay");
    }
}
