//! `fleet secret`: make an age identity, and write, edit, encrypt again and list the encrypted
//! secrets of the project in the working tree. A value comes from standard input (hidden on a
//! terminal), a file or an editor, and is never printed.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde::Serialize;

use super::{ExitCode, Format, GlobalOptions, Printer};
use crate::secrets::{self, Identities};
use crate::spec::Desired;
use crate::spec::load::{CA_CERTIFICATE, CA_KEY};
use crate::spec::model::FileSource;

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Make an age identity for this machine (FLEET_AGE_KEY_FILE, or
    /// ~/.config/fleet/age/keys.txt) and print its recipient for fleet.yaml's
    /// `secrets_recipients`
    Init,
    /// Encrypt a value (standard input, or --file) to fleet.yaml's `secrets_recipients`, into
    /// the secret's `file` (secrets/NAME.age for a new one)
    Set {
        name: String,
        /// Read the value from this file instead of standard input
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
    /// Change a secret in $EDITOR: decrypted to a private temporary file, encrypted again, and
    /// the temporary file overwritten and removed
    Edit { name: String },
    /// Encrypt every encrypted secret again, to the recipients fleet.yaml lists now
    Rotate,
    /// List the secrets: file, who each is encrypted to, which services mount it (no values)
    Ls,
    /// The project CA for `tls: internal`: its certificate (secrets/fleet-ca.crt) and its key,
    /// encrypted to `secrets_recipients` (secrets/fleet-ca.key.age)
    #[command(subcommand)]
    Ca(CaCommand),
}

#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Make the project CA (ECDSA P-256, valid 10 years); commit both files
    Init {
        /// Replace an existing CA: every client must then trust the new certificate
        #[arg(long)]
        force: bool,
    },
    /// Print the CA certificate (PEM) for clients to trust, e.g. `curl --cacert`
    Cert,
}

pub fn run(global: &GlobalOptions, command: &SecretCommand, printer: &Printer) -> ExitCode {
    if let SecretCommand::Init = command {
        return init(printer);
    }
    if let SecretCommand::Ca(CaCommand::Cert) = command {
        return ca_cert(global, printer);
    }
    if global.repo.is_some() || global.rev.is_some() {
        printer.fail(
            "`fleet secret` works on the files of the working tree",
            Some("run it in a clone, without --repo or --ref"),
        );
        return ExitCode::Failure;
    }
    let writes = matches!(
        command,
        SecretCommand::Ca(CaCommand::Init { .. })
            | SecretCommand::Set { .. }
            | SecretCommand::Edit { .. }
    );
    let Some(desired) = load(global, printer, writes) else {
        return ExitCode::Failure;
    };
    let root = global.dir.as_path();
    let result = match command {
        SecretCommand::Init | SecretCommand::Ca(CaCommand::Cert) => {
            unreachable!("handled above")
        }
        SecretCommand::Ca(CaCommand::Init { force }) => {
            ca_init_run(root, &desired, *force, printer)
        }
        SecretCommand::Set { name, file } => set(root, &desired, name, file.as_deref(), printer),
        SecretCommand::Edit { name } => edit(root, &desired, name, printer),
        SecretCommand::Rotate => rotate(root, &desired, printer),
        SecretCommand::Ls => {
            ls(root, &desired, global.format == Format::Json);
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::Success,
        Err((message, hint)) => {
            printer.fail(&message, hint.as_deref());
            ExitCode::Failure
        }
    }
}

type Failure = (String, Option<String>);

/// The working tree's desired state. For the commands that write secrets, the files they are
/// about to write count as present: a state that declares them is invalid until they are.
fn load(global: &GlobalOptions, printer: &Printer, writes: bool) -> Option<Desired> {
    let snapshot = crate::source::open(&crate::source::Request {
        dir: global.dir.clone(),
        repo: None,
        rev: None,
        worktree: true,
    })
    .map_err(|e| printer.error(&e, e.hint().as_deref()))
    .ok()?;
    let loaded = if writes {
        crate::spec::load(&Unwritten(snapshot.files()))
    } else {
        crate::spec::load(snapshot.files())
    };
    for d in loaded.diagnostics.iter().filter(|d| d.is_error()) {
        printer.diagnostic(d);
    }
    loaded.desired
}

/// Where this machine's identity is kept.
fn identity_path() -> Option<PathBuf> {
    match std::env::var("FLEET_AGE_KEY_FILE") {
        Ok(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ => dirs::home_dir().map(|h| h.join(".config/fleet/age/keys.txt")),
    }
}

fn init(printer: &Printer) -> ExitCode {
    let Some(path) = identity_path() else {
        printer.fail(
            "no home directory to keep the identity in",
            Some("set FLEET_AGE_KEY_FILE"),
        );
        return ExitCode::Failure;
    };
    if path.exists() {
        printer.fail(
            &format!(
                "{} exists already; fleet never overwrites an identity",
                path.display()
            ),
            Some(&format!(
                "its recipient: `age-keygen -y {}`",
                path.display()
            )),
        );
        return ExitCode::Failure;
    }
    let (secret, recipient) = secrets::generate();
    let text = format!("# created by fleet secret init\n# public key: {recipient}\n{secret}\n");
    if let Err(e) = super::write_private(&path, text.as_bytes()) {
        printer.error(&e, Some(&format!("could not write {}", path.display())));
        return ExitCode::Failure;
    }
    outln!("{recipient}");
    printer.info(&format!(
        "Wrote the identity to {} (only you can read it; keep a copy somewhere safe).\n\
         Add its recipient to fleet.yaml so new secrets are encrypted to it:\n  secrets_recipients: [{recipient}]",
        path.display()
    ));
    ExitCode::Success
}

/// The file of secret `name`, and whether it is declared yet.
fn secret_file(desired: &Desired, name: &str) -> Result<(String, bool), Failure> {
    match desired.secrets.get(name) {
        Some(FileSource::File {
            path,
            encrypted: true,
        }) => Ok((path.clone(), true)),
        Some(FileSource::File { path, .. }) => Err((
            format!("secret `{name}` is the plain file `{path}`"),
            Some(format!(
                "declare it as `{path}.age` (or another .age path) and run this again; then remove `{path}`"
            )),
        )),
        Some(FileSource::Sops { path, .. }) => Err((
            format!("secret `{name}` is a value of the SOPS file `{path}`"),
            Some("change it with `sops`".into()),
        )),
        Some(FileSource::Content { .. }) | None => Ok((format!("secrets/{name}.age"), false)),
    }
}

fn recipients(desired: &Desired) -> Result<&[String], Failure> {
    if desired.secrets_recipients.is_empty() {
        return Err((
            "fleet.yaml lists no `secrets_recipients` to encrypt to".into(),
            Some("run `fleet secret init` and add the recipient it prints, and those of the machines that deploy (CI, the daemon)".into()),
        ));
    }
    Ok(&desired.secrets_recipients)
}

fn encrypt_into(root: &Path, path: &str, value: &[u8], to: &[String]) -> Result<(), Failure> {
    let bytes = secrets::encrypt(value, to, true).map_err(|e| (e.to_string(), None))?;
    let full = root.join(path);
    if let Some(parent) = full.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| (format!("cannot create {}: {e}", parent.display()), None))?;
    }
    std::fs::write(&full, bytes)
        .map_err(|e| (format!("cannot write {}: {e}", full.display()), None))
}

fn set(
    root: &Path,
    desired: &Desired,
    name: &str,
    file: Option<&Path>,
    printer: &Printer,
) -> Result<(), Failure> {
    let to = recipients(desired)?;
    let (path, declared) = secret_file(desired, name)?;
    let value = match file {
        Some(f) => {
            std::fs::read(f).map_err(|e| (format!("cannot read {}: {e}", f.display()), None))?
        }
        None if std::io::stdin().is_terminal() => {
            rpassword::prompt_password(format!("Value of {name}: "))
                .map_err(|e| (format!("cannot read the value: {e}"), None))?
                .into_bytes()
        }
        None => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| (format!("cannot read the value: {e}"), None))?;
            buf
        }
    };
    encrypt_into(root, &path, &value, to)?;
    printer.info(&format!(
        "Encrypted `{name}` to {} recipient(s) in {path}; commit it.",
        to.len()
    ));
    if !declared {
        printer.info(&format!(
            "Declare it in fleet.yaml and mount it in a service:\n  secrets:\n    {name}: {{ file: {path} }}"
        ));
    }
    Ok(())
}

fn decrypt_file(root: &Path, path: &str) -> Result<Vec<u8>, Failure> {
    let full = root.join(path);
    let bytes =
        std::fs::read(&full).map_err(|e| (format!("cannot read {}: {e}", full.display()), None))?;
    let identities = Identities::load(&|n| std::env::var(n).ok(), dirs::home_dir().as_deref())
        .map_err(|e| (e.to_string(), e.hint()))?;
    secrets::decrypt(&bytes, &identities).map_err(|e| (format!("{path}: {e}"), e.hint()))
}

fn edit(root: &Path, desired: &Desired, name: &str, printer: &Printer) -> Result<(), Failure> {
    let to = recipients(desired)?;
    let (path, _) = secret_file(desired, name)?;
    let old = if root.join(&path).exists() {
        decrypt_file(root, &path)?
    } else {
        Vec::new()
    };
    let dir = private_dir().map_err(|e| (format!("cannot make a private directory: {e}"), None))?;
    let scratch = dir.join(name);
    super::write_private(&scratch, &old)
        .map_err(|e| (format!("cannot write the temporary file: {e}"), None))?;
    let editor = ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|e| !e.trim().is_empty())
        .unwrap_or_else(|| "vi".into());
    let words = shlex::split(&editor)
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| vec![editor.clone()]);
    let status = std::process::Command::new(&words[0])
        .args(&words[1..])
        .arg(&scratch)
        .status();
    let new = std::fs::read(&scratch);
    shred(&scratch);
    let _ = std::fs::remove_dir(&dir);
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => {
            return Err((
                format!("the editor `{editor}` ended with {s}; nothing changed"),
                None,
            ));
        }
        Err(e) => {
            return Err((
                format!("cannot run the editor `{editor}`: {e}"),
                Some("set EDITOR".into()),
            ));
        }
    }
    let new = new.map_err(|e| (format!("cannot read the edited value: {e}"), None))?;
    if new == old {
        printer.info(&format!("`{name}` is unchanged."));
        return Ok(());
    }
    encrypt_into(root, &path, &new, to)?;
    printer.info(&format!("Encrypted the new `{name}` in {path}; commit it."));
    Ok(())
}

/// A new directory only its owner can enter, in memory when the machine has /dev/shm.
fn private_dir() -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let base = Path::new("/dev/shm");
    let base = if base.is_dir() {
        base.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let dir = base.join(format!("fleet-secret-{}-{nanos}", std::process::id()));
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    Ok(dir)
}

/// Overwrites a file with zeros, then removes it.
fn shred(path: &Path) {
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::write(path, vec![0u8; meta.len() as usize]);
    }
    let _ = std::fs::remove_file(path);
}

fn rotate(root: &Path, desired: &Desired, printer: &Printer) -> Result<(), Failure> {
    let to = recipients(desired)?;
    let mut done = 0;
    for source in desired.secrets.values() {
        if let FileSource::File {
            path,
            encrypted: true,
        } = source
        {
            let value = decrypt_file(root, path)?;
            encrypt_into(root, path, &value, to)?;
            done += 1;
        }
    }
    printer.info(&format!(
        "Encrypted {done} secret(s) again to {} recipient(s); commit them (the services that mount them roll on the next apply).",
        to.len()
    ));
    Ok(())
}

#[derive(Serialize)]
struct Listed {
    name: String,
    file: Option<String>,
    encrypted: bool,
    recipients: Vec<String>,
    services: Vec<String>,
}

fn ls(root: &Path, desired: &Desired, json: bool) {
    let mut rows = Vec::new();
    for (name, source) in &desired.secrets {
        let (file, encrypted) = match source {
            FileSource::File { path, encrypted } => (Some(path.clone()), *encrypted),
            FileSource::Sops { path, .. } => (Some(path.clone()), true),
            FileSource::Content { .. } => (None, false),
        };
        let recipients = match (&file, encrypted) {
            (Some(path), true) => std::fs::read(root.join(path))
                .map(|b| secrets::recipients_of(&b))
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let services = desired
            .services
            .iter()
            .filter(|(_, s)| s.secrets.iter().any(|m| m.source == *name))
            .map(|(n, _)| n.clone())
            .collect();
        rows.push(Listed {
            name: name.clone(),
            file,
            encrypted,
            recipients,
            services,
        });
    }
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        );
        return;
    }
    if rows.is_empty() {
        outln!("No secrets are declared.");
        return;
    }
    for row in rows {
        let to = if row.encrypted {
            format!("encrypted to {}", row.recipients.join(", "))
        } else {
            "NOT ENCRYPTED".to_string()
        };
        let used = if row.services.is_empty() {
            "not mounted".to_string()
        } else {
            format!("mounted by {}", row.services.join(", "))
        };
        outln!(
            "{}  {}  {to}  {used}",
            row.name,
            row.file.as_deref().unwrap_or("-")
        );
    }
}

/// The files of the working tree, where a missing age file reads as an empty one and the CA
/// certificate as present.
struct Unwritten<'a>(&'a dyn crate::spec::Files);

impl Unwritten<'_> {
    fn stands_in(path: &str) -> Option<&'static [u8]> {
        if path.ends_with(".age") {
            Some(b"age-encryption.org/v1\n")
        } else if path == CA_CERTIFICATE {
            Some(b"")
        } else {
            None
        }
    }
}

impl crate::spec::Files for Unwritten<'_> {
    fn read(&self, path: &str) -> std::io::Result<Option<Vec<u8>>> {
        match self.0.read(path)? {
            None => Ok(Self::stands_in(path).map(<[u8]>::to_vec)),
            found => Ok(found),
        }
    }

    fn exists(&self, path: &str) -> std::io::Result<bool> {
        Ok(Self::stands_in(path).is_some() || self.0.exists(path)?)
    }

    fn list(&self, path: &str) -> std::io::Result<Vec<String>> {
        self.0.list(path)
    }
}

fn ca_init_run(
    root: &Path,
    desired: &Desired,
    force: bool,
    printer: &Printer,
) -> Result<(), Failure> {
    let to = recipients(desired)?;
    let (cert_path, key_path) = (root.join(CA_CERTIFICATE), root.join(CA_KEY));
    if !force && (cert_path.exists() || key_path.exists()) {
        return Err((
            format!("the project CA exists already ({CA_CERTIFICATE}, {CA_KEY})"),
            Some(
                "`fleet secret ca cert` prints it; `--force` replaces it, and every client must then trust the new one"
                    .into(),
            ),
        ));
    }
    let name = format!("fleet CA for {}", desired.project);
    let (cert, key) = crate::tls::new_ca(&name, crate::clock::unix_now())
        .map_err(|e| (format!("cannot make the CA: {e}"), None))?;
    encrypt_into(root, CA_KEY, key.as_bytes(), to)?;
    std::fs::write(&cert_path, cert.as_bytes())
        .map_err(|e| (format!("cannot write {}: {e}", cert_path.display()), None))?;
    printer.info(&format!(
        "Made the project CA `{name}`: {CA_CERTIFICATE} (public) and {CA_KEY} (encrypted to {} recipient(s)); commit both.\n\
         Services with `tls: internal` get certificates from it; clients trust it with the output of `fleet secret ca cert`.",
        to.len()
    ));
    Ok(())
}

/// Prints the CA certificate on stdout, and what it is on stderr.
fn ca_cert(global: &GlobalOptions, printer: &Printer) -> ExitCode {
    let path = global.dir.join(CA_CERTIFICATE);
    let pem = match std::fs::read(&path) {
        Ok(pem) => pem,
        Err(e) => {
            printer.fail(
                &format!("cannot read {}: {e}", path.display()),
                Some("make the project CA with `fleet secret ca init`"),
            );
            return ExitCode::Failure;
        }
    };
    match crate::tls::inspect_certificate(&pem)
        .and_then(|info| crate::tls::certificates_only(&pem).map(|text| (info, text)))
    {
        Ok((info, text)) => {
            // The certificates only: never whatever else the file might hold.
            out!("{text}");
            printer.info(&format!(
                "{}, valid until {}, SHA-256 {}",
                info.subject,
                crate::clock::rfc3339(u64::try_from(info.not_after).unwrap_or_default()),
                info.sha256
            ));
            ExitCode::Success
        }
        Err(e) => {
            printer.fail(&format!("{}: {e}", path.display()), None);
            ExitCode::Failure
        }
    }
}
