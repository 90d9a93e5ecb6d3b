#![doc = include_str!("../README.md")]

pub mod ameyo;
pub mod error;
mod exec;
pub mod generic;
pub mod policy;
pub mod sso;
pub mod voicelog;

pub use error::{Error, ErrorKind, Result};
