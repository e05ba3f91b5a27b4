//! A crate whose `flowtel.yaml` imports its platform layer by absolute path builds and records
//! the imported metrics: `conventions!()` resolves imports as the CLI does
//! (`tests/ui/imports/*.rs`, compiled against a registry written here).

#[test]
fn absolute_imports_reach_the_run_time_registry() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("absolute-import");
    std::fs::create_dir_all(&dir).expect("temp folder");
    let service = dir.join("flowtel.yaml");
    let text = format!(
        "schema: flowtel/v1\nname: signup-svc\nversion: 0.1.0\n\
         imports: [{fixtures}/platform/platform.yaml]\n\
         flows:\n  signup:\n    owner: team-growth\n    steps:\n      form.validate: {{service: signup}}\n"
    );
    // Written only when it changes, so cargo's tracking does not rebuild the case every run.
    if std::fs::read_to_string(&service).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(&service, text).expect("write flowtel.yaml");
    }
    // SAFETY: this binary has a single test, so no other thread reads the environment while it
    // is set; the compiler processes trybuild starts inherit it.
    unsafe { std::env::set_var("FLOWTEL_CONVENTIONS", &service) };
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/imports/*.rs");
}
