//! The ONNX reader on arbitrary bytes: it may reject them, never crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = nncost_onnx::read_bytes(bytes::Bytes::copy_from_slice(data));
});
