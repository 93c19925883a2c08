//! Files a service writes for others to read (notifications' letters, reporting's report files).

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` so that a reader never sees a partial file: a temporary file in the
/// same directory, flushed to disk, renamed over the target, and the directory flushed so the
/// rename survives a crash. The directory is created when missing; on failure the temporary
/// file is removed and the target is as it was.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .ok_or_else(|| std::io::Error::other(format!("{} has no directory", path.display())))?;
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // unique across processes: replicas share the volume, and each may be PID 1 in its pod
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_written_whole_and_replaces_an_earlier_version_leaving_no_temporary_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("2026/12/x.pdf");
        write_atomically(&path, b"first").expect("write");
        write_atomically(&path, b"second").expect("rewrite");
        assert_eq!(std::fs::read(&path).expect("read"), b"second");
        let names: Vec<String> = std::fs::read_dir(path.parent().expect("dir"))
            .expect("list")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["x.pdf"]);
    }

    #[test]
    fn a_failed_write_leaves_the_target_as_it_was_and_no_temporary_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.csv");
        write_atomically(&path, b"first").expect("write");
        // a directory where the file should be: the rename fails
        let blocked = dir.path().join("blocked");
        std::fs::create_dir_all(blocked.join("inner")).expect("dir");
        assert!(write_atomically(&blocked, b"second").is_err());
        assert_eq!(std::fs::read(&path).expect("read"), b"first");
        let tmps = std::fs::read_dir(dir.path())
            .expect("list")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .count();
        assert_eq!(tmps, 0);
    }

    #[test]
    fn a_path_without_a_directory_is_refused() {
        assert!(write_atomically(Path::new("x.pdf"), b"x").is_err());
    }
}
