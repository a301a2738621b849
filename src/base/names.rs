//! Names of types as people read them, for errors, summaries and `Debug` output.

use crate::alloc_prelude::*;

/// A type's name without module paths: `constnet::layers::linear::Linear<784, 128>` becomes
/// `Linear<784, 128>`; the default scalar `f32` is left out.
pub(crate) fn short_type_name(full: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
        } else if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            word.clear(); // a module path segment
        } else {
            out.push_str(&word);
            word.clear();
            out.push(c);
        }
    }
    out.push_str(&word);
    out.replace(", f32>", ">")
}

#[cfg(test)]
mod tests {
    use super::short_type_name;

    #[test]
    fn names_lose_their_paths_and_the_default_scalar() {
        assert_eq!(
            short_type_name("constnet::layers::linear::Linear<784, 128, f32>"),
            "Linear<784, 128>"
        );
        assert_eq!(
            short_type_name("constnet::layers::activation::Elementwise<my_crate::Squareplus>"),
            "Elementwise<Squareplus>"
        );
        assert_eq!(
            short_type_name("constnet::layers::linear::Linear<4, 2, f64>"),
            "Linear<4, 2, f64>"
        );
    }
}
