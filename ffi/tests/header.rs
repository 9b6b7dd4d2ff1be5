//! The committed `include/ssecast.h` must be exactly what cbindgen generates from
//! this crate. `SSECAST_BLESS_HEADER=1` rewrites it instead (`make header`).

use std::path::Path;

#[test]
fn committed_header_is_fresh() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let committed_path = crate_dir.join("../include/ssecast.h");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("ffi/cbindgen.toml parses");
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut generated = Vec::new();
    bindings.write(&mut generated);

    if std::env::var_os("SSECAST_BLESS_HEADER").is_some() {
        std::fs::write(&committed_path, &generated).expect("write include/ssecast.h");
        return;
    }
    let committed = std::fs::read(&committed_path).unwrap_or_default();
    if committed != generated {
        let scratch = std::env::temp_dir().join(format!("ssecast-{}.h", std::process::id()));
        std::fs::write(&scratch, &generated).expect("write the generated header");
        panic!(
            "include/ssecast.h is stale: it differs from what cbindgen generates now \
             (written to {}). Run `make header` and commit the result.",
            scratch.display()
        );
    }
}
