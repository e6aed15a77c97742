//! The `declare_settings!` macro: from the one table in `settings.rs` it writes the flag,
//! TOML and merged-value structs, the environment lookup and the `SETTINGS` metadata.

/// One setting as the docs describe it (a row of `SETTINGS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The snake_case name: the TOML key, the flag (kebab-case), the variable (upper-case).
    pub name: &'static str,
    /// Kafka's dotted name, also accepted as a TOML key.
    pub kafka: Option<&'static str>,
    /// The Rust type, as the table spells it.
    pub ty: &'static str,
    /// The doc comment's lines (Markdown), joined by `doc()`.
    pub doc_lines: &'static str,
    /// What the docs say the default is, when the value alone would mislead (a default
    /// derived from another setting, an empty string meaning none).
    pub default_doc: Option<&'static str>,
}

impl Setting {
    pub fn flag(&self) -> String {
        format!("--{}", self.name.replace('_', "-"))
    }

    pub fn env(&self) -> String {
        env_var(self.name)
    }

    /// The doc comment as one line.
    pub fn doc(&self) -> String {
        self.doc_lines.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// The variable a setting is read from.
pub(super) fn env_var(name: &str) -> String {
    format!("BROOK_{}", name.to_ascii_uppercase())
}

/// Each row is `/// doc`, then `name: Type = default`, optionally `, kafka = "dotted.name"`
/// and `, default_doc = "markdown"`, then `;`. A default may use the settings above it by
/// name (they are resolved in table order).
macro_rules! declare_settings {
    (@opt) => { None };
    (@opt $value:literal) => { Some($value) };
    ($(
        $(#[doc = $doc:literal])+
        $field:ident: $ty:ty = $default:expr
        $(, kafka = $kafka:literal)?
        $(, default_doc = $default_doc:literal)?
        ;
    )+) => {
        /// The settings given on the command line or in `BROOK_*` variables; `None` where
        /// neither gave one (the TOML file or the default then decides).
        #[derive(Debug, Default, Clone)]
        pub struct ServeArgs {
            /// TOML file with settings.
            pub config: Option<std::path::PathBuf>,
            $( $(#[doc = $doc])+ pub $field: Option<$ty>, )+
        }

        /// The flags alone, as clap parses them; `ServeArgs` adds the environment (cli.rs).
        #[derive(Debug, clap::Args)]
        pub(super) struct ServeFlags {
            #[arg(long, help = $crate::config::docs::config_help())]
            config: Option<std::path::PathBuf>,
            $(
                #[arg(long, help = $crate::config::docs::help(stringify!($field)))]
                $field: Option<$ty>,
            )+
        }

        /// The `--config` TOML file: snake_case keys, or Kafka's dotted names where given.
        #[derive(Debug, Default, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(super) struct FileConfig {
            $( $(#[serde(alias = $kafka)])? $field: Option<$ty>, )+
        }

        /// Every setting's value after flag > environment > file > default, before the
        /// checks and conversions that make a `BrokerConfig`.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Settings {
            $( $(#[doc = $doc])+ pub $field: $ty, )+
        }

        /// Every setting, in table order: what the README table and `--help` are made of.
        pub const SETTINGS: &[$crate::config::Setting] = &[$(
            $crate::config::Setting {
                name: stringify!($field),
                kafka: $crate::config::define::declare_settings!(@opt $($kafka)?),
                ty: stringify!($ty),
                doc_lines: concat!($($doc, "\n"),+),
                default_doc: $crate::config::define::declare_settings!(@opt $($default_doc)?),
            },
        )+];

        impl ServeArgs {
            /// Fills each setting no flag gave from its `BROOK_*` variable, read through
            /// `lookup` (`std::env::var_os` in the binary).
            pub fn with_env(
                mut self,
                lookup: impl Fn(&str) -> Option<std::ffi::OsString>,
            ) -> Result<Self, $crate::config::ConfigError> {
                self.config = Self::env_value(self.config.take(), "BROOK_CONFIG", &lookup)?;
                $( self.$field = Self::env_value(self.$field.take(), &$crate::config::define::env_var(stringify!($field)), &lookup)?; )+
                Ok(self)
            }

            fn env_value<T: $crate::config::value::SettingValue>(
                flag: Option<T>,
                var: &str,
                lookup: &impl Fn(&str) -> Option<std::ffi::OsString>,
            ) -> Result<Option<T>, $crate::config::ConfigError> {
                if flag.is_some() {
                    return Ok(flag);
                }
                let Some(raw) = lookup(var) else { return Ok(None) };
                T::parse_os(&raw).map(Some).map_err(|message| $crate::config::ConfigError::Env {
                    var: var.to_string(),
                    value: raw.to_string_lossy().into_owned(),
                    message,
                })
            }
        }

        impl ServeFlags {
            pub(super) fn into_args(self) -> ServeArgs {
                ServeArgs { config: self.config, $( $field: self.$field, )+ }
            }

            /// Replaces the settings these flags give (clap's update_from_arg_matches).
            pub(super) fn overlay(self, args: &mut ServeArgs) {
                args.config = self.config.or(args.config.take());
                $( args.$field = self.$field.or(args.$field.take()); )+
            }
        }

        impl Settings {
            pub(super) fn merge(args: &ServeArgs, file: &FileConfig) -> Self {
                // One `let` per setting, in table order, so a default can name the
                // settings above it.
                $(
                    let $field: $ty = match args.$field.clone().or_else(|| file.$field.clone()) {
                        Some(value) => value,
                        None => $default,
                    };
                )+
                Self { $( $field, )+ }
            }

            /// The values with no flag, variable or file.
            pub fn defaults() -> Self {
                Self::merge(&ServeArgs::default(), &FileConfig::default())
            }

            /// Each value as the docs print it, in `SETTINGS` order.
            pub fn shown(&self) -> Vec<String> {
                vec![$( $crate::config::value::SettingValue::show(&self.$field), )+]
            }
        }
    };
}

pub(crate) use declare_settings;
