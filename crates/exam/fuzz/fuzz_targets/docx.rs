//! Any bytes as a .docx upload: the importer must return, never panic or blow up memory.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = exam::docx::import(data);
});
