//! Import pipeline benchmark (being written).
fn main() {}
