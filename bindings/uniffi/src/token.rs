//! Access tokens, signed with the core's (the official crate's) builder: for tests, tools and
//! apps that hold the API secret. Production apps get their token from a server.

use std::collections::HashMap;
use std::time::Duration;

use livekit_core::api::{AccessToken, VideoGrants};

use crate::error::Result;

/// What the token allows. Unset `can_*` permissions take the server's default (allowed).
#[derive(uniffi::Record)]
pub struct TokenGrants {
    pub room: String,
    #[uniffi(default = true)]
    pub room_join: bool,
    #[uniffi(default = false)]
    pub room_admin: bool,
    #[uniffi(default = false)]
    pub room_create: bool,
    #[uniffi(default = None)]
    pub can_publish: Option<bool>,
    #[uniffi(default = None)]
    pub can_subscribe: Option<bool>,
    #[uniffi(default = None)]
    pub can_publish_data: Option<bool>,
    #[uniffi(default = None)]
    pub can_update_own_metadata: Option<bool>,
    #[uniffi(default = false)]
    pub hidden: bool,
}

#[derive(uniffi::Record)]
pub struct TokenOptions {
    pub identity: String,
    pub grants: TokenGrants,
    #[uniffi(default = None)]
    pub name: Option<String>,
    #[uniffi(default = None)]
    pub metadata: Option<String>,
    /// The participant's attributes when it joins.
    #[uniffi(default)]
    pub attributes: HashMap<String, String>,
    #[uniffi(default = 21600)]
    pub ttl_seconds: u64,
}

/// A signed JWT for `options.identity`.
#[uniffi::export]
pub fn create_access_token(api_key: String, api_secret: String, options: TokenOptions) -> Result<String> {
    let g = options.grants;
    let grants = VideoGrants {
        room: g.room,
        room_join: g.room_join,
        room_admin: g.room_admin,
        room_create: g.room_create,
        can_publish: g.can_publish,
        can_subscribe: g.can_subscribe,
        can_publish_data: g.can_publish_data,
        can_update_own_metadata: g.can_update_own_metadata,
        hidden: g.hidden,
        ..Default::default()
    };
    let mut token = AccessToken::with_api_key(&api_key, &api_secret)
        .with_identity(&options.identity)
        .with_ttl(Duration::from_secs(options.ttl_seconds))
        .with_grants(grants)
        .with_attributes(options.attributes);
    if let Some(name) = &options.name {
        token = token.with_name(name);
    }
    if let Some(metadata) = &options.metadata {
        token = token.with_metadata(metadata);
    }
    Ok(token.to_jwt().map_err(livekit_core::Error::from)?)
}
