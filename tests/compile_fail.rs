//! Misuse is a compile error whose first line names the culprit: the layer and the sizes for a
//! size mismatch (in `then`, `seq!` and the `Net!` type form), the loss and both output counts,
//! the loss and both target types, the optimizer and both scalar types.
//!
//! The `.stderr` snapshots pin the exact messages for the toolchain in `rust-toolchain.toml`.
//! After changing a message on purpose, regenerate them with
//! `TRYBUILD=overwrite cargo test --test compile_fail` and review the diff.

#[test]
fn misuse_does_not_compile_and_names_the_culprit() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
