//! GGUF headers from arbitrary bytes. Any input may be rejected; none may
//! crash, hang or exhaust memory (a length the input claims is never
//! allocated before it is checked), every error is one line, and a header
//! that is accepted lies within its file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nncost_llm::gguf::{parse_bytes, GgufFile};

fn check(file: &GgufFile, file_len: u64) {
    assert!(file.alignment.is_power_of_two());
    assert_eq!(file.data_start % file.alignment, 0);
    for t in &file.tensors {
        assert_eq!(t.offset % file.alignment, 0);
        let end = u128::from(file.data_start) + u128::from(t.offset) + u128::from(t.bytes());
        assert!(end <= u128::from(file_len), "{}", t.name);
        assert!(t.dims.len() <= 4);
    }
    let _ = (
        file.total_params(),
        file.total_bytes(),
        file.params_by_type(),
    );
    let _ = (file.architecture(), file.get_u64("general.alignment"));
}

fuzz_target!(|data: &[u8]| {
    // The input as a whole file.
    match parse_bytes(data, data.len() as u64) {
        Ok(file) => check(&file, data.len() as u64),
        Err(e) => assert!(!e.to_string().contains('\n'), "{e}"),
    }
    // The input as the start of a file whose length its last 8 bytes give
    // (so that huge files, and what a header may claim in them, are tried).
    if let Some((head, tail)) = data.split_last_chunk::<8>() {
        let file_len = u64::from_le_bytes(*tail);
        match parse_bytes(head, file_len) {
            Ok(file) => check(&file, file_len),
            Err(e) => assert!(!e.to_string().contains('\n'), "{e}"),
        }
    }
});
