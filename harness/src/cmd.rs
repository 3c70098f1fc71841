//! Running external programs (kubectl, helm, ctr, ip, iptables, openssl, ...) with tokio, each
//! with a deadline: a program that hangs is killed and reported, never waited on forever.

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::process::Command;

/// How long a one-shot command may run unless [`Cmd::timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum CmdError {
    #[error("could not run `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        command: String,
        status: ExitStatus,
        stderr: String,
    },
    #[error("`{command}`: unexpected output: {message}")]
    BadOutput { command: String, message: String },
    #[error("`{command}` did not finish within {}s", limit.as_secs())]
    TimedOut { command: String, limit: Duration },
}

/// A command line to run once, capturing its output.
#[derive(Debug)]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    timeout: Duration,
    /// Bytes written to the program's stdin (then closed); `None` gives it no stdin at all.
    input: Option<Vec<u8>>,
}

impl Cmd {
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Self {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            envs: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            input: None,
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.envs
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = limit;
        self
    }

    /// Feeds `bytes` to the program's stdin (e.g. `kubectl apply -f -`), so generated
    /// manifests never touch the disk. Only [`Cmd::output`] and [`Cmd::succeeds`] use it.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.input = Some(bytes.into());
        self
    }

    /// The command line as text, for messages (long lines are shortened).
    pub fn display(&self) -> String {
        let mut s = Path::new(&self.program)
            .file_name()
            .unwrap_or(&self.program)
            .to_string_lossy()
            .into_owned();
        for a in &self.args {
            s.push(' ');
            s.push_str(&a.to_string_lossy());
        }
        if s.len() > 240 {
            let mut end = 240;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            s.truncate(end);
            s.push_str(" …");
        }
        s
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        c
    }

    /// Runs the command; its stdout on success, an error with its stderr otherwise.
    pub async fn output(self) -> Result<String, CmdError> {
        let command = self.display();
        tracing::debug!(%command, "run");
        let mut c = self.command();
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        if self.input.is_some() {
            c.stdin(Stdio::piped());
        }
        let mut child = c.spawn().map_err(|source| CmdError::Spawn {
            command: command.clone(),
            source,
        })?;
        if let (Some(bytes), Some(mut stdin)) = (self.input, child.stdin.take()) {
            // Written from a task while the output is read, so a program that answers before
            // reading all of its input cannot deadlock us; a write error (the program exited
            // early) shows up as its exit status instead.
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt as _;
                let _ = stdin.write_all(&bytes).await;
            });
        }
        let out = within(&command, self.timeout, child.wait_with_output()).await?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(CmdError::Failed {
                command,
                status: out.status,
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            })
        }
    }

    /// Runs the command and only says whether it exited 0 (for polls and best-effort cleanup).
    pub async fn succeeds(self) -> bool {
        match self.output().await {
            Ok(_) => true,
            Err(e) => {
                tracing::trace!(error = %e, "command failed");
                false
            }
        }
    }

    /// Runs the command with stdout/stderr passed through to ours (for long builds).
    pub async fn run_inherit(self) -> Result<(), CmdError> {
        let command = self.display();
        let mut c = self.command();
        c.stdout(Stdio::inherit()).stderr(Stdio::inherit());
        let mut child = c.spawn().map_err(|source| CmdError::Spawn {
            command: command.clone(),
            source,
        })?;
        let status = within(&command, self.timeout, child.wait()).await?;
        if status.success() {
            Ok(())
        } else {
            Err(CmdError::Failed {
                command,
                status,
                stderr: "see the output above".into(),
            })
        }
    }
}

/// Waits for a running program with the command's deadline (the child is killed on drop).
async fn within<T>(
    command: &str,
    limit: Duration,
    wait: impl std::future::Future<Output = std::io::Result<T>>,
) -> Result<T, CmdError> {
    match tokio::time::timeout(limit, wait).await {
        Ok(r) => r.map_err(|source| CmdError::Spawn {
            command: command.to_owned(),
            source,
        }),
        Err(_) => Err(CmdError::TimedOut {
            command: command.to_owned(),
            limit,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn output_and_failure() {
        assert_eq!(Cmd::new("echo").arg("hi").output().await.unwrap(), "hi\n");
        assert!(!Cmd::new("false").succeeds().await);
        let e = Cmd::new("sh")
            .args(["-c", "echo oops >&2; exit 3"])
            .output()
            .await
            .unwrap_err();
        assert!(e.to_string().contains("oops"), "{e}");
    }

    #[tokio::test]
    async fn stdin_is_fed_and_closed() {
        let out = Cmd::new("cat").stdin("a\nb\n").output().await.unwrap();
        assert_eq!(out, "a\nb\n");
        // Without input the program sees an empty, closed stdin rather than hanging on it.
        assert_eq!(Cmd::new("cat").output().await.unwrap(), "");
    }

    #[tokio::test]
    async fn timeout_kills() {
        let e = Cmd::new("sleep")
            .arg("10")
            .timeout(Duration::from_millis(100))
            .output()
            .await
            .unwrap_err();
        assert!(matches!(e, CmdError::TimedOut { .. }));
    }
}
