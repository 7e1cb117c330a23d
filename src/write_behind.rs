//! A large report written on a second thread while this one goes on
//! making it.
//!
//! Once a large graph is read, its analysis and the report's text take one
//! core, and `write(2)` takes a good part of that (a chain of 10^6 nodes:
//! 250 MB of JSON, about 65 ms of 600 in the kernel copying it into the page
//! cache). The text is written here through a small buffer, as any
//! report; past its first few MiB, it is gathered in larger blocks, and a
//! second thread is started that writes each block as it comes while this
//! one fills the next. A report of a few MiB or less (nearly every model)
//! starts no thread: for Swin-T's 2 MB of JSON, a thread cost 1.5 ms of
//! 12 and 3.5 MB of peak memory.
//!
//! Only bytes cross between the threads: handing over the report's lines
//! instead (each holds shapes and names shared with the analysis, by
//! reference count) made both threads fight over those counts' cache
//! lines, and the run slower. A JSON report's lines cross as records
//! (plain bytes: see `nncost_render::json::expand_records`), and their
//! text is made on the writing thread: most of a line's cost, taken off
//! the analysis's thread.

use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Mutex;
use std::thread::{Scope, ScopedJoinHandle};

/// A block is handed over once it holds this much: enough that handing
/// one over costs nothing next to writing it, little enough that the
/// blocks in flight stay a few MiB.
///
/// A block ends with the write that fills it, not cut at exactly this
/// size. In one comparison (15 alternating runs of the chain of 10^6
/// nodes), blocks cut at exactly 1 MiB, so that every `write(2)` was 1 MiB
/// at an offset a multiple of 1 MiB, took 681 ms at the median against
/// 568 ms, with twice the system time. Slow runs remain either way: in
/// this VM the writing thread's copy into the page cache is at times ten
/// times slower than usual (see docs/benchmarks.md).
const BLOCK: usize = 1 << 20;

/// The buffer's size while the report is written here.
const BUFFER: usize = 1 << 16;

/// The bytes written here before a thread takes over.
const START_AFTER: usize = 4 << 20;

/// Full blocks waiting for the writing thread, at most: when the disk is
/// slower than the report is made, this thread waits instead of holding
/// the report in memory.
const BLOCKS_WAITING: usize = 4;

/// Appends the text of whole records from the front of the first until
/// the text holds the bytes the last asks, and returns the bytes of
/// records read (JSON lines made on the writing thread: see
/// `nncost_render::json::expand_records`).
pub(crate) type Expand<'a> = &'a (dyn Fn(&[u8], &mut String, usize) -> io::Result<usize> + Sync);

/// The text of a block of records is written in pieces of about this
/// size: never held whole (a block of records is about three of text),
/// and few enough writes.
const TEXT_PIECE: usize = 1 << 20;

/// Calls `write` with a writer that passes everything on to `sink`, in
/// order: through a buffer on this thread for the first [`START_AFTER`]
/// bytes, then in blocks on a second thread (see the module's notes). The
/// first error writing to `sink` is returned, by the write that meets it
/// or, for the last block, from here; nothing is written after it. Where
/// no thread can be started (a limit on threads), the blocks are written
/// on this thread.
///
/// With `expand`, what `write` writes are records, each in one `write`
/// call (a block never splits one), and each block is written as the text
/// `expand` makes of it, on the thread that writes it.
pub(crate) fn write_behind<W: Write + Send>(
    sink: &mut W,
    expand: Option<Expand<'_>>,
    write: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    // Behind a lock, which the writing thread holds while it lives: the
    // sink is this thread's again if that thread cannot be started.
    let sink = Mutex::new(sink);
    std::thread::scope(|scope| {
        let mut blocks = Blocks {
            scope,
            sink: &sink,
            block: Vec::new(),
            expand,
            text: String::new(),
            writer: Writer::NotStarted { written: 0 },
        };
        let written = write(&mut blocks);
        let finished = blocks.finish();
        written.and(finished)
    })
}

struct Blocks<'scope, 'env, W: Write + Send> {
    scope: &'scope Scope<'scope, 'env>,
    sink: &'env Mutex<&'env mut W>,
    block: Vec<u8>,
    expand: Option<Expand<'env>>,
    /// The text of a block written on this thread, when it is expanded.
    text: String,
    writer: Writer<'scope>,
}

enum Writer<'scope> {
    /// Buffers are written here; `written` bytes so far.
    NotStarted { written: usize },
    /// The writing thread, what takes blocks to it and what gives back
    /// the blocks it has written, to fill again.
    Started {
        blocks: SyncSender<Vec<u8>>,
        spare: Receiver<Vec<u8>>,
        thread: ScopedJoinHandle<'scope, io::Result<()>>,
    },
    /// No thread could be started: blocks are written here.
    Here,
    /// Writing failed: nothing more is written.
    Failed,
}

impl<'scope, 'env, W: Write + Send> Blocks<'scope, 'env, W> {
    /// The size at which the block being filled is handed over.
    fn block_size(&self) -> usize {
        match (&self.writer, self.expand) {
            (Writer::NotStarted { .. }, _) => BUFFER,
            // A block of records makes about three of text, and takes the
            // writing thread longer: blocks a quarter the size keep what
            // waits as small.
            (_, Some(_)) => BLOCK / 4,
            (_, None) => BLOCK,
        }
    }

    /// Hands the full block over (starting the thread once enough has been
    /// written here) and returns an empty one to fill.
    fn hand_over(&mut self) -> io::Result<()> {
        if let Writer::NotStarted { written } = &mut self.writer {
            *written += self.block.len();
            if *written >= START_AFTER {
                self.writer = self.start();
            }
        }
        match &self.writer {
            Writer::NotStarted { .. } | Writer::Here => {
                let (block, text) = (&self.block, &mut self.text);
                let written = write_block(&mut **lock(self.sink), block, self.expand, text);
                self.block.clear();
                written.inspect_err(|_| self.writer = Writer::Failed)
            }
            Writer::Started { blocks, spare, .. } => {
                if blocks.send(std::mem::take(&mut self.block)).is_err() {
                    // The thread stopped: it met an error, which it returns.
                    return Err(self.stop());
                }
                let mut next = spare
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(BLOCK));
                next.clear();
                self.block = next;
                Ok(())
            }
            Writer::Failed => Err(io::Error::other("the report's writer had failed")),
        }
    }

    fn start(&self) -> Writer<'scope> {
        let (blocks, to_write) = mpsc::sync_channel::<Vec<u8>>(BLOCKS_WAITING);
        let (give_back, spare) = mpsc::channel();
        let (sink, expand) = (self.sink, self.expand);
        let thread = std::thread::Builder::new().name("writer".into());
        // Tests ask for a stack no system gives, for the thread to fail.
        #[cfg(test)]
        let thread = match tests::STACK_SIZE.get() {
            Some(size) => thread.stack_size(size),
            None => thread,
        };
        let thread = thread.spawn_scoped(self.scope, move || {
            let mut sink = lock(sink);
            let mut text = String::new();
            for block in to_write {
                write_block(&mut **sink, &block, expand, &mut text)?;
                // This thread's end is enough for a block not given back.
                let _ = give_back.send(block);
            }
            sink.flush()
        });
        match thread {
            Ok(thread) => Writer::Started {
                blocks,
                spare,
                thread,
            },
            Err(_) => Writer::Here,
        }
    }

    /// Ends the writing thread, returning its error (or one saying it
    /// stopped, if it returned none).
    fn stop(&mut self) -> io::Error {
        match std::mem::replace(&mut self.writer, Writer::Failed) {
            Writer::Started { blocks, thread, .. } => {
                drop(blocks);
                match join(thread) {
                    Err(e) => e,
                    Ok(()) => io::Error::other("the report's writer stopped"),
                }
            }
            _ => io::Error::other("the report's writer had failed"),
        }
    }

    /// Writes what is left and waits for the writing thread to end.
    fn finish(mut self) -> io::Result<()> {
        let last = std::mem::take(&mut self.block);
        match std::mem::replace(&mut self.writer, Writer::Failed) {
            Writer::NotStarted { .. } | Writer::Here => {
                let mut sink = lock(self.sink);
                write_block(&mut **sink, &last, self.expand, &mut self.text)?;
                sink.flush()
            }
            Writer::Started { blocks, thread, .. } => {
                // A failed send means the thread met an error, which the
                // join returns.
                let _ = blocks.send(last);
                drop(blocks);
                join(thread)
            }
            Writer::Failed => Err(io::Error::other("the report's writer had failed")),
        }
    }
}

impl<W: Write + Send> Write for Blocks<'_, '_, W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let size = self.block_size();
        if self.block.capacity() < size {
            self.block.reserve_exact(size - self.block.len());
        }
        self.block.extend_from_slice(bytes);
        if self.block.len() >= size {
            self.hand_over()?;
        }
        Ok(bytes.len())
    }

    /// Blocks are written as they fill, and the last one at the end:
    /// nothing is held back by a flush (no report is read while it is being
    /// made).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes `block` to `sink`: as it is, or as the text `expand` makes of
/// it, a piece at a time (in `text`).
fn write_block<W: Write>(
    sink: &mut W,
    block: &[u8],
    expand: Option<Expand<'_>>,
    text: &mut String,
) -> io::Result<()> {
    let Some(expand) = expand else {
        return sink.write_all(block);
    };
    let mut rest = block;
    while !rest.is_empty() {
        text.clear();
        let read = expand(rest, text, TEXT_PIECE)?;
        // Nothing read would loop for ever: a fault, not a report.
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "records the report's writer could not read",
            ));
        }
        sink.write_all(text.as_bytes())?;
        rest = &rest[read..];
    }
    Ok(())
}

/// The sink, whether or not a thread that held it panicked (a panic is
/// raised again where the thread is joined).
fn lock<T>(sink: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    sink.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The writing thread's result; its panic is raised again here.
fn join(thread: ScopedJoinHandle<'_, io::Result<()>>) -> io::Result<()> {
    thread
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread::ThreadId;

    thread_local! {
        /// The writing thread's stack size, if set.
        pub(super) static STACK_SIZE: std::cell::Cell<Option<usize>> =
            const { std::cell::Cell::new(None) };
    }

    /// Keeps what it is given, and which thread gave each write and how
    /// much; fails once it would hold more than `fail_after` bytes, if set.
    struct Recording {
        bytes: Vec<u8>,
        writes: Vec<(ThreadId, usize)>,
        fail_after: Option<usize>,
        flushed: bool,
    }

    impl Recording {
        fn new(fail_after: Option<usize>) -> Self {
            Recording {
                bytes: Vec::new(),
                writes: Vec::new(),
                fail_after,
                flushed: false,
            }
        }

        /// The bytes written from this thread, and from others.
        fn bytes_by_thread(&self) -> (usize, usize) {
            let here = std::thread::current().id();
            let mine = self.writes.iter().filter(|(t, _)| *t == here);
            let mine: usize = mine.map(|(_, n)| n).sum();
            (mine, self.bytes.len() - mine)
        }
    }

    impl Write for Recording {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            if self
                .fail_after
                .is_some_and(|n| self.bytes.len() + bytes.len() > n)
            {
                return Err(io::Error::new(io::ErrorKind::BrokenPipe, "closed"));
            }
            self.writes.push((std::thread::current().id(), bytes.len()));
            self.bytes.extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            self.flushed = true;
            Ok(())
        }
    }

    /// Lines of 100 bytes, each numbered, for `bytes` bytes at least.
    fn lines(bytes: usize) -> Vec<u8> {
        (0..bytes.div_ceil(100))
            .flat_map(|i| format!("{i:>99}\n").into_bytes())
            .collect()
    }

    /// Writes `text` a line at a time; the result and the bytes taken.
    fn write_lines(sink: &mut Recording, text: &[u8]) -> (io::Result<()>, usize) {
        let mut taken = 0;
        let result = write_behind(sink, None, &mut |w| {
            for line in text.chunks(100) {
                w.write_all(line)?;
                taken += line.len();
            }
            Ok(())
        });
        (result, taken)
    }

    #[test]
    fn a_report_of_a_few_mib_is_written_here_a_buffer_at_a_time() {
        let text = lines(START_AFTER - 1000);
        let mut sink = Recording::new(None);
        let (result, _) = write_lines(&mut sink, &text);
        result.unwrap();
        assert!(sink.bytes == text, "the bytes differ");
        assert_eq!(sink.bytes_by_thread(), (text.len(), 0));
        assert!(sink.writes.iter().all(|&(_, n)| n < BUFFER + 100));
        assert!(sink.flushed);
    }

    #[test]
    fn past_a_few_mib_blocks_are_written_in_order_on_another_thread() {
        let text = lines(START_AFTER + 3 * BLOCK + 77_700);
        let mut sink = Recording::new(None);
        let (result, _) = write_lines(&mut sink, &text);
        result.unwrap();
        assert!(sink.bytes == text, "the bytes differ");
        // Buffers here until the one that passes the mark, which the new
        // thread writes with the blocks after it.
        let (here, there) = sink.bytes_by_thread();
        assert!(
            (START_AFTER - BUFFER - 100..START_AFTER).contains(&here),
            "{here}"
        );
        assert_eq!(here + there, text.len());
        let first_there = sink
            .writes
            .iter()
            .position(|&(t, _)| t != std::thread::current().id());
        let first_there = first_there.expect("no write on another thread");
        assert!(sink.writes[first_there..]
            .iter()
            .all(|&(t, _)| t == sink.writes[first_there].0));
        assert!(sink.writes[first_there + 1..sink.writes.len() - 1]
            .iter()
            .all(|&(_, n)| n >= BLOCK));
        assert!(sink.flushed);
    }

    #[test]
    fn the_sinks_error_stops_the_report_and_is_returned() {
        // Far past the failing block, the blocks waiting and the one being
        // filled: the report stops before its end.
        let text = lines(START_AFTER + 20 * BLOCK);
        let fail_after = START_AFTER + 2 * BLOCK;
        let mut sink = Recording::new(Some(fail_after));
        let (result, taken) = write_lines(&mut sink, &text);
        assert_eq!(result.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        assert!(text.starts_with(&sink.bytes));
        assert!((fail_after - 2 * BLOCK..=fail_after).contains(&sink.bytes.len()));
        assert!(taken < text.len(), "the writer went on after the error");
        assert!(!sink.flushed);

        // And on the last block, written at the end.
        let text = lines(START_AFTER + BLOCK / 2);
        let mut sink = Recording::new(Some(START_AFTER));
        let (result, taken) = write_lines(&mut sink, &text);
        assert_eq!(result.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(taken, text.len());
        assert!(text.starts_with(&sink.bytes) && sink.bytes.len() < START_AFTER);
    }

    /// Records for `expand_short`: a length byte and that many bytes.
    fn short_records(count: usize) -> (Vec<Vec<u8>>, String) {
        let (mut records, mut text) = (Vec::new(), String::new());
        for i in 0..count {
            let line = format!("line {i}{}", ".".repeat(i % 200));
            records.push([&[line.len() as u8], line.as_bytes()].concat());
            text.push_str(&line);
            text.push('\n');
        }
        (records, text)
    }

    /// Each record's bytes on a line; a block that ends inside a record is
    /// an error.
    fn expand_short(block: &[u8], text: &mut String, enough: usize) -> io::Result<usize> {
        let mut rest = block;
        while let (Some((&len, tail)), true) = (rest.split_first(), text.len() < enough) {
            let line = tail
                .get(..usize::from(len))
                .ok_or(io::ErrorKind::InvalidData)?;
            text.push_str(std::str::from_utf8(line).unwrap());
            text.push('\n');
            rest = &tail[usize::from(len)..];
        }
        Ok(block.len() - rest.len())
    }

    #[test]
    fn records_are_written_as_their_text_and_never_split() {
        // Past the mark, on the writing thread; and without one.
        for stack in [None, Some(1 << 50)] {
            let (records, text) = short_records(70_000);
            assert!(records.iter().map(Vec::len).sum::<usize>() > START_AFTER + 2 * BLOCK);
            let mut sink = Recording::new(None);
            STACK_SIZE.set(stack);
            let result = write_behind(&mut sink, Some(&expand_short), &mut |w| {
                records.iter().try_for_each(|r| w.write_all(r))
            });
            STACK_SIZE.set(None);
            result.unwrap();
            assert!(sink.bytes == text.as_bytes(), "the text differs");
            let (here, there) = sink.bytes_by_thread();
            assert_eq!(there > 0, stack.is_none(), "{here} {there}");
        }
    }

    #[test]
    fn without_a_second_thread_the_blocks_are_written_here() {
        let text = lines(START_AFTER + 3 * BLOCK + 77_700);
        let mut sink = Recording::new(None);
        STACK_SIZE.set(Some(1 << 50));
        let (result, _) = write_lines(&mut sink, &text);
        STACK_SIZE.set(None);
        result.unwrap();
        assert!(sink.bytes == text, "the bytes differ");
        assert_eq!(sink.bytes_by_thread(), (text.len(), 0));

        let text = lines(START_AFTER + 20 * BLOCK);
        let mut sink = Recording::new(Some(START_AFTER + BLOCK));
        STACK_SIZE.set(Some(1 << 50));
        let (result, taken) = write_lines(&mut sink, &text);
        STACK_SIZE.set(None);
        assert_eq!(result.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        // Nothing is made past the block that met the error.
        assert!(taken <= START_AFTER + 2 * BLOCK + 100, "{taken}");
        assert!(text.starts_with(&sink.bytes));
    }
}
