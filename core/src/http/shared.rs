//! What every connection of the server shares.

use std::sync::Arc;

use crate::auth::AccessControl;
use crate::config::Config;
use crate::hub::Hub;
use crate::stream::StreamSettings;

/// The hub, the configuration and access control, shared by every connection.
pub(crate) struct Shared {
    /// The engine's hub.
    pub(crate) hub: Arc<Hub>,
    /// The configuration the engine started with.
    pub(crate) config: Config,
    /// Tokens, per-address limits and publisher credentials, built once from
    /// `config`.
    pub(crate) access: AccessControl,
}

impl Shared {
    /// How the streams of this server open and keep themselves alive.
    pub(crate) fn stream_settings(&self) -> StreamSettings {
        StreamSettings::new(&self.config)
    }
}
