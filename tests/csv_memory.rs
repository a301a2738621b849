//! Reading a CSV file takes memory in proportion to the file, not ~55 times it: the peak of
//! the heap while reading is measured by this test binary's own allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use constnet::data::Csv;

thread_local! {
    static NOW: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

/// Tracks the bytes the current thread holds, and their peak.
struct Peak;

fn grow(bytes: usize) {
    let _ = NOW.try_with(|n| {
        n.set(n.get() + bytes);
        let _ = PEAK.try_with(|p| p.set(p.get().max(n.get())));
    });
}

fn shrink(bytes: usize) {
    let _ = NOW.try_with(|n| n.set(n.get().saturating_sub(bytes)));
}

unsafe impl GlobalAlloc for Peak {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrink(layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grow(new_size);
        shrink(layout.size());
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Peak = Peak;

/// The peak of the heap (above what was held before) while `f` runs.
fn peak_during(f: impl FnOnce()) -> usize {
    let base = NOW.with(Cell::get);
    PEAK.with(|p| p.set(base));
    f();
    PEAK.with(Cell::get) - base
}

/// Regression (issue 20, item 2): a file of many short rows took about 55 times its size
/// (every row a record of its own: two heap buffers and their slack), so the 1 GiB default
/// limit allowed about 55 GB, and 120 MB aborted the process. Rows are now kept in one text
/// buffer with an index of cell ends.
#[test]
fn many_short_rows_take_a_few_times_the_file() {
    let rows = 200_000;
    let mut csv = String::from("x,y\n");
    for i in 0..rows {
        csv.push_str(&format!("{},{}\n", i % 10, i % 3));
    }
    let size = csv.len();
    let peak = peak_during(|| {
        let data = Csv::new()
            .parse_values::<f32, 1>(csv.as_bytes(), "short.csv")
            .unwrap();
        assert_eq!(data.data.len(), rows);
    });
    // The dataset itself: 8 bytes a sample (a feature and a target, f32), 2 of the 4 bytes a
    // row of text; the rows in between: the text (2 bytes a row), 4 bytes a cell end, 8 a line.
    let ratio = peak as f64 / size as f64;
    eprintln!("peak {peak} bytes for a {size}-byte file: {ratio:.1} times");
    assert!(
        ratio < 12.0,
        "peak {peak} bytes for a {size}-byte file: {ratio:.1} times"
    );
}
