//! Compile-time behaviour users see: every supported function shape compiles and runs, and
//! every mistake is one error on the user's token (`tests/ui/fail/*.stderr`).
//!
//! The cases compile against `tests/fixtures/shop/flowtel.yaml`, named by `FLOWTEL_CONVENTIONS`.

#[test]
fn ui() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/shop/flowtel.yaml"
    );
    // SAFETY: this binary has a single test, so no other thread reads the environment while it
    // is set; the compiler processes trybuild starts inherit it.
    unsafe { std::env::set_var("FLOWTEL_CONVENTIONS", fixture) };
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
