//! Letters are typeset on a fixed set of long-lived threads, not on tokio's blocking pool.
//!
//! Why: the allocator (mimalloc) keeps a heap per thread, and memory freed on one thread for
//! another thread's heap is only returned when that owner allocates again. Typst's cache is
//! filled by whichever thread renders and evicted by whichever thread renders next; on the
//! blocking pool that is any of up to a dozen threads (the letter file writes use it too), most
//! of them idle at any moment, each keeping its share of evicted layouts resident. With the
//! renders on `render_threads` threads of their own, the same few heaps allocate and free, and
//! the service's resident memory on a letter day stays close to the letter benchmark's.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// The render threads; dropping the pool lets them finish their jobs and end.
#[derive(Debug)]
pub struct RenderPool {
    jobs: Mutex<Sender<Job>>,
}

/// The pool has no thread left to run a job (they could not be started, or a job panicked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderStopped;

impl RenderPool {
    /// Starts `threads` render threads (at least one), named `restance-render-N`.
    ///
    /// # Errors
    /// When the operating system refuses a thread.
    pub fn start(threads: usize) -> std::io::Result<Self> {
        let threads = threads.max(1);
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("restance-render-{i}"))
                .spawn(move || serve(&rx))?;
        }
        Ok(Self {
            jobs: Mutex::new(tx),
        })
    }

    /// Runs `f` on a render thread and returns its result. Jobs queue while every thread is
    /// busy (the worker's `concurrency` bounds how many wait).
    ///
    /// # Errors
    /// [`RenderStopped`] when `f` panicked or the threads are gone.
    pub async fn run<T, F>(&self, f: F) -> Result<T, RenderStopped>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // A panic ends this job only; the thread goes on with the next one.
            if let Ok(out) = catch_unwind(AssertUnwindSafe(f)) {
                let _ = tx.send(out);
            }
        });
        self.jobs
            .lock()
            .map_err(|_| RenderStopped)?
            .send(job)
            .map_err(|_| RenderStopped)?;
        rx.await.map_err(|_| RenderStopped)
    }
}

fn serve(jobs: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for the next job, never while rendering.
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return, // the pool was dropped
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_on_the_pools_own_threads() {
        let pool = RenderPool::start(2).expect("threads");
        let mut names = std::collections::BTreeSet::new();
        for _ in 0..20 {
            let name = pool
                .run(|| std::thread::current().name().map(str::to_owned))
                .await
                .expect("ran");
            names.insert(name.expect("named"));
        }
        assert!(!names.is_empty() && names.len() <= 2, "{names:?}");
        assert!(names.iter().all(|n| n.starts_with("restance-render-")));
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_and_the_pool_goes_on() {
        let pool = RenderPool::start(1).expect("threads");
        let failed = pool.run(|| -> u32 { panic!("a template bug") }).await;
        assert_eq!(failed, Err(RenderStopped));
        assert_eq!(pool.run(|| 7).await, Ok(7));
    }
}
