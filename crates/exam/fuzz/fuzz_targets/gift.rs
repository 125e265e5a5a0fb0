//! Any UTF-8 text as a gift upload: the importer must return a report, never panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = exam::gift::import(text);
    }
});
