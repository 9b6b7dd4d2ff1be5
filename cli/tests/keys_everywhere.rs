//! One source for configuration keys: every key of core's [`ssecast::KEYS`] must
//! reach every place a user reads or types keys, and the typed declarations must
//! not list a key core does not have. When a key is added to core, this test names
//! each file that still lacks it and how to add it there.
//!
//! Not listed here because they are built from `KEYS` and cannot miss a key:
//! `Config::set`/`get` (core's own tests), the CLI flags and `SSECAST_*`
//! variables, Python's `ssecast.CONFIG_KEYS` and the options Node accepts at run
//! time. The CLI's `--help` is still checked, as users read it.

use std::path::{Path, PathBuf};
use std::process::Command;

use ssecast::KEYS;

/// How a key is spelt in a place.
#[derive(Clone, Copy)]
enum Spelling {
    /// `port`, `history_size`: C, Python, the CLI's TOML file.
    Snake,
    /// `historySize`: Node's options.
    Camel,
}

impl Spelling {
    fn of(self, key: &str) -> String {
        match self {
            Spelling::Snake => key.to_owned(),
            Spelling::Camel => {
                let mut words = key.split('_');
                let mut name = words.next().unwrap_or_default().to_owned();
                for word in words {
                    let mut chars = word.chars();
                    if let Some(first) = chars.next() {
                        name.extend(first.to_uppercase());
                        name.push_str(chars.as_str());
                    }
                }
                name
            }
        }
    }
}

/// Where the part of a file that a place covers ends.
#[derive(Clone, Copy)]
enum End {
    /// At the first occurrence of this text.
    At(&'static str),
    /// At the first line that is not indented (the end of a Python class body).
    Dedent,
}

/// A place in the repository that documents or declares every key.
struct Place {
    /// File, relative to the repository root.
    file: &'static str,
    /// What part of the file: the text from `start` up to `end`.
    start: &'static str,
    end: End,
    spelling: Spelling,
    /// How a key appears there, from its spelt name.
    pattern: fn(&str) -> String,
    /// For a typed declaration: the names it declares, to catch keys core no longer has.
    declared: Option<fn(&str) -> Vec<String>>,
    /// What to do when a key is missing.
    fix: &'static str,
}

fn in_backticks(name: &str) -> String {
    format!("`{name}`")
}

fn table_row(name: &str) -> String {
    format!("| `{name}` |")
}

fn python_field(name: &str) -> String {
    format!("\n    {name}: ")
}

fn typescript_field(name: &str) -> String {
    format!("\n  {name}?: ")
}

/// Names declared as `    name: type` lines (a Python class body).
fn python_fields(section: &str) -> Vec<String> {
    fields(section, "    ", ":")
}

/// Names declared as `  name?: type` lines (a TypeScript interface body).
fn typescript_fields(section: &str) -> Vec<String> {
    fields(section, "  ", "?:")
}

fn fields(section: &str, indent: &str, separator: &str) -> Vec<String> {
    section
        .lines()
        .filter_map(|line| line.strip_prefix(indent))
        .filter_map(|line| line.split_once(separator).map(|(name, _)| name))
        .filter(|name| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .map(str::to_owned)
        .collect()
}

const PLACES: &[Place] = &[
    Place {
        file: "README.md",
        start: "\n## Configuration\n",
        end: End::At("\n## "),
        spelling: Spelling::Snake,
        pattern: table_row,
        declared: None,
        fix: "add a row for `KEY` (key, default, meaning) to the table under \"## Configuration\"",
    },
    Place {
        file: "include/ssecast.h",
        start: "Sets the configuration key `key`",
        end: End::At("ssecast_config_set("),
        spelling: Spelling::Snake,
        pattern: in_backticks,
        declared: None,
        fix: "list `KEY` in the doc comment of `ssecast_config_set` in ffi/src/config.rs, \
              then run `make header` (include/ssecast.h is generated from it)",
    },
    Place {
        file: "ffi/README.md",
        start: "\n## Configuration keys\n",
        end: End::At("\n## "),
        spelling: Spelling::Snake,
        pattern: in_backticks,
        declared: None,
        fix: "list `KEY` under \"## Configuration keys\"",
    },
    Place {
        file: "bindings-python/python/ssecast/_ssecast.pyi",
        start: "\nclass _EngineConfig(",
        end: End::Dedent,
        spelling: Spelling::Snake,
        pattern: python_field,
        declared: Some(python_fields),
        fix: "add `KEY: <type>` to `class _EngineConfig` (the keyword arguments of \
              `Engine` and `ssecast.fastapi.lifespan`)",
    },
    Place {
        file: "bindings-python/README.md",
        start: "\n### `ssecast.Engine(**config)`\n",
        end: End::At("\n#"),
        spelling: Spelling::Snake,
        pattern: in_backticks,
        declared: None,
        fix: "add `KEY` to the key table under \"### `ssecast.Engine(**config)`\"",
    },
    Place {
        file: "bindings-node/index.d.ts",
        start: "\nexport interface EngineOptions {",
        end: End::At("\n}"),
        spelling: Spelling::Camel,
        pattern: typescript_field,
        declared: Some(typescript_fields),
        fix: "add its snake_case field (`Option<...>`, with a doc comment) to `EngineOptions` \
              in bindings-node/src/options.rs, then run `make node-types` (index.d.ts is \
              generated from it)",
    },
    Place {
        file: "bindings-node/README.md",
        start: "\n### `await Engine.start(options?)`\n",
        end: End::At("\n#"),
        spelling: Spelling::Camel,
        pattern: in_backticks,
        declared: None,
        fix: "add `KEY` to the option table under \"### `await Engine.start(options?)`\"",
    },
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

/// The part of `text` a place covers, or why it cannot be found.
fn section<'a>(text: &'a str, place: &Place) -> Result<&'a str, String> {
    let from = text.find(place.start).ok_or_else(|| {
        format!(
            "{}: cannot find {:?}; update PLACES in {}",
            place.file,
            place.start,
            file!()
        )
    })?;
    let rest = &text[from + place.start.len()..];
    let to = match place.end {
        End::At(end) => rest.find(end),
        End::Dedent => rest
            .match_indices('\n')
            .map(|(i, _)| i)
            .find(|&i| rest[i + 1..].starts_with(|c: char| !c.is_whitespace())),
    };
    Ok(&rest[..to.unwrap_or(rest.len())])
}

/// Every problem of one place: keys it lacks, names it declares that are no key.
fn problems(place: &Place) -> Vec<String> {
    match std::fs::read_to_string(repo_root().join(place.file)) {
        Ok(text) => problems_in(&text, place),
        Err(e) => vec![format!("{}: cannot read it: {e}", place.file)],
    }
}

/// The problems of `text` read as the file of `place`.
fn problems_in(text: &str, place: &Place) -> Vec<String> {
    let section = match section(text, place) {
        Ok(section) => section,
        Err(problem) => return vec![problem],
    };
    let mut found = Vec::new();
    for key in KEYS {
        let name = place.spelling.of(key.name);
        if !section.contains(&(place.pattern)(&name)) {
            found.push(format!(
                "{}: lacks `{name}`: {}",
                place.file,
                place.fix.replace("KEY", &name)
            ));
        }
    }
    if let Some(declared) = place.declared {
        let known: Vec<String> = KEYS.iter().map(|k| place.spelling.of(k.name)).collect();
        for name in declared(section) {
            if !known.contains(&name) {
                found.push(format!(
                    "{}: declares `{name}`, which is not a key of ssecast::KEYS: remove it",
                    place.file
                ));
            }
        }
    }
    found
}

#[test]
fn every_place_lists_every_configuration_key() {
    let found: Vec<String> = PLACES.iter().flat_map(problems).collect();
    assert!(
        found.is_empty(),
        "configuration keys out of step with ssecast::KEYS. A new key goes in \
         core/src/config.rs (the Config field, Default, Config::set, Config::get, KEYS), \
         then in each place below:\n  - {}\n",
        found.join("\n  - ")
    );
}

#[test]
fn cli_help_lists_every_key_as_a_flag() {
    let output = Command::new(env!("CARGO_BIN_EXE_ssecast"))
        .arg("--help")
        .output()
        .expect("run ssecast --help");
    assert!(output.status.success(), "ssecast --help failed: {output:?}");
    // clap prints help to stdout; the CLI writes its own messages to stderr.
    let help = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let missing: Vec<String> = KEYS
        .iter()
        .map(|key| format!("--{}", key.name.replace('_', "-")))
        .filter(|flag| !help.contains(&format!("{flag} <VALUE>")))
        .collect();
    assert!(
        missing.is_empty(),
        "`ssecast --help` lacks {missing:?} (cli/src/options.rs builds one flag per key of \
         ssecast::KEYS):\n{help}"
    );
}

/// The checker itself: a place that lacks keys or declares an unknown one is
/// reported with its file, the key and the fix; a complete one passes.
#[test]
fn a_missing_or_unknown_key_is_named_with_its_file_and_fix() {
    let node_types = PLACES
        .iter()
        .find(|p| p.file == "bindings-node/index.d.ts")
        .unwrap();
    let stale = "x\nexport interface EngineOptions {\n  port?: number\n  colour?: string\n}\n";
    let found = problems_in(stale, node_types);
    assert_eq!(found.len(), KEYS.len() - 1 + 1, "{found:#?}");
    assert!(
        found[0].starts_with("bindings-node/index.d.ts: lacks `bind`: add its snake_case field")
    );
    assert!(found
        .iter()
        .any(|p| p.contains("`historySize`") && p.contains("make node-types")));
    assert!(found
        .last()
        .unwrap()
        .contains("declares `colour`, which is not a key"));

    let python_stub = PLACES.iter().find(|p| p.file.ends_with(".pyi")).unwrap();
    let fields: String = KEYS
        .iter()
        .map(|k| format!("    {}: int\n", k.name))
        .collect();
    let complete = format!(
        "x\nclass _EngineConfig(TypedDict, total=False):\n    \"\"\"Doc.\"\"\"\n\n{fields}\n@final\nclass Engine:\n    colour: int\n"
    );
    assert_eq!(problems_in(&complete, python_stub), Vec::<String>::new());
    let found = problems_in("class Engine:\n    port: int\n", python_stub);
    assert!(found[0].contains("cannot find"), "{found:?}");

    assert_eq!(
        Spelling::Camel.of("max_topics_per_connection"),
        "maxTopicsPerConnection"
    );
}
