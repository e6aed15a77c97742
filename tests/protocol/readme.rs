//! The README's compatibility table must be exactly what the handler registry serves.

#[test]
fn readme_compatibility_table_matches_the_registry() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start =
        readme.find("<!-- api-table:start -->\n").expect("table start marker") + "<!-- api-table:start -->\n".len();
    let end = readme.find("<!-- api-table:end -->").expect("table end marker");
    assert_eq!(&readme[start..end], brook::api::compatibility_table(), "regenerate with `brook api-versions`");
}
