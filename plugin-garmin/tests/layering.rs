//! The sign-in modules stay in layers: each uses only the modules of the layers below it, so
//! no import cycle can come back (issue 12.7). The order is the one `lib.rs` documents.

use std::path::Path;

/// Lowest first; modules on one line are one layer and must not use each other.
const LAYERS: &[&[&str]] = &[
    &["sso_endpoints"],
    &["sso_answers"],
    &["mfa"],
    &["sso_json", "sso_widget"],
    &["login"],
];

/// The sign-in modules `source` uses, by name (`crate::NAME` anywhere outside comments, and
/// `crate::{A, B}` groups).
fn used_modules(source: &str) -> Vec<String> {
    let code: String = source
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut used = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group
                .split('}')
                .next()
                .unwrap_or("")
                .split(',')
                .map(|n| n.trim().split("::").next().unwrap_or("").trim())
                .collect(),
            None => vec![rest
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap_or("")],
        };
        used.extend(names.into_iter().map(str::to_string));
    }
    used
}

/// Every use of a module of the same or a higher layer, as "a uses b".
fn violations(read: impl Fn(&str) -> String) -> Vec<String> {
    let mut found = Vec::new();
    for (level, layer) in LAYERS.iter().enumerate() {
        let not_below: Vec<&str> = LAYERS[level..]
            .iter()
            .flat_map(|l| l.iter().copied())
            .collect();
        for module in *layer {
            for used in used_modules(&read(module)) {
                if used != *module && not_below.contains(&used.as_str()) {
                    found.push(format!("{module} uses {used}"));
                }
            }
        }
    }
    found
}

#[test]
fn each_sign_in_module_uses_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(|module| {
        std::fs::read_to_string(src.join(format!("{module}.rs")))
            .unwrap_or_else(|e| panic!("{module}.rs: {e}"))
    });
    assert!(found.is_empty(), "imports against the layers: {found:?}");
}

#[test]
fn the_check_sees_an_upward_use_a_group_and_a_sibling() {
    let sources = |module: &str| match module {
        "sso_answers" => "use crate::login::Step;".to_string(),
        "mfa" => "use crate::{errors, sso_widget::read_page};\n// crate::login in a comment".into(),
        "sso_json" => "fn f() { crate::sso_widget::login(); }".into(),
        _ => "use crate::sso_endpoints::JsonFlow;".into(),
    };
    // Uses of lower layers (every other module here uses sso_endpoints) are fine.
    assert_eq!(
        violations(sources),
        [
            "sso_answers uses login",
            "mfa uses sso_widget",
            "sso_json uses sso_widget"
        ]
    );
}
