//! Topic patterns: the grammar of `public_topics` and of the grants in tokens.
//!
//! A pattern is split on `/` into segments, like a topic:
//!
//! - a plain segment matches the same text exactly;
//! - `*` matches exactly one non-empty segment;
//! - `**`, only as the last segment, matches one or more further segments of
//!   any content (`user/7/**` grants `user/7/a` and `user/7/a/b`, not `user/7`
//!   itself; grant both by listing `user/7` too). `**` alone matches every topic;
//! - `{sub}` inside a segment stands for the token's `sub` claim (`user/{sub}`).
//!   It is compared as literal text within one segment, and only a subject that
//!   cannot change the shape of a topic takes part: one that is empty, `.` or
//!   `..`, or holds `/`, `*`, `{`, `}` or a control character makes the pattern
//!   match nothing.
//!
//! Empty segments (`a//b`, a leading or trailing `/`), `.` and `..` segments,
//! `*` or `**` inside a longer segment, `**` before the end, braces other than
//! `{sub}` and control characters make a pattern invalid.

use std::fmt;

use crate::event::MAX_TOPIC_BYTES;

/// The placeholder replaced by the token's subject.
const SUBJECT: &str = "{sub}";

/// A parsed topic pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TopicPattern {
    text: String,
    segments: Vec<Segment>,
    /// A trailing `**`: one or more further segments.
    deep: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `*`: one non-empty segment.
    Any,
    /// A segment holding `{sub}`: the text before and after it.
    Subject {
        before: String,
        after: String,
    },
}

impl TopicPattern {
    /// Parses `text`, or says why it is not a pattern.
    pub(crate) fn parse(text: &str) -> Result<TopicPattern, String> {
        if text.is_empty() {
            return Err("a pattern must not be empty".into());
        }
        if text.len() > MAX_TOPIC_BYTES {
            return Err(format!("longer than {MAX_TOPIC_BYTES} bytes"));
        }
        if text.chars().any(char::is_control) {
            return Err("holds a control character".into());
        }
        let parts: Vec<&str> = text.split('/').collect();
        let mut segments = Vec::with_capacity(parts.len());
        let mut deep = false;
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            let segment = match *part {
                "" => return Err("has an empty segment".into()),
                "." | ".." => return Err(format!("has a {part:?} segment")),
                "**" if last => {
                    deep = true;
                    continue;
                }
                "**" => return Err("`**` may only be the last segment".into()),
                "*" => Segment::Any,
                _ if part.contains('*') => return Err("`*` and `**` must be whole segments".into()),
                _ => subject_segment(part)?,
            };
            segments.push(segment);
        }
        Ok(TopicPattern {
            text: text.to_owned(),
            segments,
            deep,
        })
    }

    /// True when the pattern holds `{sub}`.
    pub(crate) fn uses_subject(&self) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s, Segment::Subject { .. }))
    }

    /// The pattern as it was written.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// True when `topic` matches, with `{sub}` standing for `subject`. A pattern
    /// with `{sub}` matches nothing without a [`safe_subject`].
    pub(crate) fn matches(&self, topic: &str, subject: Option<&str>) -> bool {
        let subject = subject.filter(|s| safe_subject(s));
        let mut parts = topic.split('/');
        for segment in &self.segments {
            let Some(part) = parts.next() else {
                return false;
            };
            let fits = match segment {
                Segment::Literal(text) => part == text,
                Segment::Any => !part.is_empty(),
                Segment::Subject { before, after } => subject.is_some_and(|sub| {
                    part.len() == before.len() + sub.len() + after.len()
                        && part.starts_with(before.as_str())
                        && part.ends_with(after.as_str())
                        && &part[before.len()..part.len() - after.len()] == sub
                }),
            };
            if !fits {
                return false;
            }
        }
        // `**` needs at least one more segment; otherwise none may remain.
        parts.next().is_some() == self.deep
    }
}

impl fmt::Display for TopicPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// One segment without `*`: literal text, or text around one `{sub}`.
fn subject_segment(part: &str) -> Result<Segment, String> {
    let Some((before, after)) = part.split_once(SUBJECT) else {
        if part.contains(['{', '}']) {
            return Err("the only placeholder is `{sub}`".into());
        }
        return Ok(Segment::Literal(part.to_owned()));
    };
    if before.contains(['{', '}']) || after.contains(['{', '}']) {
        return Err("a segment may hold one `{sub}` and no other braces".into());
    }
    Ok(Segment::Subject {
        before: before.to_owned(),
        after: after.to_owned(),
    })
}

/// True for a subject that may stand in for `{sub}`: one that cannot add a
/// segment, a wildcard, a placeholder or a relative step.
pub(crate) fn safe_subject(subject: &str) -> bool {
    !subject.is_empty()
        && subject != "."
        && subject != ".."
        && subject.len() <= MAX_TOPIC_BYTES
        && !subject
            .chars()
            .any(|c| matches!(c, '/' | '*' | '{' | '}') || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, topic: &str, subject: Option<&str>) -> bool {
        TopicPattern::parse(pattern)
            .unwrap()
            .matches(topic, subject)
    }

    #[test]
    fn exact_patterns_match_only_themselves() {
        assert!(matches("news", "news", None));
        assert!(matches("chat/1", "chat/1", None));
        assert!(!matches("chat/1", "chat/10", None));
        assert!(!matches("chat/1", "chat", None));
        assert!(!matches("chat/1", "chat/1/x", None));
        assert!(!matches("chat/1", "Chat/1", None));
    }

    #[test]
    fn star_is_one_non_empty_segment() {
        assert!(matches("news/*", "news/sport", None));
        assert!(matches("*/n", "a/n", None));
        assert!(matches("*", "anything", None));
        assert!(!matches("*", "a/b", None));
        assert!(!matches("news/*", "news", None));
        assert!(!matches("news/*", "news/a/b", None));
        assert!(!matches("news/*", "news/", None));
        assert!(!matches("user/*/n", "user//n", None));
    }

    #[test]
    fn trailing_double_star_is_one_or_more_segments() {
        assert!(matches("room/**", "room/1", None));
        assert!(matches("room/**", "room/1/2/3", None));
        assert!(
            !matches("room/**", "room", None),
            "the prefix itself is not granted"
        );
        assert!(!matches("room/**", "rooms/1", None));
        assert!(matches("**", "a", None));
        assert!(matches("**", "a/b/c", None));
        assert!(matches("a/*/**", "a/b/c", None));
        assert!(!matches("a/*/**", "a/b", None));
    }

    #[test]
    fn subject_is_replaced_within_its_segment() {
        assert!(matches("user/{sub}/n", "user/42/n", Some("42")));
        assert!(!matches("user/{sub}/n", "user/43/n", Some("42")));
        assert!(matches("user-{sub}", "user-42", Some("42")));
        assert!(matches("{sub}.inbox", "42.inbox", Some("42")));
        assert!(!matches("{sub}.inbox", "42.inbo", Some("42")));
        assert!(matches("user/{sub}/**", "user/42/a/b", Some("42")));
        assert!(
            !matches("user/{sub}/n", "user/42/n", None),
            "no subject, no match"
        );
    }

    #[test]
    fn a_hostile_subject_never_widens_a_grant() {
        let pattern = TopicPattern::parse("user/{sub}/n").unwrap();
        for sub in [
            "*", "**", "42/../43", "a/b", "", ".", "..", "{sub}", "43/n", "4\n3",
        ] {
            for topic in [
                "user/43/n",
                "user/*/n",
                "user/a/b/n",
                "user/42/../43/n",
                "user//n",
                "user/{sub}/n",
                "user/../n",
            ] {
                assert!(
                    !pattern.matches(topic, Some(sub)),
                    "sub {sub:?} opened {topic:?}"
                );
            }
        }
        // Subjects with other punctuation are fine, literally.
        assert!(pattern.matches("user/a.b@c/n", Some("a.b@c")));
    }

    #[test]
    fn malformed_patterns_are_rejected_with_a_reason() {
        for (text, reason) in [
            ("", "empty"),
            ("a//b", "empty segment"),
            ("/a", "empty segment"),
            ("a/", "empty segment"),
            ("user/42/../43", "\"..\""),
            ("./a", "\".\""),
            ("a/**/b", "last segment"),
            ("a/b*", "whole segments"),
            ("a/**b", "whole segments"),
            ("{id}/n", "placeholder"),
            ("{sub}{sub}", "one `{sub}`"),
            ("a{", "placeholder"),
            ("a\u{7}b", "control"),
        ] {
            let err = TopicPattern::parse(text).unwrap_err();
            assert!(err.contains(reason), "{text:?}: {err}");
        }
        let long = "a".repeat(MAX_TOPIC_BYTES + 1);
        assert!(TopicPattern::parse(&long).unwrap_err().contains("longer"));
    }

    #[test]
    fn knows_whether_it_uses_the_subject() {
        assert!(TopicPattern::parse("u/{sub}").unwrap().uses_subject());
        assert!(!TopicPattern::parse("u/*").unwrap().uses_subject());
        assert_eq!(TopicPattern::parse("u/*").unwrap().to_string(), "u/*");
    }
}
