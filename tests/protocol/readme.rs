//! The README's generated tables must be exactly what the code serves and accepts.

/// The README text between `<!-- {name}:start -->` and `<!-- {name}:end -->`.
fn readme_section(name: &str) -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start_marker = format!("<!-- {name}:start -->\n");
    let start = readme.find(&start_marker).unwrap_or_else(|| panic!("{name} start marker")) + start_marker.len();
    let end = readme.find(&format!("<!-- {name}:end -->")).unwrap_or_else(|| panic!("{name} end marker"));
    readme[start..end].to_string()
}

#[test]
fn readme_compatibility_table_matches_the_registry() {
    assert_eq!(readme_section("api-table"), brook::api::compatibility_table(), "regenerate with `brook api-versions`");
}

#[test]
fn readme_configuration_table_matches_the_settings() {
    assert_eq!(
        readme_section("config-table"),
        brook::config::settings_table(),
        "regenerate with `cargo run -q -- settings` and paste between the config-table markers"
    );
}
