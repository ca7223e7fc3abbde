#!/usr/bin/env python3
"""hostile_http.py - a broken or hostile HTTP/S3 server on 127.0.0.1, for tests.

    hostile_http.py MODE PORTFILE [ENTRYFILE]

Listens on a free port of 127.0.0.1, writes the port to PORTFILE once it
accepts connections, and serves until killed (the test starts it in the
background and kills it by its pid). Python 3 standard library only.

Modes (the repository is http://127.0.0.1:PORT/repo, or s3://bucket/repo
with --endpoint http://127.0.0.1:PORT):
  endless-entry     the catalog lists a.delta.entry, whose GET is a 200 that
                    never ends
  endless-500       every request gets a 500 whose body never ends
  endless-listing   GET of the catalog directory is a 200 JSON listing that
                    never ends
  s3-repeat-token   an S3 ListObjectsV2 that always says IsTruncated with the
                    same NextContinuationToken
  big-object        the catalog holds one entry (ENTRYFILE, a real catalog
                    entry); GET of its object sends bytes without end, about
                    20 MB/s (so a client that does not stop fills the disk
                    slowly)
  stall             every request gets a 200 with Content-Length 1000, then
                    nothing
  webdav-no-move    a small in-memory HTTP store under /repo: PUT (with
                    If-None-Match: * honoured), GET, HEAD, DELETE, JSON
                    listings of directories; MOVE is refused (405), so
                    ddloop takes its If-None-Match fallback
  s3-multipart-fail a small in-memory S3: simple PUT/GET/HEAD of objects
                    under 1 MiB (If-None-Match honoured), multipart uploads
                    whose part 1 succeeds and every later part is refused (403)
Every request is appended to PORTFILE.log ("METHOD PATH").
"""
import http.server
import os
import socketserver
import sys
import threading
import time

MODE = sys.argv[1]
PORTFILE = sys.argv[2]
ENTRY = open(sys.argv[3], "rb").read() if len(sys.argv) > 3 else b""
LOCK = threading.RLock()
OBJECTS = {}  # s3-multipart-fail: path -> bytes


def entry_field(name):
    for line in ENTRY.decode().splitlines():
        if line.startswith(name + " "):
            return line.split(" ", 1)[1]
    return ""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        with LOCK, open(PORTFILE + ".log", "a") as f:
            f.write("%s %s\n" % (self.command, self.path))

    def endless(self, code, chunk, pace=0.0):
        self.send_response(code)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            while True:
                self.wfile.write(chunk)
                if pace:
                    time.sleep(pace)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def reply(self, code, body=b"", ctype="application/octet-stream", headers=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body(self):
        """Reads the request body; keeps its first 64 MiB."""
        left = int(self.headers.get("Content-Length") or 0)
        parts, kept = [], 0
        while left > 0:
            piece = self.rfile.read(min(1 << 20, left))
            if not piece:
                break
            left -= len(piece)
            if kept < (64 << 20):
                parts.append(piece)
                kept += len(piece)
        return b"".join(parts)

    def no_such_key(self):
        self.reply(404, b"<Error><Code>NoSuchKey</Code><Message>no such key</Message></Error>",
                   "application/xml")

    def handle_any(self):
        path = self.path
        if MODE == "endless-500":
            self.body()
            return self.endless(500, b"<html>Internal Server Error, again and again</html>\n" * 100)
        if MODE == "stall":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.flush()
            time.sleep(3600)
            return
        if MODE == "endless-entry":
            if path == "/repo/catalog/":
                return self.reply(200, b'[{ "name":"a.delta.entry", "type":"file" }]', "application/json")
            if path == "/repo/catalog/a.delta.entry":
                return self.endless(200, b"name a.delta\n" * 1000)
            if path == "/repo/ddloop-repository":
                return self.reply(200, b"ddloop-repository 1\n")
            return self.reply(404)
        if MODE == "endless-listing":
            if path == "/repo/catalog/":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    self.wfile.write(b"[\n")
                    i = 0
                    while True:
                        self.wfile.write(b"".join(b'{ "name":"d%09d.delta.entry", "type":"file" },\n' % (i + k)
                                                  for k in range(1000)))
                        i += 1000
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True
                return
            return self.reply(404)
        if MODE == "big-object":
            entry = entry_field("name") + ".entry"
            if path == "/repo/catalog/":
                return self.reply(200, b'[{ "name":"%s", "type":"file" }]' % entry.encode(), "application/json")
            if path == "/repo/catalog/" + entry:
                return self.reply(200, ENTRY)
            if path == "/repo/" + entry_field("object"):
                return self.endless(200, b"\0" * (1 << 18), pace=0.0125)
            return self.reply(404)
        if MODE == "s3-repeat-token":
            if path.startswith("/bucket?") or path.startswith("/bucket/?"):
                xml = (b'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>bucket</Name>'
                       b'<Prefix>repo/catalog/</Prefix><KeyCount>1</KeyCount><IsTruncated>true</IsTruncated>'
                       b'<NextContinuationToken>same-token</NextContinuationToken>'
                       b'<Contents><Key>repo/catalog/a.delta.entry</Key><Size>10</Size></Contents>'
                       b'</ListBucketResult>')
                return self.reply(200, xml, "application/xml")
            return self.no_such_key()
        if MODE == "webdav-no-move":
            key = path.split("?", 1)[0]
            if self.command == "PUT":
                data = self.body()
                with LOCK:
                    if self.headers.get("If-None-Match") == "*" and key in OBJECTS:
                        return self.reply(412)
                    OBJECTS[key] = data
                return self.reply(201)
            if self.command in ("GET", "HEAD") and key.endswith("/"):
                with LOCK:
                    names = sorted({k[len(key):] for k in OBJECTS
                                    if k.startswith(key) and "/" not in k[len(key):]})
                if not names:
                    return self.reply(404)
                body = "[" + ",".join('{ "name":"%s", "type":"file" }' % n for n in names) + "]"
                return self.reply(200, body.encode(), "application/json")
            if self.command in ("GET", "HEAD"):
                with LOCK:
                    data = OBJECTS.get(key)
                return self.reply(404) if data is None else self.reply(200, data)
            if self.command == "DELETE":
                with LOCK:
                    OBJECTS.pop(key, None)
                return self.reply(204)
            return self.reply(405)
        if MODE == "s3-multipart-fail":
            key = path.split("?", 1)[0]
            query = path.split("?", 1)[1] if "?" in path else ""
            if self.command == "POST" and "uploads=" in query:
                self.body()
                return self.reply(200, b"<InitiateMultipartUploadResult><UploadId>upload-1</UploadId>"
                                  b"</InitiateMultipartUploadResult>", "application/xml")
            if self.command == "PUT" and "partNumber=" in query:
                self.body()
                if "partNumber=1&" in query or query.endswith("partNumber=1"):
                    return self.reply(200, headers=[("ETag", '"etag-1"')])
                return self.reply(403, b"<Error><Code>AccessDenied</Code><Message>part refused</Message></Error>",
                                  "application/xml")
            if self.command == "PUT":
                data = self.body()
                with LOCK:
                    if self.headers.get("If-None-Match") == "*" and key in OBJECTS:
                        return self.reply(412, b"<Error><Code>PreconditionFailed</Code></Error>", "application/xml")
                    OBJECTS[key] = data
                return self.reply(200, headers=[("ETag", '"x"')])
            if self.command in ("GET", "HEAD"):
                with LOCK:
                    data = OBJECTS.get(key)
                if data is None:
                    return self.no_such_key()
                return self.reply(200, data)
            if self.command == "DELETE":
                with LOCK:
                    OBJECTS.pop(key, None)
                return self.reply(204)
            return self.reply(405)
        return self.reply(500, b"unknown mode")

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_MOVE = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up on an endless answer are the point


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    tmp = PORTFILE + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, PORTFILE)
    srv.serve_forever()


if __name__ == "__main__":
    main()
