//! The SFTP exporter (feature `sftp`): russh for SSH, russh-sftp for the
//! file protocol.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use russh::keys::PublicKey;
use secrecy::{ExposeSecret as _, SecretString};

use super::{ExportError, Exporter, check_path};
use crate::artifacts::Body;

/// How the exporter logs in. `Debug` never shows the secret.
#[derive(Clone)]
#[non_exhaustive]
pub enum SftpAuth {
    /// A password.
    Password(SecretString),
    /// A private key in OpenSSH or PEM form, with its passphrase if it
    /// has one.
    Key {
        /// The key text.
        key: SecretString,
        /// Its passphrase.
        passphrase: Option<SecretString>,
    },
}

impl fmt::Debug for SftpAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Password(_) => "Password(<redacted>)",
            Self::Key { .. } => "Key(<redacted>)",
        })
    }
}

/// Writes files to an SFTP server under a folder path (CCAI's SFTP
/// storage settings: host, port, user, password or key, folder). The
/// server's host key is pinned: a server presenting another key is
/// refused before any credential is sent.
///
/// Each file is written as `{name}.part` and renamed over the final
/// name (removing an older file first, since SFTP's rename does not
/// replace), so a reader never sees half a file. Missing folders are
/// created. One SSH connection per delivery: simple and robust; a busy
/// deployment can wrap several exporters.
///
/// # Examples
///
/// ```no_run
/// use cti_media::export::{SftpAuth, SftpExporter};
/// let exporter = SftpExporter::new(
///     "sftp.example.com", 22, "ccai",
///     SftpAuth::Password("s3cret".into()),
///     "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
/// )?
/// .folder("/exports/acme");
/// # Ok::<(), cti_media::export::ExportError>(())
/// ```
#[derive(Clone)]
pub struct SftpExporter {
    host: String,
    port: u16,
    user: String,
    auth: SftpAuth,
    host_key: PublicKey,
    folder: String,
    timeout: Duration,
}

impl fmt::Debug for SftpExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SftpExporter")
            .field("target", &self.describe())
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl SftpExporter {
    /// An exporter to `user@host:port`, trusting only the server key
    /// `host_key` (an OpenSSH public key line, as in `known_hosts` or a
    /// `.pub` file).
    ///
    /// # Errors
    ///
    /// [`ExportError::Target`] when `host_key` is not a public key.
    pub fn new(
        host: impl Into<String>,
        port: u16,
        user: impl Into<String>,
        auth: SftpAuth,
        host_key: &str,
    ) -> Result<Self, ExportError> {
        let host = host.into();
        // A known_hosts line starts with the host names: keep the key.
        let key_text = host_key
            .split_whitespace()
            .skip_while(|w| !w.starts_with("ssh-") && !w.starts_with("ecdsa-"))
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        let host_key = PublicKey::from_openssh(&key_text).map_err(|e| ExportError::Target {
            target: host.clone(),
            why: format!("the pinned host key is not an OpenSSH public key: {e}"),
        })?;
        Ok(Self {
            host,
            port,
            user: user.into(),
            auth,
            host_key,
            folder: String::new(),
            timeout: Duration::from_secs(30),
        })
    }

    /// Files go under `folder` (absolute, or relative to the login
    /// directory); `..` segments are refused when delivering.
    #[must_use]
    pub fn folder(mut self, folder: impl Into<String>) -> Self {
        self.folder = folder.into();
        self
    }

    /// How long connecting and each file may take (30 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn fail(&self, why: impl fmt::Display) -> ExportError {
        ExportError::Target {
            target: self.describe(),
            why: why.to_string(),
        }
    }

    fn full_path(&self, path: &str) -> Result<String, ExportError> {
        let folder = self.folder.trim_end_matches('/');
        let inner = folder.trim_start_matches('/');
        if !inner.is_empty() {
            check_path(inner)?;
        }
        Ok(if folder.is_empty() {
            path.to_owned()
        } else {
            format!("{folder}/{path}")
        })
    }

    async fn deliver(&self, full: &str, body: &Body) -> Result<(), ExportError> {
        use tokio::io::AsyncWriteExt as _;

        let config = Arc::new(russh::client::Config::default());
        let handler = Pinned {
            key: self.host_key.clone(),
        };
        let mut session = russh::client::connect(config, (self.host.as_str(), self.port), handler)
            .await
            .map_err(|e| self.fail(format_args!("connect: {e}")))?;
        let auth = match &self.auth {
            SftpAuth::Password(p) => session
                .authenticate_password(&self.user, p.expose_secret())
                .await
                .map_err(|e| self.fail(format_args!("login: {e}")))?,
            SftpAuth::Key { key, passphrase } => {
                let key = russh::keys::decode_secret_key(
                    key.expose_secret(),
                    passphrase.as_ref().map(|p| p.expose_secret()),
                )
                .map_err(|e| self.fail(format_args!("the private key: {e}")))?;
                let hash = session
                    .best_supported_rsa_hash()
                    .await
                    .map_err(|e| self.fail(format_args!("login: {e}")))?
                    .flatten();
                session
                    .authenticate_publickey(
                        &self.user,
                        russh::keys::PrivateKeyWithHashAlg::new(Arc::new(key), hash),
                    )
                    .await
                    .map_err(|e| self.fail(format_args!("login: {e}")))?
            }
        };
        if !auth.success() {
            return Err(self.fail(format_args!(
                "the server refused the login of `{}`",
                self.user
            )));
        }
        let channel = session
            .channel_open_session()
            .await
            .map_err(|e| self.fail(format_args!("channel: {e}")))?;
        channel
            .request_subsystem(true, "sftp")
            .await
            .map_err(|e| self.fail(format_args!("sftp subsystem: {e}")))?;
        let sftp = russh_sftp::client::SftpSession::new(channel.into_stream())
            .await
            .map_err(|e| self.fail(format_args!("sftp: {e}")))?;

        // Folders, one level at a time.
        let mut dir = String::new();
        let parents: Vec<&str> = full.split('/').collect();
        for (i, part) in parents
            .iter()
            .enumerate()
            .take(parents.len().saturating_sub(1))
        {
            if i == 0 && part.is_empty() {
                dir.push('/');
                continue;
            }
            if !dir.is_empty() && !dir.ends_with('/') {
                dir.push('/');
            }
            dir.push_str(part);
            if !sftp.try_exists(dir.as_str()).await.unwrap_or(false) {
                // Another delivery may create it at the same time.
                if let Err(e) = sftp.create_dir(dir.as_str()).await
                    && !sftp.try_exists(dir.as_str()).await.unwrap_or(false)
                {
                    return Err(self.fail(format_args!("mkdir {dir}: {e}")));
                }
            }
        }

        let part = format!("{full}.part");
        let mut file = sftp
            .create(part.as_str())
            .await
            .map_err(|e| self.fail(format_args!("create {part}: {e}")))?;
        match body {
            Body::Bytes(b) => file
                .write_all(b)
                .await
                .map_err(|e| self.fail(format_args!("write {part}: {e}")))?,
            Body::File(path) => {
                let mut source =
                    tokio::fs::File::open(path)
                        .await
                        .map_err(|e| ExportError::Source {
                            path: path.display().to_string(),
                            source: e,
                        })?;
                tokio::io::copy(&mut source, &mut file)
                    .await
                    .map_err(|e| self.fail(format_args!("write {part}: {e}")))?;
            }
        }
        file.shutdown()
            .await
            .map_err(|e| self.fail(format_args!("close {part}: {e}")))?;
        if sftp.try_exists(full).await.unwrap_or(false) {
            sftp.remove_file(full)
                .await
                .map_err(|e| self.fail(format_args!("replace {full}: {e}")))?;
        }
        sftp.rename(part.as_str(), full)
            .await
            .map_err(|e| self.fail(format_args!("rename {part}: {e}")))?;
        let _ = sftp.close().await;
        let _ = session
            .disconnect(russh::Disconnect::ByApplication, "", "en")
            .await;
        Ok(())
    }
}

impl Exporter for SftpExporter {
    fn put<'a>(&'a self, path: &'a str, body: &'a Body) -> BoxFuture<'a, Result<(), ExportError>> {
        Box::pin(async move {
            check_path(path)?;
            let full = self.full_path(path)?;
            tokio::time::timeout(self.timeout, self.deliver(&full, body))
                .await
                .map_err(|_| self.fail(format_args!("timed out after {:?}", self.timeout)))?
        })
    }

    fn describe(&self) -> String {
        format!(
            "sftp://{}@{}:{}/{}",
            self.user,
            self.host,
            self.port,
            self.folder.trim_start_matches('/')
        )
    }
}

/// Accepts only the pinned server key.
struct Pinned {
    key: PublicKey,
}

impl russh::client::Handler for Pinned {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(match server {
            russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } => {
                key.key_data() == self.key.key_data()
            }
            _ => false,
        })
    }
}
