//! One list written in two parts by two threads: the nodes of a large graph,
//! whose first stretch one thread converts while another converts the rest
//! (`reader::read_file`).
//!
//! Each thread used to fill a list of its own, and the two were joined by
//! moving the first thread's nodes into room the second had made for them:
//! 80 bytes a node written twice, and for a graph of a million nodes 40 MB
//! of pages first touched only to be filled with placeholders (10,000 page
//! faults on the thread that finished last). Here both threads write their
//! nodes where they end up: [`split`] makes room for the whole list and
//! hands out its two parts, and [`Part::join`] makes the list of them with
//! nothing moved.
//!
//! Each part owns its places alone, so the threads never write the same
//! memory. The room is freed once both parts are gone, whichever goes first,
//! and a part drops the items it holds (a part given up mid-way, say).

#![allow(unsafe_code)]

use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::sync::Arc;

/// The allocation both parts write into: capacity for `cap` items, none of
/// which it drops itself (each part drops its own).
struct Room<T> {
    ptr: NonNull<T>,
    cap: usize,
}

// SAFETY: a room is only an allocation; its items are reached through the
// parts, each the only one to reach its places (see `Part`), and a part is
// `Send` and `Sync` through its room: so only for items that are both.
unsafe impl<T: Send + Sync> Send for Room<T> {}
// SAFETY: as above: a shared room reads and writes nothing.
unsafe impl<T: Send + Sync> Sync for Room<T> {}

impl<T> Drop for Room<T> {
    fn drop(&mut self) {
        // SAFETY: `ptr` and `cap` came from a `Vec<T>`'s allocation (see
        // `split`); a length of 0 frees it without dropping any item.
        unsafe { drop(Vec::from_raw_parts(self.ptr.as_ptr(), 0, self.cap)) }
    }
}

/// Places `start..start + cap` of a shared room, of which the first `len`
/// hold items. No other part reaches them.
pub(crate) struct Part<T> {
    room: Arc<Room<T>>,
    start: usize,
    len: usize,
    cap: usize,
}

/// Room for `cap` items, as its first `at` places and the rest.
pub(crate) fn split<T>(cap: usize, at: usize) -> (Part<T>, Part<T>) {
    let at = at.min(cap);
    let mut list = ManuallyDrop::new(Vec::<T>::with_capacity(cap));
    let room = Arc::new(Room {
        // A `Vec`'s pointer is never null.
        ptr: NonNull::new(list.as_mut_ptr()).expect("a Vec's pointer"),
        cap: list.capacity(),
    });
    let head = Part {
        room: Arc::clone(&room),
        start: 0,
        len: 0,
        cap: at,
    };
    let tail = Part {
        room,
        start: at,
        len: 0,
        cap: cap - at,
    };
    (head, tail)
}

impl<T> Part<T> {
    /// The index in the whole list of the place after the last item.
    pub(crate) fn end(&self) -> usize {
        self.start + self.len
    }

    /// The index in the whole list of the part's first place.
    pub(crate) fn start(&self) -> usize {
        self.start
    }

    /// Whether the part starts the list (its indices are the list's).
    pub(crate) fn is_head(&self) -> bool {
        self.start == 0
    }

    pub(crate) fn is_full(&self) -> bool {
        self.len == self.cap
    }

    /// Adds `item`, or gives it back when the part is full.
    pub(crate) fn push(&mut self, item: T) -> Result<(), T> {
        if self.len == self.cap {
            return Err(item);
        }
        // SAFETY: `start + len < start + cap <= room.cap`, a place of this
        // part's alone, not yet written.
        unsafe { self.room.ptr.as_ptr().add(self.end()).write(item) };
        self.len += 1;
        Ok(())
    }

    pub(crate) fn as_slice(&self) -> &[T] {
        // SAFETY: the part's first `len` places hold items, reached by no
        // other part.
        unsafe { std::slice::from_raw_parts(self.room.ptr.as_ptr().add(self.start), self.len) }
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [T] {
        // SAFETY: as in `as_slice`; `&mut self` makes the borrow unique.
        unsafe { std::slice::from_raw_parts_mut(self.room.ptr.as_ptr().add(self.start), self.len) }
    }

    /// The items, moved into a list of their own with room for `more`.
    pub(crate) fn into_vec(mut self, more: usize) -> Vec<T> {
        let mut list = Vec::with_capacity(self.len.saturating_add(more));
        // SAFETY: the part's items are moved out bit for bit, and the part
        // then holds none, so that its drop leaves them to the list.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.room.ptr.as_ptr().add(self.start),
                list.as_mut_ptr(),
                self.len,
            );
            list.set_len(self.len);
        }
        self.len = 0;
        list
    }

    /// The whole list: `head`'s items then `tail`'s, where `head` starts
    /// the room and is full, and `tail` is the rest of the same room.
    /// Both are given back otherwise.
    pub(crate) fn join(head: Part<T>, tail: Part<T>) -> Result<Vec<T>, (Part<T>, Part<T>)> {
        if !Arc::ptr_eq(&head.room, &tail.room)
            || head.start != 0
            || head.len != head.cap
            || tail.start != head.cap
        {
            return Err((head, tail));
        }
        let len = head.len + tail.len;
        let (head, tail) = (ManuallyDrop::new(head), ManuallyDrop::new(tail));
        // SAFETY: each part is read once and never used or dropped again,
        // so their items pass to the list below and the room's two
        // references are each dropped once.
        let (room, other) = unsafe { (std::ptr::read(&head.room), std::ptr::read(&tail.room)) };
        drop(other);
        let Ok(room) = Arc::try_unwrap(room) else {
            // Only the two parts ever hold the room.
            unreachable!("a room held by more than its two parts")
        };
        let room = ManuallyDrop::new(room);
        // SAFETY: places `0..len` hold items (the head's, then the tail's
        // right after them), and the allocation is the `Vec` `split` made,
        // whose ownership passes to the list (the room is not dropped).
        Ok(unsafe { Vec::from_raw_parts(room.ptr.as_ptr(), len, room.cap) })
    }
}

impl<T> Drop for Part<T> {
    fn drop(&mut self) {
        // SAFETY: the part's first `len` places hold items that nothing
        // else drops.
        unsafe { std::ptr::drop_in_place(self.as_mut_slice()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

    /// An item that counts its drops.
    struct Counted<'a>(usize, &'a AtomicUsize);

    impl Drop for Counted<'_> {
        fn drop(&mut self) {
            self.1.fetch_add(1, Relaxed);
        }
    }

    #[test]
    fn parts_filled_on_two_threads_join_into_one_list() {
        let drops = AtomicUsize::new(0);
        let (mut head, mut tail) = split::<Counted>(10, 4);
        std::thread::scope(|s| {
            s.spawn(|| {
                for i in 4..10 {
                    assert!(tail.push(Counted(i, &drops)).is_ok());
                }
                assert!(tail.push(Counted(10, &drops)).is_err());
            });
            for i in 0..4 {
                assert!(head.push(Counted(i, &drops)).is_ok());
            }
        });
        // The item given back when the tail was full is the only one gone.
        assert_eq!(drops.load(Relaxed), 1);
        assert_eq!((head.end(), tail.end()), (4, 10));
        assert!(head.is_head() && !tail.is_head());
        tail.as_mut_slice()[0].0 = 40;
        let list = Part::join(head, tail).ok().expect("contiguous parts");
        let items: Vec<usize> = list.iter().map(|c| c.0).collect();
        assert_eq!(items, [0, 1, 2, 3, 40, 5, 6, 7, 8, 9]);
        assert_eq!(drops.load(Relaxed), 1);
        drop(list);
        assert_eq!(drops.load(Relaxed), 11);
    }

    #[test]
    fn a_head_not_full_does_not_join_and_every_item_is_dropped_once() {
        let drops = AtomicUsize::new(0);
        let (mut head, mut tail) = split::<Counted>(6, 3);
        head.push(Counted(0, &drops)).ok().unwrap();
        tail.push(Counted(3, &drops)).ok().unwrap();
        let Err((head, tail)) = Part::join(head, tail) else {
            panic!("a gap between the parts");
        };
        // Parts of two rooms do not join either.
        let (mut other, _) = split::<Counted>(3, 3);
        for i in 0..3 {
            other.push(Counted(i, &drops)).ok().unwrap();
        }
        let Err((other, tail)) = Part::join(other, tail) else {
            panic!("parts of two rooms");
        };
        // The tail goes first, the head's room after.
        drop(tail);
        assert_eq!(drops.load(Relaxed), 1);
        let moved = head.into_vec(5);
        assert_eq!((moved.len(), moved.capacity() >= 6), (1, true));
        assert_eq!(drops.load(Relaxed), 1);
        drop((moved, other));
        assert_eq!(drops.load(Relaxed), 5);
    }
}
