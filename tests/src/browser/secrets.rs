//! The search of what the browser got (answers through the proxy, the page's text, logs) for
//! values that must not be there, reporting each find without printing the value.

use crate::web_server::contains_token;

/// A value that must not reach the browser or a log, and how it is matched.
pub enum Secret {
    /// Anywhere, as a substring (passwords, tokens).
    Exact(String),
    /// As a whole token only (a six-digit MFA code inside a longer number is not it).
    Token(String),
}

impl Secret {
    fn found_in(&self, text: &str) -> Option<usize> {
        match self {
            Secret::Exact(s) => text.find(s.as_str()),
            Secret::Token(s) => contains_token(text, s).then(|| text.find(s.as_str()).unwrap_or(0)),
        }
    }
    fn len(&self) -> usize {
        match self {
            Secret::Exact(s) | Secret::Token(s) => s.len(),
        }
    }
}

/// Where any of `secrets` appears in `texts`: one line per find, naming the text (by `label`
/// and index) and the secret's length, with the secret itself blanked out.
pub fn find_secrets(label: &str, texts: &[String], secrets: &[Secret]) -> Vec<String> {
    let mut found = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        for (k, secret) in secrets.iter().enumerate() {
            if let Some(at) = secret.found_in(text) {
                let from = (0..=at.saturating_sub(80))
                    .rev()
                    .find(|j| text.is_char_boundary(*j))
                    .unwrap_or(0);
                let excerpt: String = text[from..].chars().take(200).collect();
                let blanked = match secret {
                    Secret::Exact(s) | Secret::Token(s) => excerpt.replace(s.as_str(), "<SECRET>"),
                };
                found.push(format!(
                    "{label} #{i}: secret {k} ({} chars) in: {blanked}",
                    secret.len()
                ));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_finds_a_secret_and_does_not_print_it() {
        let texts = vec![
            "200 OK\ncontent-type: text/html\n\n<p>nothing here</p>".to_string(),
            "200 OK\nset-cookie: s=abc\n\n{\"token\":\"eyJ-secret-token\"}".to_string(),
            "the code 480217 was typed; id 104802170 is not it".to_string(),
        ];
        let found = find_secrets(
            "answer",
            &texts,
            &[
                Secret::Exact("eyJ-secret-token".into()),
                Secret::Token("480217".into()),
            ],
        );
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("answer #1: secret 0 (16 chars)"),
            "{found:?}"
        );
        assert!(
            found[1].starts_with("answer #2: secret 1 (6 chars)"),
            "{found:?}"
        );
        for line in &found {
            assert!(
                !line.contains("eyJ-secret-token") && !line.contains("480217 "),
                "{line}"
            );
        }
        let inside_a_number = vec!["id 104802170".to_string()];
        assert!(
            find_secrets("log", &inside_a_number, &[Secret::Token("480217".into())]).is_empty()
        );
    }
}
