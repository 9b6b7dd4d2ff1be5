//! The claims ssecast reads from a verified token, and the grants they give.
//!
//! Grants come from the `ssecast` claim and from Mercure's `mercure` claim
//! (`{"subscribe": [...], "publish": [...]}`); when both are present their
//! lists are joined. A grant list that is not a list of strings (a string, a
//! number, an object) makes the whole token invalid; `null` or a missing list
//! grants nothing. A string that is not a valid [pattern](super::pattern) is
//! skipped: it grants nothing and the rest of the token still counts. In the
//! `mercure` claim a lone `*` keeps its Mercure meaning, every topic (`**`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::pattern::TopicPattern;

/// The claims of a token that ssecast reads; the rest are ignored.
#[derive(Debug, Deserialize)]
pub(crate) struct Claims {
    #[serde(default)]
    sub: Option<String>,
    /// Seconds since 1970; JWT allows a fraction.
    #[serde(default)]
    exp: Option<f64>,
    #[serde(default)]
    ssecast: Option<GrantClaim>,
    #[serde(default)]
    mercure: Option<GrantClaim>,
}

/// A `subscribe` / `publish` pair of pattern lists, as read and as minted.
#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct GrantClaim {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) subscribe: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) publish: Option<Vec<String>>,
}

/// What a verified token allows.
#[derive(Debug, Clone)]
pub(crate) struct TokenGrants {
    pub(crate) subject: Option<String>,
    /// When the token stops being accepted (its `exp` plus the leeway).
    pub(crate) expires_at: Option<SystemTime>,
    subscribe: Vec<TopicPattern>,
    publish: Vec<TopicPattern>,
}

impl TokenGrants {
    /// The grants of `claims`, valid until `exp + leeway`.
    pub(crate) fn from_claims(claims: Claims, leeway: Duration) -> TokenGrants {
        let mut subscribe = Vec::new();
        let mut publish = Vec::new();
        for (claim, mercure) in [(claims.ssecast, false), (claims.mercure, true)] {
            let Some(claim) = claim else { continue };
            subscribe.extend(patterns(claim.subscribe, mercure));
            publish.extend(patterns(claim.publish, mercure));
        }
        // An `exp` past what SystemTime holds is as good as none.
        let expires_at = claims.exp.and_then(|exp| {
            let exp = Duration::try_from_secs_f64(exp).ok()?;
            UNIX_EPOCH.checked_add(exp.checked_add(leeway)?)
        });
        TokenGrants {
            subject: claims.sub,
            expires_at,
            subscribe,
            publish,
        }
    }

    /// True when a subscribe pattern covers `topic`.
    pub(crate) fn may_subscribe(&self, topic: &str) -> bool {
        covered(&self.subscribe, topic, self.subject.as_deref())
    }

    /// True when a publish pattern covers `topic`.
    pub(crate) fn may_publish(&self, topic: &str) -> bool {
        covered(&self.publish, topic, self.subject.as_deref())
    }
}

fn covered(patterns: &[TopicPattern], topic: &str, subject: Option<&str>) -> bool {
    patterns.iter().any(|p| p.matches(topic, subject))
}

fn patterns(list: Option<Vec<String>>, mercure: bool) -> impl Iterator<Item = TopicPattern> {
    list.into_iter().flatten().filter_map(move |text| {
        let text = if mercure && text == "*" { "**" } else { &text };
        match TopicPattern::parse(text) {
            Ok(pattern) => Some(pattern),
            Err(reason) => {
                tracing::debug!("ignoring the grant pattern {text:?} of a token: {reason}");
                None
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(claims: serde_json::Value) -> TokenGrants {
        let claims: Claims = serde_json::from_value(claims).unwrap();
        TokenGrants::from_claims(claims, Duration::from_secs(30))
    }

    #[test]
    fn both_claims_are_joined() {
        let g = grants(serde_json::json!({
            "ssecast": {"subscribe": ["a"], "publish": ["p/1"]},
            "mercure": {"subscribe": ["b"], "publish": []}
        }));
        assert!(g.may_subscribe("a") && g.may_subscribe("b"));
        assert!(!g.may_subscribe("c"));
        assert!(g.may_publish("p/1") && !g.may_publish("a"));
    }

    #[test]
    fn mercure_star_means_every_topic_but_ssecast_star_one_segment() {
        let g = grants(serde_json::json!({"mercure": {"subscribe": ["*"]}}));
        assert!(g.may_subscribe("a/b/c"));
        let g = grants(serde_json::json!({"ssecast": {"subscribe": ["*"]}}));
        assert!(g.may_subscribe("a") && !g.may_subscribe("a/b"));
    }

    #[test]
    fn expiry_includes_the_leeway_and_survives_huge_values() {
        let g = grants(serde_json::json!({"exp": 100}));
        assert_eq!(g.expires_at, Some(UNIX_EPOCH + Duration::from_secs(130)));
        let g = grants(serde_json::json!({"exp": 100.5}));
        assert_eq!(
            g.expires_at,
            Some(UNIX_EPOCH + Duration::from_millis(130_500))
        );
        let g = grants(serde_json::json!({"exp": u64::MAX}));
        assert_eq!(g.expires_at, None);
        assert!(grants(serde_json::json!({})).expires_at.is_none());
    }

    #[test]
    fn grants_that_are_not_string_lists_do_not_parse() {
        for bad in [
            serde_json::json!({"ssecast": {"subscribe": "a"}}),
            serde_json::json!({"ssecast": {"subscribe": [1]}}),
            serde_json::json!({"ssecast": {"publish": {"a": 1}}}),
            serde_json::json!({"mercure": ["a"]}),
            serde_json::json!({"ssecast": "all"}),
            serde_json::json!({"sub": 42}),
        ] {
            assert!(
                serde_json::from_value::<Claims>(bad.clone()).is_err(),
                "{bad}"
            );
        }
        let g = grants(serde_json::json!({"ssecast": {"subscribe": null}}));
        assert!(!g.may_subscribe("a"));
    }
}
