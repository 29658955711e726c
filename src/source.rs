//! The git edge: finds the project's files at one commit (or in the working tree) and hands them
//! to the loader through [`Files`].
//!
//! Only this module talks to git2. It never checks anything out and never writes to the user's
//! repository; remote URLs are mirrored into fleet's own cache directory.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use git2::{ObjectType, Oid, Repository, Status, StatusOptions};
use serde::Serialize;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::spec::Files;

/// Where to read the desired state from, as the user asked on the command line.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// The project directory (`-C`), or the directory relative paths start from.
    pub dir: PathBuf,
    /// `--repo`: a path to a repository (bare or not) or a remote URL.
    pub repo: Option<String>,
    /// `--ref`: any revision git understands; `HEAD` when absent.
    pub rev: Option<String>,
    /// `--worktree`: read files on disk, uncommitted changes included.
    pub worktree: bool,
}

/// What was read: a commit, or a working tree (and the commit it sits on, if any).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Revision {
    /// `commit` or `worktree`.
    pub kind: RevisionKind,
    /// Full commit id; for a working tree, the commit HEAD points to.
    pub commit: Option<String>,
    pub subject: Option<String>,
    /// The revision as asked for (`HEAD`, `main`, `v1.2`), when reading a commit.
    pub rev: Option<String>,
    /// The project directory inside the repository (`.` for its root).
    pub path: String,
    /// Where the repository is: a local path or the remote URL.
    pub repository: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RevisionKind {
    Commit,
    Worktree,
}

/// How many hex digits of a commit id people are shown, in every command's human output and
/// logs (one length everywhere, so ids can be compared and searched for across outputs).
pub const SHORT_COMMIT: usize = 12;

/// The first [`SHORT_COMMIT`] characters of a commit id.
pub fn short_commit(id: &str) -> &str {
    id.get(..SHORT_COMMIT).unwrap_or(id)
}

impl Revision {
    pub fn short_id(&self) -> Option<&str> {
        self.commit.as_deref().map(short_commit)
    }

    /// One line saying what was read, e.g. `commit 1a2b3c4d5e6f "Scale web to 4" (HEAD)`.
    pub fn describe(&self) -> String {
        let commit = match (self.short_id(), &self.subject) {
            (Some(id), Some(subject)) => format!("{id} \"{subject}\""),
            (Some(id), None) => id.to_string(),
            _ => String::new(),
        };
        let place = if self.path == "." {
            String::new()
        } else {
            format!(" in {}", self.path)
        };
        match self.kind {
            RevisionKind::Commit => {
                let rev = self.rev.as_deref().unwrap_or("HEAD");
                format!("commit {commit} ({rev}){place}")
            }
            RevisionKind::Worktree if self.repository.is_none() => {
                format!("working tree{place} (not a git repository)")
            }
            RevisionKind::Worktree if commit.is_empty() => {
                format!("working tree{place} (no commits yet)")
            }
            RevisionKind::Worktree => {
                format!("working tree{place}, uncommitted changes included (HEAD is {commit})")
            }
        }
    }
}

#[derive(Debug, Error)]
pub enum SourceError {
    #[error("`{dir}` is not inside a git repository")]
    NotARepository { dir: PathBuf },
    #[error("cannot open the git repository at `{path}`")]
    Open {
        path: String,
        #[source]
        source: git2::Error,
    },
    #[error("the repository at `{path}` has no commits yet")]
    NoCommits { path: String },
    /// No branch, tag or commit by that name (git's own message would only repeat it).
    #[error("revision `{rev}` was not found: no branch, tag or commit has that name")]
    RevisionNotFound { rev: String },
    /// The name exists but is not a commit (a tree, a blob), or git failed otherwise.
    #[error("revision `{rev}` cannot be read as a commit")]
    RevisionUnreadable {
        rev: String,
        #[source]
        source: git2::Error,
    },
    #[error("`{dir}` is not in the repository at commit {commit}")]
    DirectoryMissing { dir: String, commit: String },
    #[error("cannot fetch `{url}` into the cache at `{cache}`")]
    Fetch {
        url: String,
        cache: PathBuf,
        #[source]
        source: git2::Error,
    },
    #[error("--worktree needs a repository with a working tree, but `{path}` is bare")]
    BareWorktree { path: String },
    #[error("no cache directory is known for this user")]
    NoCacheDir,
    #[error("cannot read git data")]
    Git(#[from] git2::Error),
    #[error("cannot access `{path}`")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl SourceError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            SourceError::NotARepository { .. } => Some(
                "fleet reads the desired state from a commit: run `git init && git add -A && git commit`, or pass --worktree to read the files as they are".into(),
            ),
            SourceError::NoCommits { .. } => Some("commit fleet.yaml first, or pass --worktree to read uncommitted files".into()),
            SourceError::RevisionNotFound { .. } | SourceError::RevisionUnreadable { .. } => Some(
                "use a branch, tag or commit id that exists: `git branch -a` lists branches, `git tag` tags, `git log --oneline` commits".into(),
            ),
            SourceError::DirectoryMissing { .. } => Some("commit the project directory, or pass --worktree".into()),
            SourceError::Fetch { .. } => Some("check the URL and your git credentials (ssh-agent, or a git credential helper for https)".into()),
            SourceError::BareWorktree { .. } => Some("drop --worktree to read a commit".into()),
            _ => None,
        }
    }
}

/// The project's files at the requested revision.
pub struct Snapshot {
    pub revision: Revision,
    /// Paths under the project that differ from the commit read (tracked changes and new
    /// files), so the CLI can say that uncommitted edits were not read.
    pub uncommitted: Vec<String>,
    files: Box<dyn Files>,
}

impl Snapshot {
    pub fn files(&self) -> &dyn Files {
        self.files.as_ref()
    }
}

/// A remote URL rather than a local path: `scheme://…` or scp-like `user@host:path`.
fn is_url(repo: &str) -> bool {
    if repo.contains("://") {
        return true;
    }
    match repo.split_once(':') {
        Some((before, _)) => before.contains('@') && !before.contains('/'),
        None => false,
    }
}

pub fn open(request: &Request) -> Result<Snapshot, SourceError> {
    match &request.repo {
        Some(repo) if is_url(repo) => {
            let (repository, cache) = mirror(repo)?;
            let mut snapshot = read_commit(&repository, "", request.rev.as_deref())?;
            snapshot.revision.repository = Some(repo.clone());
            let _ = cache;
            Ok(snapshot)
        }
        Some(repo) => {
            let path = request.dir.join(repo);
            let repository = Repository::open(&path).map_err(|source| SourceError::Open {
                path: path.display().to_string(),
                source,
            })?;
            let mut snapshot = if request.worktree {
                let workdir = repository
                    .workdir()
                    .ok_or_else(|| SourceError::BareWorktree {
                        path: path.display().to_string(),
                    })?
                    .to_path_buf();
                read_worktree(Some(&repository), &workdir, "")?
            } else {
                read_commit(&repository, "", request.rev.as_deref())?
            };
            snapshot.revision.repository = Some(path.display().to_string());
            Ok(snapshot)
        }
        None => {
            let dir = request
                .dir
                .canonicalize()
                .map_err(|source| SourceError::Io {
                    path: request.dir.clone(),
                    source,
                })?;
            let repository = match Repository::discover(&dir) {
                Ok(r) => Some(r),
                Err(_) if request.worktree => None,
                Err(_) => {
                    return Err(SourceError::NotARepository {
                        dir: request.dir.clone(),
                    });
                }
            };
            let prefix = match repository.as_ref().and_then(Repository::workdir) {
                Some(workdir) => relative_prefix(
                    &workdir.canonicalize().unwrap_or(workdir.to_path_buf()),
                    &dir,
                ),
                None => String::new(),
            };
            match repository {
                Some(repository) if !request.worktree => {
                    let mut snapshot = read_commit(&repository, &prefix, request.rev.as_deref())?;
                    snapshot.revision.repository = Some(repository.path().display().to_string());
                    // Only when reading HEAD is "uncommitted" meaningful to point out.
                    if request.rev.is_none() {
                        snapshot.uncommitted = uncommitted(&repository, &prefix);
                    }
                    Ok(snapshot)
                }
                repository => {
                    let mut snapshot = read_worktree(repository.as_ref(), &dir, &prefix)?;
                    snapshot.revision.repository =
                        repository.map(|r| r.path().display().to_string());
                    Ok(snapshot)
                }
            }
        }
    }
}

fn relative_prefix(workdir: &Path, dir: &Path) -> String {
    dir.strip_prefix(workdir)
        .ok()
        .map(|p| {
            p.components()
                .filter_map(|c| match c {
                    Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("/")
        })
        .unwrap_or_default()
}

fn display_prefix(prefix: &str) -> String {
    if prefix.is_empty() {
        ".".into()
    } else {
        prefix.to_string()
    }
}

fn head_commit(repository: &Repository) -> Option<(String, Option<String>)> {
    let commit = repository.head().ok()?.peel_to_commit().ok()?;
    Some((
        commit.id().to_string(),
        commit
            .summary_bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned()),
    ))
}

fn read_commit(
    repository: &Repository,
    prefix: &str,
    rev: Option<&str>,
) -> Result<Snapshot, SourceError> {
    let path = repository.path().display().to_string();
    let asked = rev.unwrap_or("HEAD");
    let object = match repository.revparse_single(asked) {
        Ok(o) => o,
        Err(_) if rev.is_none() && repository.head().is_err() => {
            return Err(SourceError::NoCommits { path });
        }
        Err(source)
            if matches!(
                source.code(),
                git2::ErrorCode::NotFound | git2::ErrorCode::InvalidSpec
            ) =>
        {
            return Err(SourceError::RevisionNotFound {
                rev: asked.to_string(),
            });
        }
        Err(source) => {
            return Err(SourceError::RevisionUnreadable {
                rev: asked.to_string(),
                source,
            });
        }
    };
    let commit = object
        .peel_to_commit()
        .map_err(|source| SourceError::RevisionUnreadable {
            rev: asked.to_string(),
            source,
        })?;
    let mut tree = commit.tree()?;
    if !prefix.is_empty() {
        let entry =
            tree.get_path(Path::new(prefix))
                .map_err(|_| SourceError::DirectoryMissing {
                    dir: prefix.to_string(),
                    commit: commit.id().to_string(),
                })?;
        tree = entry.to_object(repository)?.peel_to_tree()?;
    }
    let revision = Revision {
        kind: RevisionKind::Commit,
        commit: Some(commit.id().to_string()),
        subject: commit
            .summary_bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned()),
        rev: Some(asked.to_string()),
        path: display_prefix(prefix),
        repository: None,
    };
    let files = CommitFiles {
        repository: Repository::open(repository.path())?,
        tree: tree.id(),
    };
    Ok(Snapshot {
        revision,
        uncommitted: Vec::new(),
        files: Box::new(files),
    })
}

fn read_worktree(
    repository: Option<&Repository>,
    dir: &Path,
    prefix: &str,
) -> Result<Snapshot, SourceError> {
    let head = repository.and_then(head_commit);
    let root = dir.canonicalize().map_err(|source| SourceError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    Ok(Snapshot {
        revision: Revision {
            kind: RevisionKind::Worktree,
            commit: head.as_ref().map(|h| h.0.clone()),
            subject: head.and_then(|h| h.1),
            rev: None,
            path: display_prefix(prefix),
            repository: None,
        },
        uncommitted: Vec::new(),
        files: Box::new(WorktreeFiles { root }),
    })
}

/// Paths under `prefix` with changes not in HEAD (ignored files excluded).
fn uncommitted(repository: &Repository, prefix: &str) -> Vec<String> {
    let mut options = StatusOptions::new();
    options
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false);
    if !prefix.is_empty() {
        options.pathspec(prefix);
    }
    let Ok(statuses) = repository.statuses(Some(&mut options)) else {
        return Vec::new();
    };
    statuses
        .iter()
        .filter(|s| s.status() != Status::CURRENT && !s.status().contains(Status::IGNORED))
        .filter_map(|s| s.path().ok().map(str::to_string))
        .map(
            |p| match p.strip_prefix(prefix).map(|r| r.trim_start_matches('/')) {
                Some(rel) if !prefix.is_empty() => rel.to_string(),
                _ => p,
            },
        )
        .collect()
}

/// Files of one tree of one commit.
struct CommitFiles {
    repository: Repository,
    tree: Oid,
}

impl CommitFiles {
    fn entry(&self, path: &str) -> io::Result<Option<(ObjectType, Oid, i32)>> {
        let tree = self
            .repository
            .find_tree(self.tree)
            .map_err(io::Error::other)?;
        match tree.get_path(Path::new(path)) {
            Ok(entry) => Ok(Some((
                entry.kind().unwrap_or(ObjectType::Any),
                entry.id(),
                entry.filemode(),
            ))),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(io::Error::other(e)),
        }
    }
}

const SYMLINK_MODE: i32 = 0o120000;

fn symlink_refused(path: &str) -> io::Error {
    io::Error::other(format!(
        "`{path}` is a symbolic link; fleet does not follow links in the repository"
    ))
}

impl Files for CommitFiles {
    fn read(&self, path: &str) -> io::Result<Option<Vec<u8>>> {
        match self.entry(path)? {
            Some((_, _, mode)) if mode == SYMLINK_MODE => Err(symlink_refused(path)),
            Some((ObjectType::Blob, id, _)) => {
                let blob = self.repository.find_blob(id).map_err(io::Error::other)?;
                Ok(Some(blob.content().to_vec()))
            }
            Some(_) => Err(io::Error::other(format!("`{path}` is a directory"))),
            None => Ok(None),
        }
    }

    fn exists(&self, path: &str) -> io::Result<bool> {
        match self.entry(path)? {
            Some((_, _, mode)) if mode == SYMLINK_MODE => Err(symlink_refused(path)),
            Some(_) => Ok(true),
            None => Ok(false),
        }
    }

    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        let Some((ObjectType::Tree, id, _)) = self.entry(dir)? else {
            return Ok(Vec::new());
        };
        let tree = self.repository.find_tree(id).map_err(io::Error::other)?;
        let mut out = Vec::new();
        let mut refused = None;
        tree.walk(git2::TreeWalkMode::PreOrder, |parent, entry| {
            let name = format!("{parent}{}", entry.name().unwrap_or(""));
            if entry.filemode() == SYMLINK_MODE {
                refused = Some(symlink_refused(&format!("{dir}/{name}")));
                return git2::TreeWalkResult::Abort;
            }
            if entry.kind() == Some(ObjectType::Blob) {
                out.push(name);
            }
            git2::TreeWalkResult::Ok
        })
        .map_err(io::Error::other)
        .or_else(|e| if refused.is_some() { Ok(()) } else { Err(e) })?;
        match refused {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }
}

/// Files on disk under a root, never following a link out of it.
struct WorktreeFiles {
    root: PathBuf,
}

impl WorktreeFiles {
    fn resolve(&self, path: &str) -> io::Result<Option<PathBuf>> {
        let full = self.root.join(path);
        match full.canonicalize() {
            Ok(real) if real.starts_with(&self.root) => Ok(Some(real)),
            Ok(_) => Err(io::Error::other(format!(
                "`{path}` links outside the project directory"
            ))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Files for WorktreeFiles {
    fn read(&self, path: &str) -> io::Result<Option<Vec<u8>>> {
        match self.resolve(path)? {
            Some(real) if real.is_dir() => {
                Err(io::Error::other(format!("`{path}` is a directory")))
            }
            Some(real) => fs::read(real).map(Some),
            None => Ok(None),
        }
    }

    fn exists(&self, path: &str) -> io::Result<bool> {
        Ok(self.resolve(path)?.is_some())
    }

    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        fn walk(base: &Path, at: &Path, out: &mut Vec<String>) -> io::Result<()> {
            let mut entries: Vec<_> = fs::read_dir(at)?.collect::<Result<_, _>>()?;
            entries.sort_by_key(|e| e.file_name());
            for entry in entries {
                let path = entry.path();
                let kind = entry.file_type()?;
                if kind.is_symlink() {
                    return Err(io::Error::other(format!(
                        "`{}` is a symbolic link; fleet does not follow links in the repository",
                        path.display()
                    )));
                }
                if kind.is_dir() {
                    if entry.file_name() != ".git" {
                        walk(base, &path, out)?;
                    }
                } else if let Ok(rel) = path.strip_prefix(base) {
                    out.push(rel.to_string_lossy().into_owned());
                }
            }
            Ok(())
        }
        let mut out = Vec::new();
        if let Some(real) = self.resolve(dir)?.filter(|r| r.is_dir()) {
            walk(&real, &real, &mut out)?;
        }
        Ok(out)
    }
}

/// Where the mirror of a remote lives: one bare repository per URL under the user's cache.
fn cache_path(url: &str) -> Result<PathBuf, SourceError> {
    let base = match std::env::var_os("FLEET_CACHE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => dirs::cache_dir()
            .ok_or(SourceError::NoCacheDir)?
            .join("fleet"),
    };
    let digest = Sha256::digest(url.as_bytes());
    let name: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    Ok(base.join("repos").join(format!("{name}.git")))
}

/// Clones (first time) or fetches (afterwards) every branch and tag of `url` into a bare mirror.
fn mirror(url: &str) -> Result<(Repository, PathBuf), SourceError> {
    let cache = cache_path(url)?;
    let fetch_error = |source| SourceError::Fetch {
        url: url.to_string(),
        cache: cache.clone(),
        source,
    };
    let repository = match Repository::open_bare(&cache) {
        Ok(r) => r,
        Err(_) => {
            fs::create_dir_all(&cache).map_err(|source| SourceError::Io {
                path: cache.clone(),
                source,
            })?;
            Repository::init_bare(&cache).map_err(fetch_error)?
        }
    };
    let mut remote = repository.remote_anonymous(url).map_err(fetch_error)?;
    let mut callbacks = git2::RemoteCallbacks::new();
    let mut tried_agent = false;
    callbacks.credentials(move |url, username, allowed| {
        if allowed.contains(git2::CredentialType::SSH_KEY) && !tried_agent {
            tried_agent = true;
            return git2::Cred::ssh_key_from_agent(username.unwrap_or("git"));
        }
        if allowed.contains(git2::CredentialType::USER_PASS_PLAINTEXT) {
            if let Ok(config) = git2::Config::open_default() {
                return git2::Cred::credential_helper(&config, url, username);
            }
        }
        if allowed.contains(git2::CredentialType::DEFAULT) {
            return git2::Cred::default();
        }
        Err(git2::Error::from_str(
            "no usable credentials (tried ssh-agent and git credential helpers)",
        ))
    });
    let mut options = git2::FetchOptions::new();
    options.remote_callbacks(callbacks);
    options.download_tags(git2::AutotagOption::All);
    remote
        .fetch(
            &["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"],
            Some(&mut options),
            None,
        )
        .map_err(fetch_error)?;
    if let Ok(default) = remote.default_branch() {
        if let Ok(name) = default.as_str() {
            repository.set_head(name).map_err(fetch_error)?;
        }
    }
    drop(remote);
    Ok((repository, cache))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_told_from_paths() {
        assert!(is_url("https://example.com/org/repo.git"));
        assert!(is_url("ssh://git@example.com/org/repo.git"));
        assert!(is_url("git@example.com:org/repo.git"));
        assert!(is_url("file:///srv/repo.git"));
        assert!(!is_url("../repo.git"));
        assert!(!is_url("/srv/repo.git"));
        assert!(!is_url("C:/repo"));
    }

    #[test]
    fn one_cache_directory_per_url() {
        let a = cache_path("https://example.com/a.git").unwrap();
        let b = cache_path("https://example.com/b.git").unwrap();
        assert_ne!(a, b);
        assert_eq!(a, cache_path("https://example.com/a.git").unwrap());
    }
}
