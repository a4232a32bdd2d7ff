//! Keeps the sign-in modules in the layers lib.rs lists, so that no import
//! cycle among them can come back: a layered module may name a layered module
//! only of a lower layer, and the unlayered helpers it uses (settings, http,
//! di_token, ...) may not lead back, directly or through other helpers, to its
//! own layer or above.
//!
//! Unlike `host-demo/bas/tests/module_layers.rs` (which finds any cycle in a
//! crate), this check knows the intended order and says which line breaks it.
//! It reads `crate::name` in code lines (comment lines left out) and refuses
//! what it could not read: grouped `use crate::{...}` and `super::` paths.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Lowest first; modules of one layer may not use each other either.
const LAYERS: &[&[&str]] = &[
    &["sso_endpoints"],
    &["sso_answers"],
    &["mfa"],
    &["sso_json", "sso_widget"],
    &["login"],
    &["auth"],
    &["connect"],
];

/// Beyond the sign-in layers: no two modules of the crate use each other, through any path
/// (`errors` once named `http` for a constant while `http` built on `errors`).
#[test]
fn the_modules_of_the_crate_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = module_graph::no_cycle_in(&src, "plugin-garmin").unwrap_or_else(|e| panic!("{e}"));
    assert!(graph["http"].contains("errors") && graph["api"].contains("budget"));
}

/// Module (file stem) → the crate modules its code names.
type Uses = BTreeMap<String, BTreeSet<String>>;

#[test]
fn the_sign_in_modules_use_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let texts: BTreeMap<String, String> = std::fs::read_dir(&src)
        .expect("src/ is readable")
        .map(|entry| entry.expect("src/ lists").path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("readable");
            (
                path.file_stem().unwrap().to_string_lossy().into_owned(),
                text,
            )
        })
        .collect();
    for module in LAYERS.iter().flat_map(|layer| layer.iter()) {
        assert!(texts.contains_key(*module), "src/{module}.rs is missing");
    }
    let uses = uses_of(&texts).unwrap_or_else(|e| panic!("{e}"));
    let breaks = layer_breaks(&uses);
    assert!(breaks.is_empty(), "layering broken:\n{}", breaks.join("\n"));
    // The chain really sits on the flows (the check is not vacuous).
    assert!(uses["login"].contains("sso_json") && uses["login"].contains("sso_widget"));
}

#[test]
fn the_check_sees_a_way_back_through_a_helper_and_a_same_layer_use() {
    let texts: BTreeMap<String, String> = [
        ("sso_endpoints", "use crate::settings::Settings;"),
        ("settings", "fn f() { crate::sso_json::login(); }"),
        (
            "sso_json",
            "use crate::sso_widget::x;\n// use crate::login;",
        ),
        ("sso_widget", ""),
        ("login", "use crate::sso_json;"),
    ]
    .into_iter()
    .map(|(m, t)| (m.to_owned(), t.to_owned()))
    .collect();
    let uses = uses_of(&texts).unwrap();
    assert_eq!(uses["sso_json"], BTreeSet::from(["sso_widget".to_owned()]));
    let breaks = layer_breaks(&uses);
    assert_eq!(breaks.len(), 2, "{breaks:?}");
    assert!(breaks[0].contains("sso_endpoints") && breaks[0].contains("settings -> sso_json"));
    assert!(breaks[1].contains("sso_json uses sso_widget"));

    let grouped = BTreeMap::from([("login".to_owned(), "use crate::{mfa, auth};".to_owned())]);
    assert!(uses_of(&grouped).unwrap_err().contains("crate::{"));
    let relative = BTreeMap::from([("mfa".to_owned(), "use super::login::Step;".to_owned())]);
    assert!(uses_of(&relative).unwrap_err().contains("super::"));
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// What each module names, from its code lines.
fn uses_of(texts: &BTreeMap<String, String>) -> Result<Uses, String> {
    let mut uses = Uses::new();
    for (module, text) in texts {
        let mut named = BTreeSet::new();
        for (number, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            let place = format!("src/{module}.rs:{}", number + 1);
            if line.contains("crate::{") {
                return Err(format!(
                    "{place}: write one `use crate::module::...` per module, not `crate::{{...}}`"
                ));
            }
            if line.contains("super::") && !line.contains("super::*") {
                return Err(format!(
                    "{place}: name the module through `crate::`, not `super::`"
                ));
            }
            for (at, _) in line.match_indices("crate::") {
                let name: String = line[at + "crate::".len()..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if texts.contains_key(&name) && name != *module {
                    named.insert(name);
                }
            }
        }
        uses.insert(module.clone(), named);
    }
    Ok(uses)
}

/// One message per use that breaks the order.
fn layer_breaks(uses: &Uses) -> Vec<String> {
    let mut breaks = Vec::new();
    for (module, named) in uses {
        let Some(own) = layer_of(module) else {
            continue;
        };
        for used in named {
            match layer_of(used) {
                Some(layer) if layer >= own => breaks.push(format!(
                    "{module} uses {used}, which is not in a lower layer"
                )),
                Some(_) => {}
                None => {
                    if let Some(path) = way_back(uses, used, own) {
                        breaks.push(format!(
                            "{module} uses {used}, which leads back up: {}",
                            path.join(" -> ")
                        ));
                    }
                }
            }
        }
    }
    breaks
}

/// A path from the helper `start`, through helpers only, to a layered module
/// of layer `floor` or above.
fn way_back(uses: &Uses, start: &str, floor: usize) -> Option<Vec<String>> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![vec![start.to_owned()]];
    while let Some(path) = stack.pop() {
        let last = path.last().unwrap().clone();
        if !seen.insert(last.clone()) {
            continue;
        }
        for next in uses.get(&last).into_iter().flatten() {
            let mut longer = path.clone();
            longer.push(next.clone());
            match layer_of(next) {
                Some(layer) if layer >= floor => return Some(longer),
                Some(_) => {}
                None => stack.push(longer),
            }
        }
    }
    None
}
