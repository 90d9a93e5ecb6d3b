//! Tests of cti-server-kit: layers, bridge, stores, host pages and the
//! preflight, in-process and over loopback sockets.

mod ameyo;
mod bridge;
mod browser;
mod ccai;
mod hostile;
mod layers;
#[cfg(feature = "media")]
mod media;
#[cfg(feature = "openapi")]
mod openapi;
#[cfg(feature = "preflight")]
mod preflight;
mod serve;
mod services;
mod store;
