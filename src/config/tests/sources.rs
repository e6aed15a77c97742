//! Where settings come from: every setting as a flag, a variable and both TOML keys, and
//! the precedence flag > variable > file > default. Variables go through a lookup closure,
//! never the process environment, so these tests cannot race each other.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches};

use crate::config::settings::{FileConfig, ServeFlags};
use crate::config::{BrokerConfig, Cli, ConfigError, ServeArgs, Setting, Settings, SETTINGS};

/// Flags as the binary parses them, without the process environment.
fn flags(argv: &[String]) -> ServeArgs {
    let matches = ServeFlags::augment_args(clap::Command::new("brook")).try_get_matches_from(argv).unwrap();
    ServeFlags::from_arg_matches(&matches).unwrap().into_args()
}

fn lookup<'a>(vars: &'a [(String, String)]) -> impl Fn(&str) -> Option<OsString> + 'a {
    move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.into())
}

/// Two values a setting accepts, the first not its default, as text and as a TOML value.
fn samples(setting: &Setting, default: &str) -> [(String, String); 2] {
    let [a, b] = match setting.ty {
        "bool" => [(default != "true").to_string(), default.to_string()],
        "i32" | "i64" | "u32" | "u64" | "usize" => ["4001".into(), "4002".into()],
        "f64" => ["4001.5".into(), "4002.5".into()],
        // Strings and paths: this one is also a valid listen and advertised address and a
        // valid per-IP override.
        "String" | "PathBuf" => ["127.0.0.1:4001".into(), "127.0.0.1:4002".into()],
        other => panic!("no sample values for settings of type {other}: add them here"),
    };
    let quoted = matches!(setting.ty, "String" | "PathBuf");
    [a, b].map(|v| {
        let toml = if quoted { format!("{v:?}") } else { v.clone() };
        (v, toml)
    })
}

/// The value `setting` ends up with, given (value, toml) text for each source.
fn merged(index: usize, flag: Option<&str>, var: Option<&str>, file: Option<&str>) -> String {
    let setting = &SETTINGS[index];
    let mut argv = vec!["brook".to_string()];
    if let Some(v) = flag {
        argv.extend([setting.flag(), v.to_string()]);
    }
    let vars: Vec<_> = var.map(|v| (setting.env(), v.to_string())).into_iter().collect();
    let args = flags(&argv).with_env(lookup(&vars)).unwrap();
    let file = FileConfig::parse(&file.map(|t| format!("{} = {t}", setting.name)).unwrap_or_default()).unwrap();
    Settings::merge(&args, &file).shown().swap_remove(index)
}

#[test]
fn every_setting_is_a_flag_a_variable_and_both_toml_keys() {
    let defaults = Settings::defaults().shown();
    for (i, setting) in SETTINGS.iter().enumerate() {
        let [(value, toml), _] = samples(setting, &defaults[i]);
        assert_ne!(value, defaults[i], "{}: the sample must differ from the default", setting.name);
        assert_eq!(merged(i, Some(&value), None, None), value, "{}", setting.flag());
        assert_eq!(merged(i, None, Some(&value), None), value, "{}", setting.env());
        assert_eq!(merged(i, None, None, Some(&toml)), value, "{} in TOML", setting.name);
        if let Some(kafka) = setting.kafka {
            let file = FileConfig::parse(&format!("\"{kafka}\" = {toml}")).unwrap();
            assert_eq!(Settings::merge(&ServeArgs::default(), &file).shown()[i], value, "{kafka} in TOML");
        }
    }
}

#[test]
fn precedence_is_flag_then_variable_then_file_then_default() {
    let defaults = Settings::defaults().shown();
    for (i, setting) in SETTINGS.iter().enumerate() {
        let [(a, a_toml), (b, b_toml)] = samples(setting, &defaults[i]);
        // Each pair both ways round, so that neither value wins by being the default.
        for ((x, x_toml), (y, y_toml)) in [((&a, &a_toml), (&b, &b_toml)), ((&b, &b_toml), (&a, &a_toml))] {
            assert_eq!(merged(i, Some(x), Some(y), Some(y_toml)), *x, "{}: flag over the rest", setting.name);
            assert_eq!(merged(i, None, Some(x), Some(y_toml)), *x, "{}: variable over file", setting.name);
            assert_eq!(merged(i, None, None, Some(x_toml)), *x, "{}: file over default", setting.name);
        }
        assert_eq!(merged(i, None, None, None), defaults[i], "{}: default", setting.name);
    }
}

#[test]
fn precedence_holds_through_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("brook.toml");
    let toml = "\"num.partitions\" = 8\nlog_retention_hours = 9\n\"log.segment.bytes\" = 10000\n";
    std::fs::write(&path, toml).unwrap();
    let argv = ["brook", "--num-partitions", "5"].map(String::from);
    let vars = [
        ("BROOK_CONFIG".to_string(), path.display().to_string()),
        ("BROOK_NUM_PARTITIONS".to_string(), "6".to_string()),
        ("BROOK_LOG_RETENTION_HOURS".to_string(), "7".to_string()),
    ];
    let args = flags(&argv).with_env(lookup(&vars)).unwrap();
    assert_eq!(args.config.as_deref(), Some(path.as_path()), "BROOK_CONFIG names the file");
    let c = BrokerConfig::resolve(&args).unwrap();
    assert_eq!(c.num_partitions, 5);
    assert_eq!(c.log_retention_ms, 7 * 3600 * 1000);
    assert_eq!(c.log_segment_bytes, 10000);
    assert_eq!(c.fetch_max_bytes, BrokerConfig::defaults().fetch_max_bytes);
}

#[test]
fn a_bad_variable_names_itself() {
    let vars = [("BROOK_NODE_ID".to_string(), "abc".to_string())];
    match ServeArgs::default().with_env(lookup(&vars)) {
        Err(e @ ConfigError::Env { .. }) => assert!(e.to_string().contains("BROOK_NODE_ID"), "{e}"),
        other => panic!("{other:?}"),
    }
    // A flag given, the variable is not read at all (as with clap's own `env`).
    let args = flags(&["brook", "--node-id", "3"].map(String::from)).with_env(lookup(&vars)).unwrap();
    assert_eq!(args.node_id, Some(3));
    let vars = [("BROOK_DATA_DIR".to_string(), String::new())];
    assert_eq!(ServeArgs::default().with_env(lookup(&vars)).unwrap().data_dir, Some(PathBuf::new()));
}

#[test]
fn the_command_line_offers_every_setting() {
    let cmd = Cli::command();
    cmd.clone().debug_assert();
    for setting in SETTINGS {
        let long = setting.flag();
        let arg = cmd.get_arguments().find(|a| a.get_long() == Some(&long[2..]));
        let help = arg.and_then(|a| a.get_help()).map(|h| h.to_string()).unwrap_or_default();
        assert!(help.contains(&setting.env()), "{long}: {help:?}");
    }
}
