#![doc = include_str!("../README.md")]

pub mod clock;
pub mod engine;
pub mod interaction;
