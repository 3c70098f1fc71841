//! The emulators a run starts: `secretbench emulators` as a child process listening on the
//! address pods reach, with its state (and so the Key Vault CA) kept between runs.

/// Where each emulator answers, from the ready line.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    pub aws_url: String,
    pub azure_url: String,
    pub azure_ca_file: std::path::PathBuf,
    pub vault_url: String,
    pub vault_token: String,
}

/// The running emulator process; killed when dropped.
#[derive(Debug)]
pub struct EmulatorProcess {
    pub endpoints: Endpoints,
}
