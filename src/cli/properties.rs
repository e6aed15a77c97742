//! Kafka client properties files, as `--command-config` reads them (Java's `.properties`
//! syntax: `key=value`, `key: value` or `key value`, `#`/`!` comments, `\` continuing a line,
//! backslash escapes), and the `username`/`password` options of a `sasl.jaas.config` value.

use std::collections::BTreeMap;

/// The properties of `text`, the last value of a key winning (as `Properties.load`).
pub fn parse(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut logical = String::new();
    for raw in text.lines() {
        let line = raw.trim_start();
        if logical.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!')) {
            continue;
        }
        // An odd number of trailing backslashes continues the line (an even number is
        // escaped backslashes).
        let trailing = line.chars().rev().take_while(|c| *c == '\\').count();
        if trailing % 2 == 1 {
            logical.push_str(&line[..line.len() - 1]);
            continue;
        }
        logical.push_str(line);
        let (key, value) = split_entry(&logical);
        out.insert(key, value);
        logical.clear();
    }
    if !logical.is_empty() {
        let (key, value) = split_entry(&logical);
        out.insert(key, value);
    }
    out
}

/// One logical line: the key ends at the first unescaped `=`, `:` or whitespace; the value
/// starts after that separator and the whitespace around it.
fn split_entry(line: &str) -> (String, String) {
    let mut escaped = false;
    let mut end = line.len();
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '=' || c == ':' || c.is_whitespace() {
            end = i;
            break;
        }
    }
    let key = &line[..end];
    let mut rest = line[end..].trim_start();
    if let Some(r) = rest.strip_prefix(['=', ':']) {
        rest = r.trim_start();
    }
    (unescape(key), unescape(rest))
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => out.push_str(&hex),
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// The `username` and `password` options of a JAAS login module configuration
/// (`org.apache.kafka.common.security.scram.ScramLoginModule required username="alice"
/// password="secret";`). Values are double-quoted with `\` escaping, or bare words.
pub fn jaas_credentials(config: &str) -> Result<(String, String), String> {
    let options = jaas_options(config)?;
    let get = |k: &str| options.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    match (get("username"), get("password")) {
        (Some(u), Some(p)) => Ok((u, p)),
        _ => Err("sasl.jaas.config needs username=\"...\" and password=\"...\"".into()),
    }
}

/// `key=value` options after the login module's class and control flag.
fn jaas_options(config: &str) -> Result<Vec<(String, String)>, String> {
    let mut words = config.trim().trim_end_matches(';').trim();
    // The login module class and the control flag (`required`) come first.
    for _ in 0..2 {
        words = words.trim_start();
        let end = words.find(char::is_whitespace).unwrap_or(words.len());
        if words[..end].contains('=') {
            return Err("sasl.jaas.config must start with a login module and a control flag".into());
        }
        words = &words[end..];
    }
    let mut options = Vec::new();
    let mut rest = words.trim_start();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=').ok_or("sasl.jaas.config: an option is not key=value")?;
        let key = key.trim().to_string();
        let after = after.trim_start();
        let (value, remaining) = match after.strip_prefix('"') {
            Some(quoted) => {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next().map(|(_, c)| c)),
                        '"' => {
                            end = Some(i + 1);
                            break;
                        }
                        c => value.push(c),
                    }
                }
                let end = end.ok_or_else(|| format!("sasl.jaas.config: the value of {key} has no closing quote"))?;
                (value, &quoted[end..])
            }
            None => {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                (after[..end].to_string(), &after[end..])
            }
        };
        options.push((key, value));
        rest = remaining.trim_start();
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_read_as_java_reads_them() {
        let text = "# a comment\n! another\n\nsecurity.protocol=SASL_SSL\nsasl.mechanism : SCRAM-SHA-512\n\
                    ssl.truststore.location /tmp/ca\\ file.pem\n\
                    sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n    \
                    username=\"alice\" \\\n    password=\"p\\\\\\\"w\";\nempty=\nkey\\=with=equals\n";
        let p = parse(text);
        assert_eq!(p["security.protocol"], "SASL_SSL");
        assert_eq!(p["sasl.mechanism"], "SCRAM-SHA-512");
        assert_eq!(p["ssl.truststore.location"], "/tmp/ca file.pem");
        assert_eq!(p["empty"], "");
        assert_eq!(p["key=with"], "equals");
        let jaas = &p["sasl.jaas.config"];
        assert!(
            jaas.starts_with("org.apache.kafka.common.security.scram.ScramLoginModule required username"),
            "{jaas}"
        );
        assert_eq!(jaas_credentials(jaas).unwrap(), ("alice".to_string(), "p\"w".to_string()));
    }

    #[test]
    fn jaas_options_are_quoted_or_bare_and_mistakes_are_refused() {
        let ok = "org.apache.kafka.common.security.plain.PlainLoginModule required username=bob password=\"a b;c\";";
        assert_eq!(jaas_credentials(ok).unwrap(), ("bob".into(), "a b;c".into()));
        for bad in [
            "PlainLoginModule required username=\"bob\";",
            "username=\"bob\" password=\"x\";",
            "PlainLoginModule required username=\"bob\" password=\"x;",
            "PlainLoginModule required username",
            "",
        ] {
            assert!(jaas_credentials(bad).is_err(), "{bad}");
        }
    }
}
