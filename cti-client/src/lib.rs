#![doc = include_str!("../README.md")]

pub mod ameyo;
pub mod error;
mod exec;
pub mod generic;
pub mod policy;
pub mod sso;
pub mod voicelog;

pub use error::{Error, ErrorKind, Result};

#[cfg(test)]
mod tests {
    use static_assertions::assert_impl_all;

    assert_impl_all!(crate::ameyo::AmeyoClient: Send, Sync, Clone, std::fmt::Debug);
    assert_impl_all!(crate::sso::SsoClient: Send, Sync, Clone, std::fmt::Debug);
    assert_impl_all!(crate::generic::GenericCrmClient: Send, Sync, Clone, std::fmt::Debug);
    assert_impl_all!(crate::Error: Send, Sync, std::error::Error);
}
