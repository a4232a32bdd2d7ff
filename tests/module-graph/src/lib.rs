//! Finds import cycles among the modules of a crate, for the crates' own tests: every
//! `crate::` path in `src/*.rs` (`use` lines, grouped `use crate::{a, b}` and paths inside code,
//! with names re-exported by `lib.rs` resolved to their module) makes the graph, and a cycle is
//! named. A crate's test calls [`no_cycle_in`] on its `src/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module name (the file stem) → the modules its code names.
pub type Graph = BTreeMap<String, BTreeSet<String>>;

/// Reads the modules of `src` (a crate's `src/` folder, one file a module) and fails, naming
/// it, on a cycle; `crate_name` goes in the message. Returns the graph, for a test to check a
/// few edges it relies on (so the check is not vacuous).
pub fn no_cycle_in(src: &Path, crate_name: &str) -> Result<Graph, String> {
    let mut sources = BTreeMap::new();
    let entries =
        std::fs::read_dir(src).map_err(|e| format!("cannot list {}: {e}", src.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot list {}: {e}", src.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "rs") {
            let stem = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            sources.insert(stem, text);
        }
    }
    if sources.len() < 2 {
        return Err(format!(
            "expected the modules of {crate_name} in {}",
            src.display()
        ));
    }
    let graph = graph_of(&sources)?;
    match find_cycle(&graph) {
        Some(cycle) => Err(format!(
            "modules of {crate_name} use each other in a circle: {}; move what both need into \
             the lower one",
            cycle.join(" -> ")
        )),
        None => Ok(graph),
    }
}

/// The dependency graph of the modules in `sources` (stem → text; `lib` is the root).
pub fn graph_of(sources: &BTreeMap<String, String>) -> Result<Graph, String> {
    let modules: BTreeSet<&str> = sources
        .keys()
        .map(String::as_str)
        .filter(|m| *m != "lib")
        .collect();
    let re_exported = sources
        .get("lib")
        .map(|lib| re_exports(lib))
        .unwrap_or_default();
    let mut graph = Graph::new();
    for (module, text) in sources.iter().filter(|(m, _)| *m != "lib") {
        let code = strip_comments(text);
        if let Some(at) = code
            .find("super::")
            .filter(|_| code.matches("super::").count() != code.matches("super::*").count())
        {
            return Err(format!(
                "{module}.rs names a module through `super::` (near byte {at}): write `crate::` \
                 so this check sees it"
            ));
        }
        let used = crate_paths(&code)
            .into_iter()
            .filter_map(|first| {
                if modules.contains(first.as_str()) {
                    Some(first)
                } else {
                    re_exported.get(&first).cloned()
                }
            })
            .filter(|used| used != module)
            .collect();
        graph.insert(module.clone(), used);
    }
    Ok(graph)
}

/// `pub use module::{A, B}` / `pub use module::A` in lib.rs: name → module.
fn re_exports(lib: &str) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for statement in strip_comments(lib).split(';') {
        let Some(rest) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, items)) = rest.split_once("::") else {
            continue;
        };
        for item in items.trim_matches(|c| c == '{' || c == '}').split(',') {
            let name = item.split(" as ").last().unwrap_or(item).trim();
            if !name.is_empty() {
                names.insert(name.to_owned(), module.trim().to_owned());
            }
        }
    }
    names
}

/// The first segment after every `crate::` (each item of a `crate::{...}` group).
fn crate_paths(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.push(first_segment(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    item.push(c);
                }
            }
            found.push(first_segment(&item));
        } else {
            found.push(first_segment(rest));
        }
    }
    found.retain(|s| !s.is_empty() && s != "self");
    found
}

fn first_segment(path: &str) -> String {
    path.trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The text without `//` and `/* */` comments (so doc links do not count).
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("//") {
            rest = after.find('\n').map_or("", |end| &after[end..]);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.find("*/").map_or("", |end| &after[end + 2..]);
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// A cycle as `[a, b, ..., a]`, if the graph has one.
pub fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &Graph,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let from = path.iter().position(|n| n == node).unwrap();
                let mut cycle = path[from..].to_vec();
                cycle.push(node.to_owned());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.to_owned(), Mark::Open);
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, marks, path) {
                return Some(cycle);
            }
        }
        path.pop();
        marks.insert(node.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut marks, &mut Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_finds_a_cycle_through_groups_paths_and_re_exports() {
        let sources: BTreeMap<String, String> = [
            ("lib", "mod a; mod b; mod c;\npub use c::{Thing, Other};"),
            (
                "a",
                "use crate::{b::X, self};\n// use crate::c; (a comment)\nfn f() {}",
            ),
            ("b", "fn g() { let _ = crate::Thing::new(); }"),
            ("c", "use crate::{\n    a::{Y, Z},\n};"),
        ]
        .into_iter()
        .map(|(name, text)| (name.to_owned(), text.to_owned()))
        .collect();
        let graph = graph_of(&sources).unwrap();
        assert_eq!(graph["a"], BTreeSet::from(["b".to_owned()]));
        assert_eq!(graph["b"], BTreeSet::from(["c".to_owned()]));
        let cycle = find_cycle(&graph).expect("a -> b -> c -> a");
        assert_eq!(cycle, ["a", "b", "c", "a"]);
        let layered: BTreeMap<String, String> = [("a", "use crate::b::X;"), ("b", "")]
            .into_iter()
            .map(|(name, text)| (name.to_owned(), text.to_owned()))
            .collect();
        assert_eq!(find_cycle(&graph_of(&layered).unwrap()), None);
        let sneaky: BTreeMap<String, String> = [("a", "use super::b::X;")]
            .into_iter()
            .map(|(name, text)| (name.to_owned(), text.to_owned()))
            .collect();
        assert!(graph_of(&sneaky).unwrap_err().contains("super::"));
    }
}
