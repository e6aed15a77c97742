//! The settings as people read them: the README's Markdown table (`brook settings`) and each
//! flag's `--help` text, both made from `SETTINGS`.

use super::define::Setting;
use super::settings::{Settings, SETTINGS};

/// The README "Configuration" table, one row per setting, as `brook settings` prints it.
pub fn settings_table() -> String {
    let mut out = String::from("| flag / TOML key | env | default | meaning |\n|---|---|---|---|\n");
    for (setting, value) in SETTINGS.iter().zip(Settings::defaults().shown()) {
        let kafka = setting.kafka.map(|k| format!(" (`{k}`)")).unwrap_or_default();
        out += &format!(
            "| `{}` / `{}`{kafka} | `{}` | {} | {} |\n",
            setting.flag(),
            setting.name,
            setting.env(),
            default_markdown(setting, &value),
            setting.doc()
        );
    }
    out
}

fn default_markdown(setting: &Setting, value: &str) -> String {
    match setting.default_doc {
        Some(doc) => doc.to_string(),
        None => format!("`{value}`"),
    }
}

/// `--help` for one setting: its doc, default, variable and Kafka name.
pub(super) fn help(name: &str) -> String {
    let defaults = Settings::defaults().shown();
    let Some((i, setting)) = SETTINGS.iter().enumerate().find(|(_, s)| s.name == name) else {
        return String::new();
    };
    let default = setting.default_doc.map(str::to_string).unwrap_or_else(|| defaults[i].clone());
    let kafka = setting.kafka.map(|k| format!(" [kafka: {k}]")).unwrap_or_default();
    format!("{} [default: {default}] [env: {}]{kafka}", without_links(&setting.doc()), setting.env())
}

pub(super) fn config_help() -> String {
    "TOML file with settings (keys as below, snake_case, or Kafka's dotted names) [env: BROOK_CONFIG]".into()
}

/// Markdown links to README sections (`[Durability](#durability)`) read as plain text in a
/// terminal: `README "Durability"`.
fn without_links(markdown: &str) -> String {
    let mut out = String::new();
    let mut rest = markdown;
    while let Some(mid) = rest.find("](#") {
        let (Some(open), Some(close)) = (rest[..mid].rfind('['), rest[mid..].find(')')) else { break };
        out += &rest[..open];
        out += &format!("README \"{}\"", &rest[open + 1..mid]);
        rest = &rest[mid + close + 1..];
    }
    out + rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_become_readme_section_names() {
        assert_eq!(without_links("see [Durability](#durability) now"), "see README \"Durability\" now");
        assert_eq!(without_links("a [x] b (y)"), "a [x] b (y)");
        assert_eq!(without_links("[A](#a), [B](#b)"), "README \"A\", README \"B\"");
        assert_eq!(without_links("[x] then [A](#a)"), "[x] then README \"A\"");
    }
}
