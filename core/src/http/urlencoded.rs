//! `application/x-www-form-urlencoded` text (publish forms, stream queries),
//! decoded without replacing invalid UTF-8, so that callers refuse it instead
//! of publishing or subscribing to altered text.

/// The `name=value` pairs of `text`, each decoded (`+` is a space, `%XX` a
/// byte) but not yet checked to be UTF-8. Empty pairs are skipped; a pair
/// without `=` has an empty value.
pub(crate) fn pairs(text: &[u8]) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> + '_ {
    text.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.iter().position(|&b| b == b'=') {
            Some(at) => (decode(&pair[..at]), decode(&pair[at + 1..])),
            None => (decode(pair), Vec::new()),
        })
}

fn decode(text: &[u8]) -> Vec<u8> {
    let spaced: Vec<u8> = text
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_encoding::percent_decode(&spaced).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_without_replacing_bytes() {
        let got: Vec<(Vec<u8>, Vec<u8>)> = pairs(b"a=1+2&&b&c%3D=%ff%2b%zz").collect();
        assert_eq!(
            got,
            [
                (b"a".to_vec(), b"1 2".to_vec()),
                (b"b".to_vec(), Vec::new()),
                (b"c=".to_vec(), b"\xff+%zz".to_vec()),
            ]
        );
    }
}
