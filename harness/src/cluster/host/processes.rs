//! The cluster's daemons: each is started detached in its own session (`setsid`, which execs
//! in place, so the recorded PID is the daemon's), logging to `logs/NAME.log`, with
//! `pids/NAME` holding `PID STARTTIME`. Stopping signals only a recorded PID whose start time
//! (field 22 of /proc/PID/stat) still matches, so a reused PID is never signalled; there is
//! no pkill/killall anywhere.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use rustix::process::{Pid, Signal, kill_process};

use super::{HostError, StateDir, io_err};
use crate::wait;

/// What a pid file records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidRecord {
    pub pid: i32,
    /// Start time in clock ticks since boot (/proc/PID/stat field 22).
    pub start: u64,
}

impl PidRecord {
    pub fn parse(text: &str) -> Option<Self> {
        let mut it = text.split_whitespace();
        let pid = it.next()?.parse().ok()?;
        let start = it.next()?.parse().ok()?;
        (pid > 1).then_some(Self { pid, start })
    }

    pub fn render(&self) -> String {
        format!("{} {}\n", self.pid, self.start)
    }

    /// Whether this exact process (same PID, same start time) is still running (zombies
    /// count as gone).
    pub fn alive(&self) -> bool {
        match std::fs::read_to_string(format!("/proc/{}/stat", self.pid)) {
            Ok(stat) => {
                parse_stat(&stat).is_some_and(|(state, start)| state != 'Z' && start == self.start)
            }
            Err(_) => false,
        }
    }

    fn signal(&self, sig: Signal) {
        if !self.alive() {
            return;
        }
        if let Some(pid) = Pid::from_raw(self.pid)
            && let Err(e) = kill_process(pid, sig)
        {
            tracing::debug!(pid = self.pid, error = %e, "signal failed");
        }
    }
}

/// (state, starttime) from the text of /proc/PID/stat. The command name (field 2) may hold
/// spaces and parentheses, so fields are counted after the last `)`.
pub fn parse_stat(stat: &str) -> Option<(char, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut f = rest.split_whitespace();
    let state = f.next()?.chars().next()?;
    // After `)`: field 3 is state, so starttime (field 22) is 19 further on.
    let start = f.nth(18)?.parse().ok()?;
    Some((state, start))
}

/// Starts `program args…` as daemon `name`. Returns its PID.
pub async fn start(
    state: &StateDir,
    name: &str,
    program: &Path,
    args: &[String],
) -> Result<i32, HostError> {
    let log_path = state.log(name);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| io_err("opening", &log_path, e))?;
    let err = log
        .try_clone()
        .map_err(|e| io_err("opening", &log_path, e))?;
    // setsid execs in place when the caller is not a process-group leader (a child of ours
    // never is), so the PID stays the daemon's.
    let child = tokio::process::Command::new("setsid")
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(err))
        .kill_on_drop(false)
        .spawn()
        .map_err(|e| io_err("starting", program, e))?;
    let pid = child
        .id()
        .and_then(|p| i32::try_from(p).ok())
        .ok_or_else(|| {
            HostError::Daemon(format!("{name} exited at once; see {}", log_path.display()))
        })?;
    // The start time is set at fork and kept across exec.
    let start = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| parse_stat(&s))
        .map(|(_, t)| t)
        .ok_or_else(|| {
            HostError::Daemon(format!("{name} exited at once; see {}", log_path.display()))
        })?;
    let rec = PidRecord { pid, start };
    super::write_file(&state.pid_file(name), rec.render().as_bytes(), 0o644).await?;
    // The daemon outlives us; dropping the handle neither kills nor waits for it.
    drop(child);
    tracing::debug!(name, pid, "started");
    Ok(pid)
}

/// The record of daemon `name`, if there is one.
pub fn record(state: &StateDir, name: &str) -> Option<PidRecord> {
    std::fs::read_to_string(state.pid_file(name))
        .ok()
        .and_then(|t| PidRecord::parse(&t))
}

/// Whether daemon `name` is recorded and running.
pub fn running(state: &StateDir, name: &str) -> bool {
    record(state, name).is_some_and(|r| r.alive())
}

/// An error if daemon `name` is not running, quoting the end of its log.
pub fn check_running(state: &StateDir, name: &str) -> Result<(), HostError> {
    if running(state, name) {
        return Ok(());
    }
    let log = std::fs::read_to_string(state.log(name)).unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(8).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(HostError::Daemon(format!(
        "{name} is not running; last lines of {}:\n{}",
        state.log(name).display(),
        tail.join("\n")
    )))
}

/// SIGTERMs the recorded daemons together, waits up to `grace` for all to exit, then
/// SIGKILLs the ones left. Removes their pid files.
pub async fn stop(state: &StateDir, grace: Duration, names: &[&str]) {
    let mut recs = Vec::new();
    for name in names {
        if let Some(r) = record(state, name)
            && r.alive()
        {
            r.signal(Signal::TERM);
            recs.push((*name, r));
        }
        let _ = std::fs::remove_file(state.pid_file(name));
    }
    if recs.is_empty() {
        return;
    }
    let what = format!("{} to exit", names.join(", "));
    let done = wait::until::<_, _, wait::Timeout>(&what, grace, Duration::from_millis(100), || {
        let any = recs.iter().any(|(_, r)| r.alive());
        async move { Ok(!any) }
    })
    .await;
    if done.is_err() {
        for (name, r) in &recs {
            if r.alive() {
                tracing::warn!(
                    name,
                    pid = r.pid,
                    "did not stop within {}s of SIGTERM: SIGKILL",
                    grace.as_secs()
                );
                r.signal(Signal::KILL);
            }
        }
        let _ = wait::until::<_, _, wait::Timeout>(
            &what,
            Duration::from_secs(5),
            Duration::from_millis(100),
            || {
                let any = recs.iter().any(|(_, r)| r.alive());
                async move { Ok(!any) }
            },
        )
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_names() {
        let stat = "1234 (kube (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 12 0 987654 123456 789";
        assert_eq!(parse_stat(stat), Some(('S', 987654)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn pid_record_roundtrip() {
        let r = PidRecord {
            pid: 4242,
            start: 99,
        };
        assert_eq!(PidRecord::parse(&r.render()), Some(r));
        assert_eq!(PidRecord::parse("1 5"), None, "never PID 1");
        assert_eq!(
            PidRecord::parse("4242"),
            None,
            "a bare PID (no start time) is not trusted"
        );
    }

    #[test]
    fn own_process_is_alive_and_wrong_start_is_not() {
        let me = std::process::id() as i32;
        let stat = std::fs::read_to_string(format!("/proc/{me}/stat")).unwrap();
        let (_, start) = parse_stat(&stat).unwrap();
        assert!(PidRecord { pid: me, start }.alive());
        assert!(
            !PidRecord {
                pid: me,
                start: start + 1
            }
            .alive()
        );
    }
}
