//! The web page's reading of a dropped file, on arbitrary bytes, fed in the
//! ranges it asks for: it may reject them, never crash; and when its ONNX
//! walk leaves nothing out, the model it rebuilds reads as the file does.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for name in ["m.onnx", "m.gguf", "m.safetensors", "m"] {
        let Ok(mut r) = nncost_web::read::Reading::with_first_prefix(
            vec![name.to_string()],
            vec![data.len() as u64],
            64,
        ) else {
            continue;
        };
        let mut ok = true;
        while let Some(&need) = r.need().first() {
            let range = need.offset as usize..(need.offset + need.len) as usize;
            if r.feed(need, data[range].to_vec()).is_err() {
                ok = false;
                break;
            }
        }
        if let (true, Ok(source)) = (ok, r.finish()) {
            let mut model = nncost_web::page::Model::new(source);
            let _ = model.analyse(&nncost_web::page::Choices::default());
        }
    }
    if let Ok((compact, stats)) = nncost_web::scan::scan_bytes(data) {
        if stats.dropped == 0 {
            let walked = nncost_onnx::read_bytes(compact.into());
            let whole = nncost_onnx::read_bytes(bytes::Bytes::copy_from_slice(data));
            match (walked, whole) {
                (Ok(a), Ok(b)) => assert!(a == b, "the walked model differs"),
                (a, b) => assert_eq!(a.is_ok(), b.is_ok(), "one reads, the other not"),
            }
        }
    }
});
