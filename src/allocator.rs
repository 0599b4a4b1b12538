//! The program's allocator when hnn's `mimalloc` feature is on (the default): mimalloc, set at
//! its first use to keep freed memory ([`crate::keep_freed_memory`]).

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicBool, Ordering};

#[global_allocator]
static GLOBAL: Tuned = Tuned;

/// mimalloc, tuned once before its first allocation.
struct Tuned;

static TUNED: AtomicBool = AtomicBool::new(false);

impl Tuned {
    #[inline(always)]
    fn tune() {
        if !TUNED.load(Ordering::Relaxed) {
            TUNED.store(true, Ordering::Relaxed);
            crate::keep_freed_memory();
        }
    }
}

// SAFETY: every call is forwarded unchanged to mimalloc's allocator; `tune` only sets an option
// (it does not allocate).
unsafe impl GlobalAlloc for Tuned {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::tune();
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::tune();
        unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::tune();
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
}
