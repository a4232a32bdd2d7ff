//! Keeps the crate's modules in layers: each module may use only modules below it, never one
//! that (through others) uses it back. The graph and the cycle search are `module-graph`'s.

use std::path::Path;

#[test]
fn the_modules_of_the_crate_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = module_graph::no_cycle_in(&src, "bincio-bas").unwrap_or_else(|e| panic!("{e}"));
    assert!(
        graph.len() > 10,
        "expected the crate's modules in {}",
        src.display()
    );
    // The layering the store relies on (a shard pointer is part of the index document).
    assert!(graph["layout"].contains("index") && graph["layout"].contains("catalog"));
}
