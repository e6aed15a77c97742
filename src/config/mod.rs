//! Broker configuration: every setting is declared once, in the table in `settings.rs`, and
//! comes from a flag > a `BROOK_*` variable > the `--config` TOML file > its default.

mod cli;
mod define;
pub mod describe;
mod docs;
mod durability;
pub mod dynamic;
pub mod listeners;
pub mod live;
mod resolve;
mod settings;
mod value;

#[cfg(test)]
mod tests;

pub use cli::{Cli, Command};
pub use define::Setting;
pub use docs::settings_table;
pub use durability::Durability;
pub use resolve::{parse_host_port, BrokerConfig, ConfigError, LogFormat};
pub use settings::{ServeArgs, Settings, SETTINGS};
