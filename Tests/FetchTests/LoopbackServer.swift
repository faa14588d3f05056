// A minimal HTTP/1.1 server on 127.0.0.1 (an ephemeral port) for the fetch tests: serves byte
// arrays by path, answers Range requests with 206 (416 past the end) unless told to ignore them, 404 for unknown
// paths, and can cut a response short after N body bytes once (an interrupted download).
import Foundation
#if canImport(Glibc)
import Glibc
#endif

final class LoopbackServer: @unchecked Sendable {
    // Settings and the request log are guarded by `lock`: the accept loop runs on its own thread.
    private let lock = NSLock()
    private var files: [String: [UInt8]]
    private var cutAfter: [String: Int] = [:]
    private var ignoresRange = false
    private var log: [(path: String, range: String?)] = []
    private let listener: Int32
    let port: UInt16

    init(files: [String: [UInt8]]) throws {
        self.files = files
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        listener = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        // The loop holds the server weakly, so that deinit (which shuts the socket, ending accept) runs.
        let thread = Thread { [weak self] in
            while true {
                let connection = accept(fd, nil, nil)
                if connection < 0 { return }
                self?.serve(connection)
                close(connection)
            }
        }
        thread.start()
    }

    deinit { stop() }

    func url(_ path: String) -> URL { URL(string: "http://127.0.0.1:\(port)/\(path)")! }

    func setFile(_ path: String, _ bytes: [UInt8]) { lock.lock(); files[path] = bytes; lock.unlock() }
    func cutOnce(_ path: String, after bytes: Int) { lock.lock(); cutAfter[path] = bytes; lock.unlock() }
    func ignoreRange(_ value: Bool) { lock.lock(); ignoresRange = value; lock.unlock() }
    var requests: [(path: String, range: String?)] { lock.lock(); defer { lock.unlock() }; return log }

    private var stopped = false
    func stop() {
        lock.lock(); defer { lock.unlock() }
        if stopped { return }
        stopped = true
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func serve(_ connection: Int32) {
        var request = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !request.suffix(4).elementsEqual(Array("\r\n\r\n".utf8)) {
            let n = recv(connection, &buffer, buffer.count, 0)
            if n <= 0 { return }
            request += buffer[0..<n]
        }
        let lines = String(decoding: request, as: UTF8.self).components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2 else { return }
        let path = String(parts[1].dropFirst())
        let range = lines.first { $0.lowercased().hasPrefix("range:") }
            .map { $0.dropFirst("range:".count).trimmingCharacters(in: .whitespaces) }
        lock.lock()
        log.append((path, range))
        let body = files[path]
        let cut = cutAfter.removeValue(forKey: path)
        let ignore = ignoresRange
        lock.unlock()

        guard let body else {
            send(connection, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        }
        var start = 0
        if let range, !ignore, range.hasPrefix("bytes="), range.hasSuffix("-"),
           let from = Int(range.dropFirst("bytes=".count).dropLast()) {
            if from >= body.count {
                send(connection, "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */\(body.count)\r\n"
                     + "Content-Length: 0\r\nConnection: close\r\n\r\n")
                return
            }
            start = from
        }
        let header = start > 0
            ? "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes \(start)-\(body.count - 1)/\(body.count)\r\n"
            : "HTTP/1.1 200 OK\r\n"
        send(connection, header + "Content-Length: \(body.count - start)\r\nConnection: close\r\n\r\n")
        let end = cut.map { min(body.count, start + $0) } ?? body.count
        body[start..<end].withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.send(connection, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n <= 0 { return }
                offset += n
            }
        }
    }

    private func send(_ connection: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(connection, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}

/// A port on 127.0.0.1 with nothing listening (bound, then closed), for refused connections.
func closedLoopbackPort() -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return UInt16(bigEndian: address.sin_port)
}
