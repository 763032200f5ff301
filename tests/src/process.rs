//! Running a child process to completion while measuring it: wall time and peak resident memory
//! (from `wait4`'s resource usage of that one child, no external tool).

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A finished child process and what it cost.
#[derive(Debug, Clone)]
pub struct Measured {
    /// The exit code; -1 when a signal ended it.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub wall: Duration,
    /// Peak resident set size in KiB, as the kernel accounted it for this child.
    pub peak_rss_kib: u64,
}

/// Runs `command` with piped output and no input, waits for it with `wait4` and returns its
/// output, wall time and peak RSS. Blocking: call it from `spawn_blocking` in async code.
pub fn run_measured(command: &mut Command) -> std::io::Result<Measured> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn()?;
    let mut stdout_pipe = child.stdout.take().expect("stdout is piped");
    let mut stderr_pipe = child.stderr.take().expect("stderr is piped");
    // Both pipes are drained concurrently so a chatty child never blocks on a full pipe.
    let stderr_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut text);
        text
    });
    let mut stdout = Vec::new();
    let _ = stdout_pipe.read_to_end(&mut stdout);
    let (code, peak_rss_kib) = wait_with_usage(child.id())?;
    let wall = started.elapsed();
    let stderr = stderr_reader.join().unwrap_or_default();
    Ok(Measured {
        code,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        wall,
        peak_rss_kib,
    })
}

/// Reaps the child `pid` and reads its resource usage: (exit code, peak RSS in KiB).
fn wait_with_usage(pid: u32) -> std::io::Result<(i32, u64)> {
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero `rusage` is a valid value of that plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `status` and `usage` are valid for writes for the duration of the call, and
        // `pid` is our own child, not yet reaped (std's `Child` only reaps in `wait`).
        let reaped = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
        if reaped == pid as libc::pid_t {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    // Linux reports `ru_maxrss` in KiB, macOS in bytes.
    let max_rss = u64::try_from(usage.ru_maxrss).unwrap_or(0);
    let peak_rss_kib = if cfg!(target_os = "macos") {
        max_rss / 1024
    } else {
        max_rss
    };
    Ok((code, peak_rss_kib))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_exit_code_and_memory_of_a_child_are_reported() {
        let measured =
            run_measured(Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]))
                .unwrap();
        assert_eq!(measured.code, 3);
        assert_eq!(measured.stdout, "out\n");
        assert_eq!(measured.stderr, "err\n");
        assert!(measured.peak_rss_kib > 0, "{measured:?}");
    }
}
