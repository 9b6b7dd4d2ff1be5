//! Arguments of `engine.subscriberToken` and `engine.publisherToken`: topic
//! patterns and `{ ttl, subject }`, converted for core's token minter.

use std::time::Duration;

use napi::bindgen_prelude::Unknown;
use napi::{Env, Result};
use napi_derive::napi;
use ssecast::ErrorKind;

use crate::args;
use crate::errors::{engine_error, type_error};

/// Options of `engine.subscriberToken`.
#[napi(object, object_from_js = false, object_to_js = false)]
#[expect(
    dead_code,
    reason = "types index.d.ts only; TokenArgs::read reads the object"
)]
pub struct SubscriberTokenOptions {
    /// How long the token is accepted, in seconds (at least 1; a fraction is
    /// cut off). A stream opened with it ends then.
    pub ttl: f64,
    /// The token's `sub` claim: who it was minted for. `{sub}` in a topic
    /// pattern stands for it (`user/{sub}/notifications`).
    pub subject: Option<String>,
}

/// Options of `engine.publisherToken`.
#[napi(object, object_from_js = false, object_to_js = false)]
#[expect(
    dead_code,
    reason = "types index.d.ts only; TokenArgs::read reads the object"
)]
pub struct PublisherTokenOptions {
    /// How long the token is accepted, in seconds (at least 1).
    pub ttl: f64,
}

/// What a token is minted from.
pub struct TokenArgs {
    /// Topic patterns.
    pub topics: Vec<String>,
    /// The token's lifetime.
    pub ttl: Duration,
    /// The `sub` claim, for subscriber tokens.
    pub subject: Option<String>,
}

impl TokenArgs {
    /// Reads `topics` (an array of strings) and `options` of `method`;
    /// `subject` is an option only when `with_subject`. A wrong type or an
    /// unknown option is a `TypeError` naming it; a bad `ttl` value is
    /// `ERR_SSECAST_INVALID_DATA`.
    pub fn read(
        env: &Env,
        method: &str,
        topics: &Unknown,
        options: Option<&Unknown>,
        with_subject: bool,
    ) -> Result<TokenArgs> {
        let topics = args::string_array(
            env,
            topics,
            &format!("{method} topics"),
            ErrorKind::InvalidTopic,
        )?;
        let (mut ttl, mut subject) = (None, None);
        let known = if with_subject { "ttl, subject" } else { "ttl" };
        for (name, value) in args::option_entries(env, options, &format!("{method} options"))? {
            let absent = args::is_absent(&value)?;
            match name.as_str() {
                "ttl" | "subject" if absent => {}
                "ttl" => ttl = Some(args::number(env, &value, &format!("{method} option ttl"))?),
                "subject" if with_subject => {
                    subject = Some(args::string(
                        env,
                        &value,
                        &format!("{method} option subject"),
                        ErrorKind::InvalidData,
                    )?)
                }
                _ => {
                    return Err(type_error(
                        env,
                        format!("unknown {method} option {name:?} (options: {known})"),
                    ))
                }
            }
        }
        let Some(seconds) = ttl else {
            return Err(type_error(
                env,
                format!("{method} needs options.ttl, the token's lifetime in seconds"),
            ));
        };
        let ttl = ssecast::ttl_from_secs_f64(seconds).map_err(|e| engine_error(env, &e))?;
        Ok(TokenArgs {
            topics,
            ttl,
            subject,
        })
    }
}
