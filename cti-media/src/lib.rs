#![doc = include_str!("../README.md")]

/// A text id newtype: `new`, `as_str` and `Display`.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(cti_protocol::types::Str);

        impl $name {
            /// An id.
            pub fn new(id: impl Into<cti_protocol::types::Str>) -> Self {
                Self(id.into())
            }

            /// The id as text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

pub mod artifacts;
pub mod clock;
#[cfg(feature = "email")]
pub mod email;
pub mod engine;
pub mod export;
pub mod interaction;
pub mod node;
pub mod recording;
pub mod render;
pub mod scenario;
mod shard;
pub mod store;
