//! The children of PID 1 that a thread waits for by pid (a bounded module load's
//! child, udevd, udevadm, a shell), kept from [`reap`]: the boot reaps stray children
//! (orphans reparented to PID 1) between steps on the main thread, while the module
//! loader and coldplug threads wait for their own children. A `waitpid(-1)` that took
//! such a child would leave its waiter with ECHILD: a module reported as not loaded
//! although it was (seen as `xor: waitpid pid 84: ECHILD` in a QEMU boot).
//!
//! Each such child is claimed under one lock together with its fork, so `reap` never
//! runs between the fork and the claim, and released once its waiter has its status
//! (or gives up on it). `reap` reaps nothing while a claimed child is outstanding: the
//! run loop reaps again after every step, so strays wait at most until the loads end.

use std::sync::{Mutex, MutexGuard};

static CLAIMED: Mutex<Vec<libc::pid_t>> = Mutex::new(Vec::new());

fn claimed() -> MutexGuard<'static, Vec<libc::pid_t>> {
    // Poisoned only if a thread panicked holding it; the list is still right.
    CLAIMED.lock().unwrap_or_else(|e| e.into_inner())
}

/// fork(2), the child claimed for its waiter: the parent gets its pid (or -1), the
/// child 0.
///
/// # Safety
/// As fork(2) in a threaded process: the child may only make async-signal-safe calls
/// on data prepared before the fork, then exec or _exit.
pub(super) unsafe fn fork_claimed() -> libc::pid_t {
    let mut list = claimed();
    // SAFETY: the caller's contract; the lock is held across the fork so `reap` cannot
    // run between the fork and the claim.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // The child's copy of the lock is never used: no unlock (no futex call) there.
        std::mem::forget(list);
        return 0;
    }
    if pid > 0 {
        list.push(pid);
    }
    pid
}

/// `pid` was reaped by its waiter, or its waiter left it behind: `reap` may take it.
pub(super) fn release(pid: libc::pid_t) {
    claimed().retain(|p| *p != pid);
}

/// Reap exited children without blocking, unless a claimed child is outstanding;
/// returns how many.
pub(super) fn reap() -> u32 {
    let list = claimed();
    if !list.is_empty() {
        return 0;
    }
    let mut n = 0;
    loop {
        let mut status = 0;
        // SAFETY: non-blocking waitpid with a valid out-pointer.
        let got = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if got <= 0 {
            return n;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn reap_leaves_a_claimed_child_to_its_waiter() {
        // SAFETY: the child only _exits.
        let pid = unsafe { fork_claimed() };
        if pid == 0 {
            // SAFETY: ends the child at once.
            unsafe { libc::_exit(7) }
        }
        assert!(pid > 0);
        std::thread::sleep(Duration::from_millis(50)); // a zombie by now
        assert_eq!(reap(), 0, "a claimed child was reaped");
        let status = super::super::linux_proc::wait_status(pid, Duration::from_secs(5))
            .unwrap()
            .expect("the waiter gets its child");
        assert_eq!(libc::WEXITSTATUS(status), 7);
        assert!(!claimed().contains(&pid), "released once waited for");
    }
}
