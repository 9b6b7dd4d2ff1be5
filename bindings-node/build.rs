//! Sets the linker flags a Node addon needs (symbols resolved by the node binary).

fn main() {
    napi_build::setup();
}
