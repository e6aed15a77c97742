//! Unit tests of the configuration: where settings come from, and what they resolve to.

mod resolved;
mod sources;
