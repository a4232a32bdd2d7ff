//! Reading the few things the SSO widget's HTML pages carry: the `<title>`,
//! the `_csrf` hidden input, the service ticket in the success page, and the
//! `var name = "value";` JavaScript variables of the MFA page.
//!
//! Plain string scanning, tolerant of attribute order and whitespace; no
//! HTML parser is needed for pages this small and regular.

/// The text of the first `<title>…</title>`, trimmed.
pub fn title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    Some(html[start..end].trim().to_string())
}

/// The value of the `<input name="_csrf" value="…">`, in either attribute order.
pub fn csrf_token(html: &str) -> Option<String> {
    let mut from = 0;
    while let Some(pos) = html[from..].find("name=\"_csrf\"") {
        let at = from + pos;
        let tag_start = html[..at].rfind('<').unwrap_or(0);
        let tag_end = at + html[at..].find('>').unwrap_or(html.len() - at);
        if let Some(value) = attribute(&html[tag_start..tag_end], "value") {
            if !value.is_empty() {
                return Some(value);
            }
        }
        from = at + 1;
    }
    None
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut from = 0;
    while let Some(pos) = tag[from..].find(name) {
        let at = from + pos;
        let before_ok = at == 0 || tag.as_bytes()[at - 1].is_ascii_whitespace();
        let rest = tag[at + name.len()..].trim_start();
        if before_ok {
            if let Some(rest) = rest.strip_prefix('=') {
                let rest = rest.trim_start();
                if let Some(rest) = rest.strip_prefix('"') {
                    return rest.find('"').map(|end| rest[..end].to_string());
                }
            }
        }
        from = at + name.len();
    }
    None
}

/// The `ST-…` ticket after `?ticket=` (up to a quote, `&`, `<` or whitespace).
pub fn service_ticket(html: &str) -> Option<String> {
    let mut from = 0;
    while let Some(pos) = html[from..].find("ticket=") {
        let start = from + pos + "ticket=".len();
        let ticket: String = html[start..]
            .chars()
            .take_while(|c| !matches!(c, '"' | '\'' | '&' | '<' | '\\') && !c.is_whitespace())
            .collect();
        if ticket.starts_with("ST-") && ticket.len() > 3 {
            return Some(ticket);
        }
        from = start;
    }
    None
}

/// The value of `var <name> = "<value>";` in inline JavaScript.
pub fn js_var(html: &str, name: &str) -> Option<String> {
    let mut from = 0;
    while let Some(pos) = html[from..].find("var ") {
        let rest = html[from + pos + 4..].trim_start();
        from += pos + 4;
        let Some(rest) = rest.strip_prefix(name) else {
            continue;
        };
        let rest = rest.trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        let rest = rest.trim_start();
        let Some(rest) = rest.strip_prefix('"') else {
            continue;
        };
        let end = rest.find('"')?;
        return Some(rest[..end].to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_title() {
        assert_eq!(
            title("<html><head><TITLE> Success </TITLE>").as_deref(),
            Some("Success")
        );
        assert_eq!(
            title("<title lang=\"en\">Enter MFA code for login</title>").as_deref(),
            Some("Enter MFA code for login")
        );
        assert_eq!(title("<p>no title</p>"), None);
    }

    #[test]
    fn reads_the_csrf_token_in_any_attribute_order() {
        let a = r#"<input type="hidden" name="_csrf" value="ABC123"/>"#;
        let b = r#"<input value="XYZ" type="hidden" name="_csrf">"#;
        let c = r#"<input name="_csrf"   value = "SP" >"#;
        assert_eq!(csrf_token(a).as_deref(), Some("ABC123"));
        assert_eq!(csrf_token(b).as_deref(), Some("XYZ"));
        assert_eq!(csrf_token(c).as_deref(), Some("SP"));
        assert_eq!(csrf_token(r#"<input name="other" value="no">"#), None);
    }

    #[test]
    fn finds_the_ticket() {
        let page = r#"<script>var response_url = "https:\/\/sso.garmin.com\/sso\/embed?ticket=ST-0123-abc-cas";</script>"#;
        assert_eq!(service_ticket(page).as_deref(), Some("ST-0123-abc-cas"));
        assert_eq!(
            service_ticket("embed?ticket=&x ticket=ST-9 "),
            Some("ST-9".into())
        );
        assert_eq!(service_ticket("no ticket here"), None);
    }

    #[test]
    fn reads_js_vars() {
        let page = "var customerGuid = \"g-1\";\n var mfaMethod=\"email\"; var codeSentTo = \"\";";
        assert_eq!(js_var(page, "mfaMethod").as_deref(), Some("email"));
        assert_eq!(js_var(page, "customerGuid").as_deref(), Some("g-1"));
        assert_eq!(js_var(page, "codeSentTo").as_deref(), Some(""));
        assert_eq!(js_var(page, "locale"), None);
    }
}
