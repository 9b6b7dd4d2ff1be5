//! Access control: who may subscribe to and publish on which topics, and how
//! many streams one address may open.
//!
//! Off unless `jwt_secret` or `jwt_public_key` is set; the per-address limits
//! are off unless set. [`AccessControl`] is what an HTTP entry asks;
//! [`TokenMinter`] mints tokens for host applications.
//!
//! - `extract`: where a token travels (header, cookie, query).
//! - `keys`, `verify`: keys, algorithm allowlist, signature and claims.
//! - `claims`, `pattern`: the grants of a token and the topic patterns.
//! - `authorize`: public topics and grants against the topics asked for.
//! - `publisher`: the static `publish_token` or a token with publish grants.
//! - `client_address`, `limits`: the client's address behind trusted
//!   proxies, and the per-address limits.
//! - `mint`: engine-minted tokens.
//! - `outcome`: [`Grant`] and [`Denial`].

mod access;
mod authorize;
mod claims;
mod client_address;
mod extract;
mod keys;
mod limits;
mod mint;
mod outcome;
mod pattern;
mod publisher;
mod verify;

#[cfg(test)]
mod tests;

pub use access::AccessControl;
pub(crate) use extract::bearer;
pub use extract::RequestParts;
pub use limits::{ConnectionSlot, MAX_TRACKED_ADDRESSES};
pub use mint::{ttl_from_secs_f64, TokenMinter};
pub use outcome::{Denial, DenialKind, Grant};
pub use publisher::Publisher;
pub use verify::{LEEWAY as TOKEN_LEEWAY, MAX_TOKEN_BYTES};
