//! An ordinary shared library with no plugin root module: the host must say
//! it is not a plugin rather than crash.

#[no_mangle]
pub extern "C" fn bincio_test_answer() -> i32 {
    42
}
