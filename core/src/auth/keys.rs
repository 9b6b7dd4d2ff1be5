//! Key material and the algorithm allowlist, read from the configuration.
//!
//! `jwt_secret` verifies (and mints) HMAC tokens; `jwt_public_key` verifies
//! RSA, ECDSA or Ed25519 tokens. Each key is only ever used with the algorithms
//! of its own family, so an HMAC token "signed" with the public key's PEM text
//! cannot pass (algorithm confusion), and `none` is not an algorithm at all.

use std::io::Read;

use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};

use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};

/// The largest key file `jwt_public_key = @path` reads.
const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

/// Every family, in the order algorithm names are looked up.
const FAMILIES: [AlgorithmFamily; 4] = [
    AlgorithmFamily::Hmac,
    AlgorithmFamily::Rsa,
    AlgorithmFamily::Ec,
    AlgorithmFamily::Ed,
];

/// The verification keys of a configuration and the algorithms each accepts.
pub(crate) struct KeySet {
    /// The HMAC secret and the HS* algorithms allowed with it.
    pub(crate) secret: Option<(Vec<u8>, Vec<Algorithm>)>,
    /// The public key and the algorithms of its family allowed with it.
    pub(crate) public: Option<(DecodingKey, Vec<Algorithm>)>,
}

impl KeySet {
    /// Reads the keys of `config`; `None` when neither `jwt_secret` nor
    /// `jwt_public_key` is set (authorization is off).
    pub(crate) fn from_config(config: &Config) -> Result<Option<KeySet>> {
        let listed = config
            .jwt_algorithms
            .iter()
            .map(|name| parse_algorithm(name))
            .collect::<Result<Vec<_>>>()?;
        if config.jwt_secret.is_none() && config.jwt_public_key.is_none() {
            return match listed.first() {
                Some(_) => Err(bad(
                    "jwt_algorithms is set, but neither jwt_secret nor jwt_public_key",
                )),
                None => Ok(None),
            };
        }
        if let Some(alg) = listed.iter().find(|a| a.family() != AlgorithmFamily::Hmac) {
            if config.jwt_public_key.is_none() {
                return Err(bad(format!(
                    "jwt_algorithms lists {alg:?}, which needs jwt_public_key"
                )));
            }
        }
        if let Some(alg) = listed.iter().find(|a| a.family() == AlgorithmFamily::Hmac) {
            if config.jwt_secret.is_none() {
                return Err(bad(format!(
                    "jwt_algorithms lists {alg:?}, which needs jwt_secret \
                     (an HMAC token is never checked against a public key)"
                )));
            }
        }
        let secret = match &config.jwt_secret {
            Some(secret) => Some(hmac_key(secret, &listed)?),
            None => None,
        };
        let public = match &config.jwt_public_key {
            Some(value) => Some(public_key(&load_pem(value)?, &listed)?),
            None => None,
        };
        Ok(Some(KeySet { secret, public }))
    }
}

/// Parses one `jwt_algorithms` entry, case-insensitively.
fn parse_algorithm(name: &str) -> Result<Algorithm> {
    if name.eq_ignore_ascii_case("none") {
        return Err(bad(
            "jwt_algorithms: `none` (unsigned tokens) is never accepted",
        ));
    }
    FAMILIES
        .iter()
        .flat_map(|f| f.algorithms())
        .find(|alg| format!("{alg:?}").eq_ignore_ascii_case(name))
        .copied()
        .ok_or_else(|| {
            bad(format!(
                "jwt_algorithms: unknown algorithm {name:?} (known: HS256, HS384, HS512, \
                 RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA)"
            ))
        })
}

/// The secret and its HS* algorithms (default HS256). RFC 7518 §3.2: the key is
/// at least as long as the hash.
fn hmac_key(secret: &str, listed: &[Algorithm]) -> Result<(Vec<u8>, Vec<Algorithm>)> {
    let algorithms = allowed(AlgorithmFamily::Hmac, listed, &[Algorithm::HS256]);
    if algorithms.is_empty() {
        return Err(bad(
            "jwt_secret is set, but jwt_algorithms lists no HS256, HS384 or HS512",
        ));
    }
    for alg in &algorithms {
        let need = match alg {
            Algorithm::HS512 => 64,
            Algorithm::HS384 => 48,
            _ => 32,
        };
        if secret.len() < need {
            return Err(bad(format!(
                "jwt_secret must be at least {need} bytes long for {alg:?} (it is {})",
                secret.len()
            )));
        }
    }
    Ok((secret.as_bytes().to_vec(), algorithms))
}

/// The algorithms of `family` in `listed`, or `default` when nothing is listed.
fn allowed(family: AlgorithmFamily, listed: &[Algorithm], default: &[Algorithm]) -> Vec<Algorithm> {
    if listed.is_empty() {
        return default.to_vec();
    }
    listed
        .iter()
        .copied()
        .filter(|a| a.family() == family)
        .collect()
}

/// The text of `jwt_public_key`: inline PEM (an environment variable may carry
/// its line breaks as `\n`), or `@path` to a PEM file.
fn load_pem(value: &str) -> Result<String> {
    if let Some(path) = value.strip_prefix('@') {
        let path = path.trim();
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|file| file.take(MAX_KEY_FILE_BYTES).read_to_string(&mut text))
            .map_err(|e| bad(format!("jwt_public_key: cannot read {path}: {e}")))?;
        return Ok(text);
    }
    if value.contains("-----BEGIN") {
        if !value.contains('\n') && value.contains("\\n") {
            return Ok(value.replace("\\n", "\n"));
        }
        return Ok(value.to_owned());
    }
    Err(bad(
        "jwt_public_key: expected PEM text (-----BEGIN PUBLIC KEY-----...) or @/path/to/key.pem",
    ))
}

/// A `DecodingKey` constructor from PEM bytes.
type PemParser = fn(&[u8]) -> jsonwebtoken::errors::Result<DecodingKey>;

/// Parses a public key PEM and the algorithms allowed with it: those listed of
/// its family, or by default every algorithm of its family the key works with.
fn public_key(pem: &str, listed: &[Algorithm]) -> Result<(DecodingKey, Vec<Algorithm>)> {
    let label = pem
        .split_once("-----BEGIN ")
        .and_then(|(_, rest)| rest.split_once("-----"))
        .map(|(label, _)| label)
        .unwrap_or_default();
    match label {
        "PUBLIC KEY" | "RSA PUBLIC KEY" => {}
        _ if label.contains("PRIVATE") => {
            return Err(bad(
                "jwt_public_key holds a private key; give its public half \
                 (openssl pkey -in key.pem -pubout)",
            ))
        }
        "CERTIFICATE" => {
            return Err(bad(
                "jwt_public_key holds a certificate; give its public key \
                 (openssl x509 -in cert.pem -pubkey -noout)",
            ))
        }
        _ => {
            return Err(bad(format!(
                "jwt_public_key holds a {label:?} block, not a PUBLIC KEY"
            )))
        }
    }
    let parsers: [(AlgorithmFamily, PemParser); 3] = [
        (AlgorithmFamily::Rsa, DecodingKey::from_rsa_pem),
        (AlgorithmFamily::Ec, DecodingKey::from_ec_pem),
        (AlgorithmFamily::Ed, DecodingKey::from_ed_pem),
    ];
    for (family, parse) in parsers {
        let Ok(key) = parse(pem.as_bytes()) else {
            continue;
        };
        let usable: Vec<Algorithm> = family
            .algorithms()
            .iter()
            .copied()
            .filter(|alg| key_works_with(&key, *alg))
            .collect();
        if usable.is_empty() {
            continue;
        }
        let algorithms = allowed(family, listed, &usable);
        if algorithms.is_empty() {
            return Err(bad(format!(
                "jwt_public_key is {} key, but jwt_algorithms lists none of {usable:?}",
                family_name(family)
            )));
        }
        if let Some(alg) = algorithms.iter().find(|a| !usable.contains(a)) {
            return Err(bad(format!(
                "jwt_algorithms lists {alg:?}, which this {} key cannot verify",
                family_name(family)
            )));
        }
        return Ok((key, algorithms));
    }
    Err(bad(
        "jwt_public_key is not an RSA, ECDSA (P-256, P-384) or Ed25519 public key",
    ))
}

/// True when the crypto backend accepts `key` for `alg` (it parses the key
/// when building a verifier; the empty signature itself just fails).
fn key_works_with(key: &DecodingKey, alg: Algorithm) -> bool {
    jsonwebtoken::crypto::verify("", b"", key, alg).is_ok()
}

fn family_name(family: AlgorithmFamily) -> &'static str {
    match family {
        AlgorithmFamily::Hmac => "an HMAC",
        AlgorithmFamily::Rsa => "an RSA",
        AlgorithmFamily::Ec => "an ECDSA",
        AlgorithmFamily::Ed => "an Ed25519",
    }
}

fn bad(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidConfig, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA: &str = include_str!("fixtures/rsa_public.pem");
    const EC: &str = include_str!("fixtures/ec_public.pem");
    const ED: &str = include_str!("fixtures/ed25519_public.pem");
    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn config(pairs: &[(&str, &str)]) -> Config {
        let mut config = Config::default();
        for (key, value) in pairs {
            config.set(key, value).unwrap();
        }
        config
    }

    fn error(pairs: &[(&str, &str)]) -> String {
        match KeySet::from_config(&config(pairs)) {
            Ok(_) => panic!("{pairs:?} was accepted"),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::InvalidConfig);
                e.message().to_owned()
            }
        }
    }

    fn algorithms(pairs: &[(&str, &str)]) -> (Vec<Algorithm>, Vec<Algorithm>) {
        let keys = KeySet::from_config(&config(pairs)).unwrap().unwrap();
        (
            keys.secret.map(|s| s.1).unwrap_or_default(),
            keys.public.map(|p| p.1).unwrap_or_default(),
        )
    }

    #[test]
    fn no_key_means_off() {
        assert!(KeySet::from_config(&Config::default()).unwrap().is_none());
        assert!(error(&[("jwt_algorithms", "HS256")]).contains("neither"));
    }

    #[test]
    fn defaults_follow_the_key() {
        use Algorithm::*;
        assert_eq!(algorithms(&[("jwt_secret", SECRET)]).0, [HS256]);
        assert_eq!(
            algorithms(&[("jwt_public_key", RSA)]).1,
            [RS256, RS384, RS512, PS256, PS384, PS512]
        );
        assert_eq!(
            algorithms(&[("jwt_public_key", EC)]).1,
            [ES256],
            "the P-256 curve only"
        );
        assert_eq!(algorithms(&[("jwt_public_key", ED)]).1, [EdDSA]);
        let (hmac, public) = algorithms(&[
            ("jwt_secret", SECRET),
            ("jwt_public_key", ED),
            ("jwt_algorithms", "hs256, eddsa"),
        ]);
        assert_eq!((hmac, public), (vec![HS256], vec![EdDSA]));
    }

    #[test]
    fn none_and_unknown_names_are_refused() {
        assert!(
            error(&[("jwt_secret", SECRET), ("jwt_algorithms", "HS256,none")]).contains("never")
        );
        assert!(error(&[("jwt_secret", SECRET), ("jwt_algorithms", "NONE")]).contains("never"));
        assert!(error(&[("jwt_secret", SECRET), ("jwt_algorithms", "HS257")]).contains("unknown"));
    }

    #[test]
    fn algorithms_must_fit_the_keys() {
        let e = error(&[("jwt_public_key", RSA), ("jwt_algorithms", "HS256")]);
        assert!(e.contains("needs jwt_secret"), "{e}");
        let e = error(&[("jwt_secret", SECRET), ("jwt_algorithms", "RS256")]);
        assert!(e.contains("needs jwt_public_key"), "{e}");
        let e = error(&[("jwt_public_key", RSA), ("jwt_algorithms", "ES256")]);
        assert!(e.contains("an RSA key") && e.contains("none of"), "{e}");
        let e = error(&[("jwt_public_key", EC), ("jwt_algorithms", "ES384")]);
        assert!(e.contains("cannot verify"), "{e}");
        let e = error(&[
            ("jwt_secret", SECRET),
            ("jwt_public_key", EC),
            ("jwt_algorithms", "ES256"),
        ]);
        assert!(e.contains("lists no HS256"), "{e}");
    }

    #[test]
    fn secrets_are_as_long_as_their_hash() {
        let e = error(&[("jwt_secret", "short")]);
        assert!(e.contains("at least 32 bytes"), "{e}");
        let e = error(&[("jwt_secret", SECRET), ("jwt_algorithms", "HS512")]);
        assert!(e.contains("at least 64 bytes"), "{e}");
    }

    #[test]
    fn the_public_key_may_be_a_file_or_escaped_text() {
        let dir = std::env::temp_dir().join(format!("ssecast-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("key.pem");
        std::fs::write(&file, ED).unwrap();
        let value = format!("@{}", file.display());
        assert_eq!(
            algorithms(&[("jwt_public_key", &value)]).1,
            [Algorithm::EdDSA]
        );
        let e = error(&[("jwt_public_key", "@/nonexistent/key.pem")]);
        assert!(e.contains("cannot read /nonexistent/key.pem"), "{e}");
        let escaped = RSA.trim().replace('\n', "\\n");
        assert_eq!(algorithms(&[("jwt_public_key", &escaped)]).1.len(), 6);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn wrong_pem_blocks_are_named() {
        assert!(error(&[("jwt_public_key", "not a key")]).contains("expected PEM"));
        let private =
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----";
        assert!(error(&[("jwt_public_key", private)]).contains("private key"));
        let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----";
        assert!(error(&[("jwt_public_key", cert)]).contains("certificate"));
        let garbage = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----";
        assert!(error(&[("jwt_public_key", garbage)]).contains("not an RSA"));
        let truncated: String = RSA.lines().take(3).collect::<Vec<_>>().join("\n");
        assert!(error(&[("jwt_public_key", &truncated)]).contains("not an RSA"));
    }
}
