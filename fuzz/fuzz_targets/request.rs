//! A request frame (after its length prefix) decoded exactly as the server does: the header,
//! then the body of whichever API and version the frame names. Must never panic or allocate
//! more than the frame's bytes justify.
#![no_main]

use brook::api::request::{parse, Parsed};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Parsed::Request { entry, version, body, .. }) = parse(bytes::Bytes::copy_from_slice(data)) {
        let _ = (entry.decode)(body, version);
    }
});
