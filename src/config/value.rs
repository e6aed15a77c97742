//! The value types a setting may have: how a `BROOK_*` variable's text becomes one, and
//! how the docs show one.

use std::ffi::OsStr;
use std::path::PathBuf;

/// A type a setting can hold. Flags and TOML parse through clap and serde; this covers the
/// environment (read outside clap so that tests can pass their own lookup) and the docs.
pub trait SettingValue: Sized + Clone {
    /// Parses a variable's raw value as the flag would.
    fn parse_os(raw: &OsStr) -> Result<Self, String>;
    /// The value as `--help` and the README print it.
    fn show(&self) -> String;
}

macro_rules! from_str_values {
    ($($ty:ty),+) => {$(
        impl SettingValue for $ty {
            fn parse_os(raw: &OsStr) -> Result<Self, String> {
                let text = raw.to_str().ok_or("not valid UTF-8")?;
                text.parse().map_err(|e| format!("{e}"))
            }
            fn show(&self) -> String {
                self.to_string()
            }
        }
    )+};
}

from_str_values!(String, bool, i32, i64, u32, u64, usize, f64);

impl SettingValue for PathBuf {
    /// Any bytes make a path, as they did for the flag.
    fn parse_os(raw: &OsStr) -> Result<Self, String> {
        Ok(PathBuf::from(raw))
    }
    fn show(&self) -> String {
        self.display().to_string()
    }
}
