//! Subscriptions by regular expression (`SubscribedTopicRegex`): Kafka uses Google's RE2/J,
//! whose syntax the `regex` crate shares (both are RE2), matched against whole topic names.

use std::collections::BTreeSet;

/// The compiled program may use this much memory at most (a hostile pattern is refused as
/// invalid rather than allowed to grow the broker).
const SIZE_LIMIT: usize = 1 << 20;

/// The pattern compiled for full matches, or why it is not valid (Kafka's
/// INVALID_REGULAR_EXPRESSION message).
pub fn compile(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(SIZE_LIMIT)
        .build()
        .map_err(|e| format!("SubscribedTopicRegex `{pattern}` is not a valid regular expression: {e}."))
}

/// The names `re` matches.
pub fn resolve(re: &regex::Regex, names: &[String]) -> BTreeSet<String> {
    names.iter().filter(|n| re.is_match(n)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_whole_names_as_re2j() {
        let re = compile("orders.*").expect("valid");
        let names: Vec<String> = ["orders", "orders-eu", "xorders", "payments"].iter().map(|s| s.to_string()).collect();
        assert_eq!(resolve(&re, &names), ["orders".to_string(), "orders-eu".to_string()].into());
        assert!(compile("a|b").expect("alternation").is_match("b"), "the group spans the alternation");
        assert!(compile("(unclosed").is_err());
        assert!(compile("x{100000}{100000}").is_err(), "too large to compile");
    }
}
