#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| zos_fuzz::apk_targets::apk(data));
