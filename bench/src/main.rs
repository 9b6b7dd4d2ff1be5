//! Load tool for ssecast (placeholder; see issue 7).
fn main() {}
