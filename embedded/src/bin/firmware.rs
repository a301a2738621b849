//! A bare-metal program for a Cortex-M4F: classifies the bundled digits and stores how many
//! it got right where a debugger can read it. No runtime crate, no heap: the global
//! allocator refuses every request, so the build proves that inference allocates nothing.
#![no_std]
#![no_main]

use core::alloc::{GlobalAlloc, Layout};
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicUsize, Ordering};

/// An allocator that has no memory: any allocation would fail (and panic).
struct NoHeap;

// SAFETY: `alloc` returns null, which `GlobalAlloc` allows as "out of memory"; `dealloc` is
// never called with a pointer this allocator handed out, since it hands out none.
unsafe impl GlobalAlloc for NoHeap {
    unsafe fn alloc(&self, _: Layout) -> *mut u8 {
        core::ptr::null_mut()
    }
    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
}

#[global_allocator]
static HEAP: NoHeap = NoHeap;

/// How many bundled digits were classified correctly (read it with a debugger).
static CORRECT: AtomicUsize = AtomicUsize::new(0);

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    loop {}
}

#[cfg(feature = "cnn")]
use constnet_embedded::cnn_correct_bundled as correct_bundled;
/// The network the firmware runs: the 784-32-10 MLP, or with the `cnn` feature the
/// convolutional network.
#[cfg(not(feature = "cnn"))]
use constnet_embedded::correct_bundled;

/// The reset handler: the entry point the vector table names.
#[unsafe(no_mangle)]
pub extern "C" fn reset() -> ! {
    CORRECT.store(correct_bundled(), Ordering::Relaxed);
    loop {}
}

/// The reset vector, placed after the initial stack pointer by `link.x`.
#[unsafe(link_section = ".vector_table.reset")]
#[unsafe(no_mangle)]
pub static RESET_VECTOR: extern "C" fn() -> ! = reset;
