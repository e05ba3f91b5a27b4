//! The semantic-conventions reader and resolver on arbitrary text: the input is split at NUL
//! bytes into files, so references across files are exercised too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let files: Vec<(std::path::PathBuf, &str)> = text
        .split('\0')
        .enumerate()
        .map(|(i, t)| (std::path::PathBuf::from(format!("model/f{i}.yaml")), t))
        .collect();
    let model = flowtel_conventions::semconv::read_model(&files);
    let _ = model.findings();
    let sel = model.select(None);
    let ids: Vec<usize> = (0..files.len()).collect();
    let _ = model.layers(&sel, &ids);
});
