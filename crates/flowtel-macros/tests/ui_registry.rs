//! A registry that is missing or invalid is one clear error at the first macro of the crate,
//! not one per function (`tests/ui/registry_*/*.stderr`).

#[test]
fn missing_and_broken_registries() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let t = trybuild::TestCases::new();
    // SAFETY: this binary has a single test, so no other thread reads the environment while it
    // is set; each `TestCases` runs its compiler processes when dropped, under the value set.
    unsafe {
        std::env::set_var(
            "FLOWTEL_CONVENTIONS",
            format!("{dir}/tests/fixtures/missing.yaml"),
        )
    };
    t.compile_fail("tests/ui/registry_missing/*.rs");
    drop(t);
    let t = trybuild::TestCases::new();
    unsafe {
        std::env::set_var(
            "FLOWTEL_CONVENTIONS",
            format!("{dir}/tests/fixtures/broken/flowtel.yaml"),
        )
    };
    t.compile_fail("tests/ui/registry_broken/*.rs");
}
