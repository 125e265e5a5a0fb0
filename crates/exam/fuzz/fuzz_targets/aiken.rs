//! Any UTF-8 text as a aiken upload: the importer must return a report, never panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = exam::aiken::import(text);
    }
});
