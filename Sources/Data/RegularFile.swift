// Only regular files are read as data: opening a FIFO blocks until a writer comes (a `pretrain` whose
// shard is a FIFO hung in open() forever), and a device reads without end. Every dataset shard,
// manifest, tokenizer, JSONL and checkpoint file is checked by name before it is opened.
import Foundation

public enum RegularFile {
    /// Nil for a regular file (or a symbolic link to one) and for a path that does not exist (the
    /// caller reports that in its own words); else what the path is instead, e.g. "a FIFO".
    public static func problem(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "not a regular file"
        }
    }

    /// Throws `DataError.notRegularFile` naming `path` and `what` was expected there.
    public static func require(_ path: String, what: String) throws {
        if let kind = problem(path) { throw DataError.notRegularFile(path: path, kind: kind, what: what) }
    }
}
