//! Size mismatches are compile errors whose first lines name the layer and the sizes.
//!
//! The `.stderr` snapshots pin the exact messages for the toolchain in `rust-toolchain.toml`.
//! After changing a message on purpose, regenerate them with
//! `TRYBUILD=overwrite cargo test --test compile_fail` and review the diff.

#[test]
fn size_mismatches_do_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
