//! safetensors headers and sharded indexes from arbitrary bytes. Any input
//! may be rejected; none may crash, hang or exhaust memory, every error is
//! one line, and a header that is accepted lies within its file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nncost_llm::safetensors::{parse, parse_index, Header};

fn check(header: &Header, file_len: u64) {
    let mut end = 0u64;
    for t in &header.tensors {
        // Contiguous, in the order of the data, sized by shape and dtype.
        assert_eq!(t.data_offsets.0, end);
        end = t.data_offsets.1;
        assert_eq!(
            u128::from(t.bytes()) * 8,
            u128::from(t.elements()) * u128::from(t.dtype.bits())
        );
    }
    assert!(header.data_start() + end <= file_len);
    let _ = (
        header.total_params(),
        header.total_bytes(),
        header.params_by_dtype(),
    );
}

fuzz_target!(|data: &[u8]| {
    // The input as a whole file.
    match parse(data, data.len() as u64) {
        Ok(header) => check(&header, data.len() as u64),
        Err(e) => assert!(!e.to_string().contains('\n'), "{e}"),
    }
    // The input as the start of a file whose length its last 8 bytes give.
    if let Some((head, tail)) = data.split_last_chunk::<8>() {
        let file_len = u64::from_le_bytes(*tail);
        match parse(head, file_len) {
            Ok(header) => check(&header, file_len),
            Err(e) => assert!(!e.to_string().contains('\n'), "{e}"),
        }
    }
    // The input as a sharded checkpoint's index.
    match parse_index(data) {
        Ok(index) => {
            let _ = (index.shards(), index.total_size());
        }
        Err(e) => assert!(!e.to_string().contains('\n'), "{e}"),
    }
});
