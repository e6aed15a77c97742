//! How the commands print: aligned tables for people, JSON (one array of objects) for scripts.

use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// Rows with the same columns, printed as `format` asks.
pub fn render(format: Format, columns: &[&str], rows: &[Vec<Value>]) -> String {
    match format {
        Format::Json => {
            let objects: Vec<Value> = rows
                .iter()
                .map(|r| {
                    let mut m = Map::new();
                    for (c, v) in columns.iter().zip(r) {
                        m.insert((*c).to_string(), v.clone());
                    }
                    Value::Object(m)
                })
                .collect();
            let mut s = serde_json::to_string_pretty(&Value::Array(objects)).unwrap_or_default();
            s.push('\n');
            s
        }
        Format::Table => {
            let cell = |v: &Value| match v {
                Value::String(s) => s.clone(),
                Value::Null => "-".to_string(),
                other => other.to_string(),
            };
            let cells: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(cell).collect()).collect();
            let widths: Vec<usize> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| cells.iter().map(|r| r.get(i).map_or(0, |s| s.len())).max().unwrap_or(0).max(c.len()))
                .collect();
            let line = |items: Vec<&str>| {
                let padded: Vec<String> = items.iter().zip(&widths).map(|(s, w)| format!("{s:<w$}")).collect();
                format!("{}\n", padded.join("  ").trim_end())
            };
            let mut out = line(columns.to_vec());
            for r in &cells {
                out.push_str(&line(r.iter().map(String::as_str).collect()));
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_align_and_json_names_the_columns() {
        let rows = vec![vec![json!("a"), json!(1)], vec![json!("long-name"), Value::Null]];
        assert_eq!(render(Format::Table, &["Id", "N"], &rows), "Id         N\na          1\nlong-name  -\n");
        let parsed: Value = serde_json::from_str(&render(Format::Json, &["Id", "N"], &rows)).unwrap();
        assert_eq!(parsed, json!([{"Id": "a", "N": 1}, {"Id": "long-name", "N": null}]));
    }
}
