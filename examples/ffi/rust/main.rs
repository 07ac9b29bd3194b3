// The C ABI from Rust with std only (no crates): list effects and run one on pixels.
// build: rustc --edition 2021 -L DIR -l artistry_c -C link-args=-Wl,-rpath,DIR main.rs
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr;

#[repr(C)]
struct ImageDesc {
    struct_size: usize,
    data: *mut c_void,
    width: i32,
    height: i32,
    channels: i32,
    elem_type: i32,
    stride: usize,
}

extern "C" {
    fn art_version() -> *const c_char;
    fn art_last_error_message() -> *const c_char;
    fn art_effect_count(out: *mut usize) -> c_int;
    fn art_effect_name(out: *mut *const c_char, index: usize) -> c_int;
    fn art_engine_create(out: *mut *mut c_void, options: *const c_void) -> c_int;
    fn art_engine_free(engine: *mut c_void);
    fn art_image_wrap(out: *mut *mut c_void, desc: *const ImageDesc) -> c_int;
    fn art_image_free(image: *mut c_void);
    fn art_image_describe(out: *mut ImageDesc, image: *const c_void) -> c_int;
    fn art_engine_run_effects(out: *mut *mut c_void, engine: *mut c_void,
                              effects: *const *const c_char, count: usize,
                              input: *const c_void, options: *const c_void) -> c_int;
    fn art_result_output(out: *mut *mut c_void, result: *const c_void, node: *const c_char) -> c_int;
    fn art_result_free(result: *mut c_void);
}

fn check(status: c_int) {
    if status != 0 {
        let msg = unsafe { CStr::from_ptr(art_last_error_message()) };
        panic!("artistry status {}: {}", status, msg.to_string_lossy());
    }
}

fn desc(data: *mut c_void, w: i32, h: i32) -> ImageDesc {
    ImageDesc { struct_size: std::mem::size_of::<ImageDesc>(), data, width: w, height: h,
                channels: 3, elem_type: 0, stride: (w * 3) as usize }
}

fn main() {
    unsafe {
        println!("artistry {}", CStr::from_ptr(art_version()).to_string_lossy());
        let mut count = 0usize;
        check(art_effect_count(&mut count));
        let mut names = Vec::new();
        for i in 0..count {
            let mut name: *const c_char = ptr::null();
            check(art_effect_name(&mut name, i));
            names.push(CStr::from_ptr(name).to_string_lossy().into_owned());
        }
        println!("effects: {}", names.join(", "));

        let (w, h) = (32, 16);
        let mut pixels: Vec<u8> = (0..w * h * 3).map(|i| ((i * 7) % 256) as u8).collect();
        let mut engine = ptr::null_mut();
        check(art_engine_create(&mut engine, ptr::null()));
        let mut image = ptr::null_mut();
        // zero-copy: `pixels` outlives the run
        check(art_image_wrap(&mut image, &desc(pixels.as_mut_ptr() as *mut c_void, w, h)));
        let effect = CString::new("pop_art").unwrap();
        let effects = [effect.as_ptr()];
        let mut result = ptr::null_mut();
        check(art_engine_run_effects(&mut result, engine, effects.as_ptr(), 1, image, ptr::null()));
        let mut out = ptr::null_mut();
        check(art_result_output(&mut out, result, effect.as_ptr()));
        let mut got = desc(ptr::null_mut(), 0, 0);
        check(art_image_describe(&mut got, out));
        println!("pop_art: {}x{}x{}", got.width, got.height, got.channels);
        art_image_free(out);
        art_result_free(result);
        art_image_free(image);
        art_engine_free(engine);
    }
}
