//! The store's writer thread: appends and head cuts run on one thread the store owns, whoever
//! calls them.
//!
//! Why a thread: the head's memory (its pieces, the duplicate set, the head a cut builds, a
//! cut's buffers) is allocated by the thread that appends or cuts. A server appends from the
//! threads of its request pool, and glibc's malloc gives threads their own arenas, so the head
//! was spread over as many arenas as the pool had threads, each keeping its share's high-water
//! mark after a cut freed it, mixed with request garbage no cut frees (RSS after a 1M-line
//! push: 130 MB with the head on the callers' threads, 85 MB on one thread). Appends and cuts
//! were serialized by the WAL mutex already, so nothing runs less in parallel: callers still
//! decode and validate on their own threads, and readers never come here.
//!
//! Not here: what an append or a cut does (`store`, `compact`); merges and retention, which
//! run on the caller's thread (they hold no WAL lock and must not hold up appends).

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, sync_channel, Sender};
use std::thread::{self, JoinHandle, ThreadId};

use crate::error::LogStoreError;

/// A task for the thread. Tasks borrow from the frame of [`Writer::run`], which outlives them.
type Task = Box<dyn FnOnce() + Send + 'static>;

/// The writer thread of one store; stopped (and joined) when dropped.
pub(crate) struct Writer {
    tx: Option<Sender<Task>>,
    thread: Option<JoinHandle<()>>,
    id: ThreadId,
}

impl Writer {
    pub(crate) fn start() -> Result<Writer, LogStoreError> {
        let (tx, rx) = channel::<Task>();
        let thread = thread::Builder::new()
            .name("logstore-writer".into())
            .spawn(move || {
                for task in rx {
                    task();
                }
            })
            .map_err(|e| LogStoreError::io(std::path::Path::new("logstore-writer thread"), e))?;
        Ok(Writer {
            tx: Some(tx),
            id: thread.thread().id(),
            thread: Some(thread),
        })
    }

    /// Runs `f` on the writer thread and returns its result (a panic in `f` is resumed here).
    /// Tasks run one at a time in the order they came; `f` may borrow from the caller. Called
    /// from the writer thread itself, `f` runs at once.
    pub(crate) fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        if thread::current().id() == self.id {
            return f();
        }
        let (done_tx, done_rx) = sync_channel(1);
        let task: Box<dyn FnOnce() + Send + '_> = Box::new(move || {
            let _ = done_tx.send(catch_unwind(AssertUnwindSafe(f)));
        });
        // SAFETY: the task borrows from this frame (`f`'s captures); the lifetime is erased only
        // to pass it through the channel. This function returns only after `done_rx` gave the
        // task's result, sent as the task's last use of `f`, or reported that `done_tx`, which
        // the task owns, was dropped, i.e. that the task was dropped without running (the
        // thread is gone). Either way nothing borrowed is touched after this frame ends.
        let task: Task =
            unsafe { std::mem::transmute::<Box<dyn FnOnce() + Send + '_>, Task>(task) };
        let sent = match &self.tx {
            Some(tx) => tx.send(task).map_err(|back| back.0),
            None => Err(task),
        };
        if let Err(task) = sent {
            // The thread is gone (it cannot be while `self` lives, tasks catch their panics):
            // run here rather than lose the append.
            task();
        }
        match done_rx.recv() {
            Ok(Ok(r)) => r,
            Ok(Err(panic)) => resume_unwind(panic),
            Err(_) => unreachable!(
                "a writer task is dropped only with its thread, which outlives the store"
            ),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop once queued tasks ran (there are none:
        // every `run` waits for its task, and `run` borrows the writer).
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_on_its_thread_with_borrows_and_panics_come_back() {
        let w = Writer::start().unwrap();
        let mut v = vec![1, 2, 3];
        let on = w.run(|| {
            v.push(4);
            thread::current().id()
        });
        assert_eq!(v, [1, 2, 3, 4]);
        assert_eq!(on, w.id);
        assert_eq!(w.run(|| w.run(|| 7)), 7, "a nested run runs in place");
        let r = catch_unwind(AssertUnwindSafe(|| w.run(|| panic!("boom"))));
        assert!(r.is_err());
        assert_eq!(w.run(|| v.len()), 4, "the thread survives a task's panic");
    }
}
