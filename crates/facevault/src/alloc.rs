//! The binary's global allocator: the system allocator, plus a hint that large buffers (a
//! scan's vertex and index arrays run to tens of MB) be backed by transparent huge pages.
//!
//! Why: in a fresh process, first touching each 4 KiB page of a new buffer costs the kernel
//! more than FaceVault spends decoding a scan into it. One 2 MiB page replaces 512 such faults.
//! numpy makes the same `madvise(MADV_HUGEPAGE)` call for its large arrays. It is only a hint:
//! where the kernel has THP off, nothing changes.
//!
//! This is the one place in FaceVault with `unsafe` code; every library crate forbids it.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};

/// Buffers at least this big get the hint (smaller ones rarely span a whole huge page).
const HINT_FROM: usize = 4 << 20;
const PAGE: usize = 4096;

#[derive(Debug)]
pub struct HugePageHint;

fn advise(ptr: *mut u8, len: usize) {
    // madvise wants a page-aligned start; the system allocator's large blocks start just past
    // a page boundary, so the hint covers the whole pages inside the block.
    let start = (ptr as usize).div_ceil(PAGE) * PAGE;
    let end = (ptr as usize + len) / PAGE * PAGE;
    if end > start {
        // SAFETY: [start, end) lies inside the block just allocated; MADV_HUGEPAGE only changes
        // how the kernel backs those pages, never their contents, and failure is harmless.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

// SAFETY: every call is forwarded to `System` unchanged; the only addition is the madvise hint
// on memory `System` has just handed out.
unsafe impl GlobalAlloc for HugePageHint {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() && layout.size() >= HINT_FROM {
            advise(p, layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() && layout.size() >= HINT_FROM {
            advise(p, layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() && new_size >= HINT_FROM {
            advise(p, new_size);
        }
        p
    }
}
