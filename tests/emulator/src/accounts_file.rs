//! The binary's account file (`--accounts FILE`), JSON or TOML (by extension: `.toml` is TOML,
//! anything else JSON). See the README for the format.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::activity::{synthetic_activities, Activity, FitSummaryError};
use crate::config::Account;
use crate::fixtures::sample_activities;

#[derive(Debug, Error)]
pub enum AccountsFileError {
    #[error("cannot read account file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("account file {path} is not valid {format}: {message}")]
    Parse {
        path: PathBuf,
        format: &'static str,
        message: String,
    },
    #[error("account {email}: FIT file {path}: {source}")]
    BadFit {
        email: String,
        path: PathBuf,
        source: FitSummaryError,
    },
    #[error("account {email}: cannot read FIT file {path}: {source}")]
    FitIo {
        email: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("account {email}: manual activity {id}: start {value:?} is not RFC 3339")]
    BadStart {
        email: String,
        id: u64,
        value: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(alias = "accounts")]
    account: Vec<AccountSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountSpec {
    email: String,
    password: String,
    mfa_code: Option<String>,
    display_name: Option<String>,
    profile_id: Option<u64>,
    #[serde(default = "yes")]
    sample_activities: bool,
    #[serde(default)]
    synthetic: usize,
    #[serde(default)]
    fit_files: Vec<PathBuf>,
    #[serde(default)]
    manual: Vec<ManualSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManualSpec {
    id: u64,
    start: String,
    name: String,
    type_key: String,
    distance_m: f64,
    duration_s: f64,
}

fn yes() -> bool {
    true
}

/// Reads the accounts of `path`; relative `fit_files` are relative to the file's folder.
pub fn load_accounts(path: &Path) -> Result<Vec<Account>, AccountsFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| AccountsFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let is_toml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let spec: FileSpec = if is_toml {
        toml::from_str(&text).map_err(|e| AccountsFileError::Parse {
            path: path.to_path_buf(),
            format: "TOML",
            message: e.to_string(),
        })?
    } else {
        serde_json::from_str(&text).map_err(|e| AccountsFileError::Parse {
            path: path.to_path_buf(),
            format: "JSON",
            message: e.to_string(),
        })?
    };
    let base = path.parent().unwrap_or(Path::new("."));
    spec.account
        .into_iter()
        .enumerate()
        .map(|(i, s)| build_account(s, i as u64, base))
        .collect()
}

fn build_account(spec: AccountSpec, index: u64, base: &Path) -> Result<Account, AccountsFileError> {
    let mut account = Account::new(&spec.email, &spec.password);
    account.mfa_code = spec.mfa_code;
    if let Some(name) = spec.display_name {
        account.display_name = name;
    }
    if let Some(id) = spec.profile_id {
        account.profile_id = id;
    }
    let id_base = 30_000_000_000 + index * 1_000_000;
    if spec.sample_activities {
        account.activities.extend(sample_activities(id_base));
    }
    for (i, file) in spec.fit_files.iter().enumerate() {
        let path = base.join(file);
        let bytes = std::fs::read(&path).map_err(|source| AccountsFileError::FitIo {
            email: spec.email.clone(),
            path: path.clone(),
            source,
        })?;
        let name = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let activity =
            Activity::from_fit(id_base + 500_000 + i as u64, &name, bytes).map_err(|source| {
                AccountsFileError::BadFit {
                    email: spec.email.clone(),
                    path,
                    source,
                }
            })?;
        account.activities.push(activity);
    }
    for m in spec.manual {
        let start =
            OffsetDateTime::parse(&m.start, &Rfc3339).map_err(|_| AccountsFileError::BadStart {
                email: spec.email.clone(),
                id: m.id,
                value: m.start.clone(),
            })?;
        account.activities.push(Activity::manual(
            m.id,
            start,
            &m.name,
            &m.type_key,
            m.distance_m,
            m.duration_s,
        ));
    }
    add_synthetic(&mut account, spec.synthetic);
    Ok(account)
}

/// Adds `n` synthetic activities, one a day (plus 7 minutes) back from an hour ago.
pub fn add_synthetic(account: &mut Account, n: usize) {
    if n == 0 {
        return;
    }
    let newest = OffsetDateTime::now_utc() - Duration::from_secs(3600);
    let newest = newest.replace_nanosecond(0).unwrap_or(newest);
    let taken: std::collections::HashSet<u64> = account.activities.iter().map(|a| a.id).collect();
    let fresh = synthetic_activities(n, newest, Duration::from_secs(24 * 3600 + 7 * 60));
    account
        .activities
        .extend(fresh.into_iter().filter(|a| !taken.contains(&a.id)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_and_json_files_load_and_unknown_keys_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let toml_path = dir.path().join("a.toml");
        std::fs::write(
            &toml_path,
            "[[account]]\nemail = \"x@y.z\"\npassword = \"pw\"\nmfa_code = \"999999\"\nsample_activities = false\nsynthetic = 3\n\n[[account.manual]]\nid = 7\nstart = \"2024-01-02T03:04:05+01:00\"\nname = \"Gym\"\ntype_key = \"strength_training\"\ndistance_m = 0.0\nduration_s = 1800.0\n",
        )
        .unwrap();
        let accounts = load_accounts(&toml_path).unwrap();
        assert_eq!(accounts.len(), 1);
        assert_eq!(accounts[0].mfa_code.as_deref(), Some("999999"));
        assert_eq!(accounts[0].activities.len(), 4);
        assert!(accounts[0]
            .activities
            .iter()
            .any(|a| a.id == 7 && a.fit.is_none()));

        let json_path = dir.path().join("a.json");
        std::fs::write(&json_path, r#"{"accounts":[{"email":"j@y.z","password":"pw","sample_activities":false,"colour":1}]}"#).unwrap();
        let err = load_accounts(&json_path).unwrap_err();
        assert!(
            matches!(err, AccountsFileError::Parse { format: "JSON", .. }),
            "{err}"
        );
        assert!(err.to_string().contains("colour"), "{err}");
    }
}
