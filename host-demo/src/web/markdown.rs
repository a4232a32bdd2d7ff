//! A plugin's Markdown (its disclaimer) as HTML for the page. The plugin's
//! text is not trusted HTML: raw HTML in it is shown as text, and links
//! keep only http(s) and mailto targets. Its headings nest under the
//! page's own: a leading heading that repeats the title the page already
//! shows is left out, and the others move down.

use pulldown_cmark::{html, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// The Markdown of a section the page titles `title` with a heading of
/// level `section`. When the Markdown opens with a heading saying the same,
/// that heading is dropped and the sections under it (`##`) become the level
/// below `section`; otherwise its `#` does.
pub fn section_html(markdown: &str, title: &str, section: HeadingLevel) -> String {
    let trimmed = markdown.trim_start();
    let (first, rest) = trimmed.split_once('\n').unwrap_or((trimmed, ""));
    let repeats_title =
        first.starts_with("# ") && first.trim_start_matches('#').trim() == title.trim();
    if repeats_title {
        to_safe_html(rest, section as usize - 1)
    } else {
        to_safe_html(markdown, section as usize)
    }
}

/// `markdown` as safe HTML, every heading `shift` levels lower (at most h6).
fn to_safe_html(markdown: &str, shift: usize) -> String {
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            dest_url, title, ..
        }) => Event::Text(CowStr::from(format!("[image: {title} {dest_url}]"))),
        Event::End(TagEnd::Image) => Event::Text(CowStr::from("")),
        Event::Start(Tag::Heading {
            level,
            id,
            classes,
            attrs,
        }) => Event::Start(Tag::Heading {
            level: lower(level, shift),
            id,
            classes,
            attrs,
        }),
        Event::End(TagEnd::Heading(level)) => Event::End(TagEnd::Heading(lower(level, shift))),
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, parser);
    out
}

fn lower(level: HeadingLevel, shift: usize) -> HeadingLevel {
    HeadingLevel::try_from((level as usize + shift).min(6)).unwrap_or(HeadingLevel::H6)
}

fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    let lower = url.trim().to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("mailto:")
    {
        url
    } else {
        CowStr::from("#")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_and_script_links_are_not_rendered() {
        let html = to_safe_html(
            "# Title\n\n<script>alert(1)</script>\n\nSee [docs](javascript:alert(1)) and [site](https://example.com). <b>x</b>",
            0,
        );
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("href=\"https://example.com\""), "{html}");
        assert!(!html.contains("<b>"), "{html}");
    }

    #[test]
    fn a_section_drops_the_repeated_title_and_nests_the_headings_below_its_own() {
        let markdown = "# Read this\n\nIntro.\n\n## Risks\n\nSome.\n\n###### Deep\n";
        let html = section_html(markdown, "Read this", HeadingLevel::H2);
        assert!(
            !html.contains("Read this"),
            "the title once, on the page: {html}"
        );
        assert!(html.contains("<h3>Risks</h3>"), "{html}");
        assert!(html.contains("<h6>Deep</h6>"), "capped at h6: {html}");
        assert!(html.contains("<p>Intro.</p>"), "{html}");
        // Another first heading is kept, one level below the section.
        let other = section_html("# Something else\n\nText.", "Read this", HeadingLevel::H2);
        assert!(other.contains("<h3>Something else</h3>"), "{other}");
    }
}
