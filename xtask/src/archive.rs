//! Byte-for-byte reproducible `.tar.gz` and `.zip` writers: fixed order, times, owners and modes,
//! in pure Rust (platform `tar` differs between GNU and BSD, and Windows has neither flag set).

use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::Path;

/// One member of an archive; paths use `/` and are relative to the archive root.
#[derive(Debug, Clone)]
pub enum Member<'a> {
    Directory {
        path: String,
    },
    File {
        path: String,
        executable: bool,
        contents: &'a [u8],
    },
    /// A relative symbolic link (tar only: zip has no portable links).
    Symlink {
        path: String,
        target: String,
    },
}

impl Member<'_> {
    fn path(&self) -> &str {
        match self {
            Member::Directory { path }
            | Member::File { path, .. }
            | Member::Symlink { path, .. } => path,
        }
    }
}

/// The modification time of every member: 1980-01-01T00:00:00Z, the earliest time zip can hold,
/// so that both formats say the same.
pub const MEMBER_MTIME: u64 = 315_532_800;

fn mode_of(member: &Member) -> u32 {
    match member {
        Member::Directory { .. }
        | Member::File {
            executable: true, ..
        } => 0o755,
        Member::File { .. } => 0o644,
        Member::Symlink { .. } => 0o777,
    }
}

/// Members in the order they are written: by path, so that a directory precedes its contents.
fn sorted<'a, 'b>(members: &'b [Member<'a>]) -> Vec<&'b Member<'a>> {
    let mut sorted: Vec<&Member> = members.iter().collect();
    sorted.sort_by(|left, right| left.path().cmp(right.path()));
    sorted
}

/// Writes a gzip-compressed ustar archive: owner 0:0 without names, [`MEMBER_MTIME`], no gzip
/// timestamp or file name.
pub fn write_tar_gz(members: &[Member], destination: &Path) -> Result<()> {
    let file = std::fs::File::create(destination)
        .with_context(|| format!("cannot create {}", destination.display()))?;
    let encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(std::io::BufWriter::new(file), flate2::Compression::best());
    let mut builder = tar::Builder::new(encoder);
    for member in sorted(members) {
        let mut header = tar::Header::new_ustar();
        header.set_mode(mode_of(member));
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(MEMBER_MTIME);
        match member {
            Member::Directory { path } => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                builder.append_data(&mut header, format!("{path}/"), std::io::empty())?;
            }
            Member::File { path, contents, .. } => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(contents.len() as u64);
                builder.append_data(&mut header, path, *contents)?;
            }
            Member::Symlink { path, target } => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                builder.append_link(&mut header, path, target)?;
            }
        }
    }
    let encoder = builder
        .into_inner()
        .context("cannot finish the tar stream")?;
    encoder
        .finish()
        .context("cannot finish the gzip stream")?
        .flush()
        .with_context(|| format!("cannot write {}", destination.display()))?;
    Ok(())
}

/// Writes a zip archive with deflate at the best level, Unix modes and [`MEMBER_MTIME`].
pub fn write_zip(members: &[Member], destination: &Path) -> Result<()> {
    use zip::write::SimpleFileOptions;
    let file = std::fs::File::create(destination)
        .with_context(|| format!("cannot create {}", destination.display()))?;
    let mut writer = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let options = |member: &Member| {
        SimpleFileOptions::default()
            .system(zip::System::Unix)
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(9))
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(mode_of(member))
            .large_file(false)
    };
    for member in sorted(members) {
        match member {
            Member::Directory { path } => writer.add_directory(path, options(member))?,
            Member::File { path, contents, .. } => {
                writer.start_file(path, options(member))?;
                writer.write_all(contents)?;
            }
            Member::Symlink { path, .. } => {
                bail!("{path}: a zip archive cannot hold a link, ship a copy instead")
            }
        }
    }
    writer
        .finish()
        .context("cannot finish the zip archive")?
        .flush()
        .with_context(|| format!("cannot write {}", destination.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(contents: &[u8]) -> Vec<Member<'_>> {
        vec![
            Member::Symlink {
                path: "top/link".into(),
                target: "tool".into(),
            },
            Member::File {
                path: "top/tool".into(),
                executable: true,
                contents,
            },
            Member::Directory { path: "top".into() },
        ]
    }

    #[test]
    fn the_same_members_give_the_same_bytes_whatever_the_order_given() {
        let directory = tempfile::tempdir().unwrap();
        let contents = b"#!/bin/sh\necho tool\n".repeat(100);
        let mut reversed = members(&contents);
        reversed.reverse();
        for (writer, name) in [
            (
                write_tar_gz as fn(&[Member], &Path) -> Result<()>,
                "a.tar.gz",
            ),
            (write_zip, "a.zip"),
        ] {
            let first = directory.path().join(format!("1-{name}"));
            let second = directory.path().join(format!("2-{name}"));
            let given: Vec<Member> = if name.ends_with(".zip") {
                members(&contents)
                    .into_iter()
                    .filter(|member| !matches!(member, Member::Symlink { .. }))
                    .collect()
            } else {
                members(&contents)
            };
            let mut given_reversed = given.clone();
            given_reversed.reverse();
            writer(&given, &first).unwrap();
            writer(&given_reversed, &second).unwrap();
            assert_eq!(
                std::fs::read(&first).unwrap(),
                std::fs::read(&second).unwrap(),
                "{name}"
            );
        }
    }

    #[test]
    fn a_tar_member_keeps_its_mode_owner_time_and_link() {
        let directory = tempfile::tempdir().unwrap();
        let contents = b"payload".to_vec();
        let path = directory.path().join("a.tar.gz");
        write_tar_gz(&members(&contents), &path).unwrap();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(
            std::fs::File::open(&path).unwrap(),
        ));
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            let header = entry.header();
            assert_eq!(header.uid().unwrap(), 0);
            assert_eq!(header.mtime().unwrap(), MEMBER_MTIME);
            let path = entry.path().unwrap().display().to_string();
            let link = entry
                .link_name()
                .unwrap()
                .map(|link| link.display().to_string());
            seen.push((path, header.mode().unwrap(), link));
        }
        assert_eq!(
            seen,
            [
                ("top/".to_string(), 0o755, None),
                ("top/link".to_string(), 0o777, Some("tool".to_string())),
                ("top/tool".to_string(), 0o755, None),
            ]
        );
    }

    #[test]
    fn a_zip_refuses_a_link() {
        let directory = tempfile::tempdir().unwrap();
        let error = write_zip(&members(b"x"), &directory.path().join("a.zip")).unwrap_err();
        assert!(error.to_string().contains("cannot hold a link"), "{error}");
    }
}
