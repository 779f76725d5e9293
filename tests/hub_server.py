"""A minimal in-process Hugging Face Hub, for round-trip tests over real HTTP on 127.0.0.1.

It speaks exactly the parts of the Hub protocol that ``huggingface_hub`` (create_repo, upload_folder,
create_commit, preupload, LFS batch + basic transfer, repo_info, list_repo_tree, paths-info,
hf_hub_download), ``datasets.load_dataset`` (through ``HfFileSystem``), ``transformers`` and ``peft``
``from_pretrained`` use. Clients must be started with ``HF_ENDPOINT=server.endpoint`` and
``HF_HUB_DISABLE_XET=1`` set *before* they import those libraries (in a subprocess, typically).

Storage is in memory: every commit is a full snapshot (path → blob) so old revisions stay readable; a
commit is applied all at once or not at all, as on the Hub. The server is bounded: it stops by itself
after ``max_seconds`` or ``max_requests``, and refuses bodies over ``max_body``. ``fail_next`` injects
failures (an HTTP error or a dropped connection) to test client-side error handling and retries.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

# Files the Hub stores through LFS; everything else small and textual is a regular git blob.
LFS_SUFFIXES = (".parquet", ".safetensors", ".bin", ".pt", ".pth", ".arrow", ".gguf", ".h5", ".msgpack", ".zip")
LFS_MIN_SIZE = 10 * 1024 * 1024
GITATTRIBUTES = "".join(f"*{s} filter=lfs diff=lfs merge=lfs -text\n" for s in LFS_SUFFIXES).encode()
REPO = r"(?P<repo>[\w.-]+/[\w.-]+)"
TYPES = r"(?P<type>models|datasets|spaces)"


@dataclass(frozen=True)
class Blob:
    content: bytes
    lfs: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def git_oid(self) -> str:
        return hashlib.sha1(b"blob %d\0" % len(self.content) + self.content).hexdigest()

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.git_oid

    def tree_entry(self, path: str) -> dict:
        entry = {"type": "file", "oid": self.git_oid, "size": len(self.content), "path": path}
        if self.lfs:
            entry["lfs"] = {"oid": self.sha256, "size": len(self.content), "pointerSize": 134}
        return entry


@dataclass
class Repo:
    repo_type: str  # model | dataset | space
    repo_id: str
    private: bool
    commits: list[tuple[str, dict[str, Blob], str]] = field(default_factory=list)  # (sha, snapshot, message)

    @property
    def head(self) -> tuple[str, dict[str, Blob]]:
        sha, files, _ = self.commits[-1]
        return sha, files

    def snapshot(self, revision: str) -> tuple[str, dict[str, Blob]] | None:
        if revision == "main":
            return self.head
        return next(((sha, files) for sha, files, _ in self.commits if sha.startswith(revision)), None)

    def commit(self, files: dict[str, Blob], message: str) -> str:
        sha = hashlib.sha1(f"{self.repo_id}:{len(self.commits)}:{time.time_ns()}:{message}".encode()).hexdigest()
        self.commits.append((sha, files, message))
        return sha


class HubError(Exception):
    """An error answer: status, ``X-Error-Code`` and a message."""

    def __init__(self, status: int, code: str | None, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class HubState:
    """Repositories, uploaded LFS objects, the access token, injected failures and a request log."""

    def __init__(self, token: str | None) -> None:
        self.token = token
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lfs: dict[str, bytes] = {}
        self.failures: list[list] = []  # [path regex, remaining, status or None (= drop connection)]
        self.log: list[str] = []
        self.unrouted: list[str] = []  # requests this server does not implement (tests assert on it)
        self.lock = threading.RLock()

    def repo(self, repo_type: str, repo_id: str, authorized: bool) -> Repo:
        repo = self.repos.get((repo_type, repo_id))
        if repo is None or (repo.private and not authorized):
            # The Hub answers 401 for private repos without a token; the client maps both to RepoNotFound.
            raise HubError(404 if repo is None else 401, "RepoNotFound", f"Repository {repo_id} not found")
        return repo


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    # --- plumbing
    def log_message(self, format: str, *args) -> None:  # keep test output quiet
        return

    def _dispatch(self, method: str) -> None:
        state = self.server.state
        self._body: bytes | None = None  # one handler serves many requests of a keep-alive connection
        self.server.count_request()
        url = urlsplit(self.path)
        with state.lock:
            state.log.append(f"{method} {url.path}")
        if self._inject_failure(method, url.path):
            return
        try:
            for verb, pattern, handler in ROUTES:
                match = re.fullmatch(pattern, url.path)
                if verb == method and match:
                    handler(self, match, parse_qs(url.query))
                    return
            with state.lock:
                state.unrouted.append(f"{method} {url.path}")
            raise HubError(404, None, f"no route for {method} {url.path}")
        except HubError as err:
            self._send_json({"error": err.message}, err.status, {"X-Error-Code": err.code, "X-Error-Message":
                            err.message} if err.code else {"X-Error-Message": err.message})

    def _inject_failure(self, method: str, path: str) -> bool:
        state = self.server.state
        with state.lock:
            for failure in state.failures:
                pattern, remaining, status = failure
                if remaining > 0 and re.search(pattern, f"{method} {path}"):
                    failure[1] -= 1
                    break
            else:
                return False
        self._read_body()
        if status is None:  # a network failure: close the socket without an answer
            self.close_connection = True
            self.connection.shutdown(2)
            return True
        self._send_json({"error": "injected failure"}, status)
        return True

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def _read_body(self) -> bytes:
        if getattr(self, "_body", None) is not None:
            return self._body
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._read_chunked()
        else:
            length = int(self.headers.get("Content-Length") or 0)
            if length > self.server.max_body:
                raise HubError(413, None, f"body over {self.server.max_body} bytes")
            body = self.rfile.read(length)
        self._body = body
        return body

    def _read_chunked(self) -> bytes:
        parts, total = [], 0
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return b"".join(parts)
            total += size
            if total > self.server.max_body:
                raise HubError(413, None, f"body over {self.server.max_body} bytes")
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _json_body(self) -> dict:
        try:
            return json.loads(self._read_body() or b"{}")
        except json.JSONDecodeError as err:
            raise HubError(400, None, f"invalid JSON body: {err}") from None

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None, head: bool = False) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _send_json(self, data, status: int = 200, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(data).encode()
        self._send(status, body, {"Content-Type": "application/json", **(headers or {})}, head=self.command == "HEAD")

    @property
    def authorized(self) -> bool:
        token = self.server.state.token
        return token is None or self.headers.get("Authorization") == f"Bearer {token}"

    def _require_write(self) -> None:
        if not self.authorized or (self.server.state.token and "Authorization" not in self.headers):
            raise HubError(401, None, "Invalid credentials in Authorization header")

    def _repo(self, match: re.Match) -> Repo:
        return self.server.state.repo(_singular(match["type"]), match["repo"], self.authorized)

    def _snapshot(self, repo: Repo, revision: str) -> tuple[str, dict[str, Blob]]:
        snap = repo.snapshot(unquote(revision))
        if snap is None:
            raise HubError(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return snap

    # --- endpoints
    def create_repo(self, match, query) -> None:
        self._require_write()
        payload = self._json_body()
        repo_type = payload.get("type") or "model"
        repo_id = f"{payload.get('organization') or 'ecellm-test'}/{payload['name']}"
        private = payload.get("private", payload.get("visibility") == "private")
        state = self.server.state
        url = f"{self.server.endpoint}/{_prefix(repo_type)}{repo_id}"
        with state.lock:
            if (repo_type, repo_id) in state.repos:  # the Hub names the existing repo in its 409 answer
                self._send_json({"error": "You already created this repo", "url": url}, 409)
                return
            repo = Repo(repo_type, repo_id, bool(private))
            repo.commit({".gitattributes": Blob(GITATTRIBUTES, lfs=False)}, "initial commit")
            state.repos[(repo_type, repo_id)] = repo
        self._send_json({"url": url, "name": repo_id})

    def validate_yaml(self, match, query) -> None:
        content = self._json_body().get("content", "")
        head = re.match(r"^---\n(.*?)\n---\n", content, re.S)
        try:
            meta = yaml.safe_load(head.group(1)) if head else {}
        except yaml.YAMLError as err:
            self._send_json({"errors": [{"message": f"invalid YAML: {err}"}]}, 400)
            return
        if not isinstance(meta, dict):
            self._send_json({"errors": [{"message": "metadata must be a YAML mapping"}]}, 400)
            return
        self._send_json({"errors": [], "warnings": []})

    def whoami(self, match, query) -> None:
        if "Authorization" not in self.headers or not self.authorized:
            raise HubError(401, None, "Invalid credentials in Authorization header")
        self._send_json({"type": "user", "name": "ecellm-test", "orgs": [], "auth": {"type": "access_token"}})

    def repo_info(self, match, query) -> None:
        repo = self._repo(match)
        sha, files = self._snapshot(repo, match["rev"] or "main")
        self._send_json({
            "id": repo.repo_id, "_id": repo.repo_id, "author": repo.repo_id.split("/")[0], "sha": sha,
            "private": repo.private, "gated": False, "disabled": False, "downloads": 0, "likes": 0, "tags": [],
            "lastModified": "2024-01-01T00:00:00.000Z", "createdAt": "2024-01-01T00:00:00.000Z",
            "siblings": [{"rfilename": path} for path in sorted(files)],
        })

    def preupload(self, match, query) -> None:
        self._require_write()
        repo = self._repo(match)
        _, files = self._snapshot(repo, match["rev"])
        answer = []
        for item in self._json_body().get("files", []):
            sample = base64.b64decode(item.get("sample", ""))
            lfs = item["path"].endswith(LFS_SUFFIXES) or item["size"] >= LFS_MIN_SIZE or b"\0" in sample
            current = files.get(item["path"])
            oid = None if current is None else current.sha256 if lfs else current.git_oid
            answer.append({"path": item["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False,
                           "oid": oid})
        self._send_json({"files": answer, "commitOid": repo.head[0]})

    def lfs_batch(self, match, query) -> None:
        self._require_write()
        repo_type = _type_of_prefix(match["prefix"])
        self.server.state.repo(repo_type, match["repo"], self.authorized)
        objects = []
        for obj in self._json_body().get("objects", []):
            entry = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
            if obj["oid"] not in self.server.state.lfs:  # already stored: no action, the client skips it
                entry["actions"] = {"upload": {"href": f"{self.server.endpoint}/lfs-upload/{obj['oid']}"}}
            objects.append(entry)
        self._send_json({"transfer": "basic", "objects": objects, "hash_algo": "sha256"},
                        headers={"Content-Type": "application/vnd.git-lfs+json"})

    def lfs_upload(self, match, query) -> None:
        body = self._read_body()
        if hashlib.sha256(body).hexdigest() != match["oid"]:
            raise HubError(400, None, "uploaded content does not match its sha256")
        with self.server.state.lock:
            self.server.state.lfs[match["oid"]] = body
        self._send(200, b"")

    def commit(self, match, query) -> None:
        self._require_write()
        lines = [json.loads(line) for line in self._read_body().splitlines() if line.strip()]
        state = self.server.state
        with state.lock:  # validate everything, then swap the snapshot: a commit is all or nothing
            repo = self._repo(match)
            if unquote(match["rev"]) != "main":
                raise HubError(404, "RevisionNotFound", f"Invalid rev id: {match['rev']}")
            head_sha, files = repo.head
            files = dict(files)
            header = next((line["value"] for line in lines if line["key"] == "header"), {})
            if header.get("parentCommit") not in (None, head_sha):
                raise HubError(412, None, "parent commit is not the head of main")
            for line in lines:
                _apply(line, files, state.lfs)
            sha = repo.commit(files, header.get("summary", ""))
        prefix = _prefix(repo.repo_type)
        self._send_json({"success": True, "commitOid": sha,
                         "commitUrl": f"{self.server.endpoint}/{prefix}{repo.repo_id}/commit/{sha}"})

    def tree(self, match, query) -> None:
        repo = self._repo(match)
        _, files = self._snapshot(repo, match["rev"])
        base = unquote(match["path"] or "").strip("/")
        recursive = query.get("recursive", ["false"])[0].lower() == "true"
        entries = _list_tree(files, base, recursive)
        if entries is None:
            raise HubError(404, "EntryNotFound", f"{base} does not exist on main")
        self._send_json(entries)

    def paths_info(self, match, query) -> None:
        repo = self._repo(match)
        _, files = self._snapshot(repo, match["rev"])
        form = parse_qs(self._read_body().decode())
        entries = []
        for path in form.get("paths", []):
            path = path.strip("/")
            if path in files:
                entries.append(files[path].tree_entry(path))
            elif any(p.startswith(path + "/") for p in files):
                entries.append(_folder(path))
        self._send_json(entries)

    def resolve(self, match, query) -> None:
        repo_type = _type_of_prefix(match["prefix"])
        repo = self.server.state.repo(repo_type, match["repo"], self.authorized)
        sha, files = self._snapshot(repo, match["rev"])
        path = unquote(match["path"])
        blob = files.get(path)
        if blob is None:
            raise HubError(404, "EntryNotFound", f"{path} does not exist on {match['rev']}")
        headers = {"X-Repo-Commit": sha, "ETag": f'"{blob.etag}"', "Accept-Ranges": "bytes",
                   "Content-Type": "application/octet-stream"}
        if blob.lfs:
            headers |= {"X-Linked-Etag": f'"{blob.sha256}"', "X-Linked-Size": str(len(blob.content))}
        body, status = _ranged(blob.content, self.headers.get("Range"), headers)
        self._send(status, body, headers, head=self.command == "HEAD")


def _apply(line: dict, files: dict[str, Blob], lfs: dict[str, bytes]) -> None:
    key, value = line["key"], line["value"]
    if key == "file":
        content = base64.b64decode(value["content"])
        files[value["path"]] = Blob(content, lfs=False)
    elif key == "lfsFile":
        if value["oid"] not in lfs:
            raise HubError(422, None, f"LFS object {value['oid']} of {value['path']} was never uploaded")
        files[value["path"]] = Blob(lfs[value["oid"]], lfs=True)
    elif key == "deletedFile":
        if files.pop(value["path"], None) is None:
            raise HubError(404, "EntryNotFound", f"A file with this name doesn't exist: {value['path']}")
    elif key == "deletedFolder":
        for path in [p for p in files if p.startswith(value["path"].rstrip("/") + "/")]:
            del files[path]
    elif key != "header":
        raise HubError(400, None, f"unknown commit operation {key!r}")


def _list_tree(files: dict[str, Blob], base: str, recursive: bool) -> list[dict] | None:
    prefix = base + "/" if base else ""
    under = sorted(p for p in files if p.startswith(prefix))
    if base and not under:
        return None  # a missing folder: the caller answers 404 EntryNotFound (datasets relies on it)
    entries, folders = [], set()
    for path in under:
        rest = path[len(prefix):].split("/")
        for depth in range(1, len(rest)):
            if recursive or depth == 1:
                folders.add(prefix + "/".join(rest[:depth]))
        if recursive or len(rest) == 1:
            entries.append(files[path].tree_entry(path))
    return [_folder(f) for f in sorted(folders)] + entries


def _folder(path: str) -> dict:
    return {"type": "directory", "oid": hashlib.sha1(path.encode()).hexdigest(), "size": 0, "path": path}


def _ranged(content: bytes, header: str | None, headers: dict[str, str]) -> tuple[bytes, int]:
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", header or "")
    if not match:
        return content, 200
    start = int(match[1] or 0)
    end = min(int(match[2]) if match[2] else len(content) - 1, len(content) - 1)
    headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
    return content[start:end + 1], 206


def _type_of_prefix(prefix: str | None) -> str:
    return {"datasets/": "dataset", "spaces/": "space"}.get(prefix or "", "model")


def _singular(types: str) -> str:
    return types[:-1]


def _prefix(repo_type: str) -> str:
    return {"dataset": "datasets/", "space": "spaces/"}.get(repo_type, "")


REV = r"(?P<rev>[^/]+)"
ROUTES = [
    ("POST", r"/api/repos/create", _Handler.create_repo),
    ("POST", r"/api/validate-yaml", _Handler.validate_yaml),
    ("GET", r"/api/whoami-v2", _Handler.whoami),
    ("GET", rf"/api/{TYPES}/{REPO}(?:/revision/{REV})?", _Handler.repo_info),
    ("POST", rf"/api/{TYPES}/{REPO}/preupload/{REV}", _Handler.preupload),
    ("POST", rf"/api/{TYPES}/{REPO}/commit/{REV}", _Handler.commit),
    ("GET", rf"/api/{TYPES}/{REPO}/tree/{REV}(?:/(?P<path>.*))?", _Handler.tree),
    ("POST", rf"/api/{TYPES}/{REPO}/paths-info/{REV}", _Handler.paths_info),
    ("POST", rf"/(?P<prefix>datasets/|spaces/)?{REPO}\.git/info/lfs/objects/batch", _Handler.lfs_batch),
    ("PUT", r"/lfs-upload/(?P<oid>[0-9a-f]{64})", _Handler.lfs_upload),
    ("GET", rf"/(?P<prefix>datasets/|spaces/)?{REPO}/resolve/{REV}/(?P<path>.+)", _Handler.resolve),
    ("HEAD", rf"/(?P<prefix>datasets/|spaces/)?{REPO}/resolve/{REV}/(?P<path>.+)", _Handler.resolve),
]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: HubState, max_requests: int, max_body: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state, self.max_requests, self.max_body = state, max_requests, max_body
        self.requests = 0
        self.endpoint = f"http://127.0.0.1:{self.server_address[1]}"

    def count_request(self) -> None:
        with self.state.lock:
            self.requests += 1
            over = self.requests > self.max_requests
        if over:  # bounded: a runaway client ends the server instead of hanging the test session
            threading.Thread(target=self.shutdown, daemon=True).start()


class HubServer:
    """``with HubServer() as hub: ...`` — a Hub on ``hub.endpoint`` until the block ends (or the bounds hit).

    ``token``: when set, writes need ``Authorization: Bearer <token>`` and private repos are hidden without it.
    """

    def __init__(self, token: str | None = None, max_seconds: float = 300, max_requests: int = 20_000,
                 max_body: int = 512 * 1024 * 1024) -> None:
        self.state = HubState(token)
        self._server = _Server(self.state, max_requests, max_body)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True, name="hub-server")
        self._timer = threading.Timer(max_seconds, self.stop)
        self._timer.daemon = True

    @property
    def endpoint(self) -> str:
        return self._server.endpoint

    def start(self) -> HubServer:
        self._thread.start()
        self._timer.start()
        return self

    def stop(self) -> None:
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def fail_next(self, pattern: str, times: int = 1, status: int | None = 503) -> None:
        """Fail the next ``times`` requests whose ``"METHOD /path"`` matches ``pattern``.

        ``status=None`` drops the connection without an answer (a network failure).
        """
        with self.state.lock:
            self.state.failures.append([pattern, times, status])

    def files(self, repo_id: str, repo_type: str = "model") -> dict[str, bytes]:
        """The files on ``main`` of a repository (path → content)."""
        with self.state.lock:
            _, files = self.state.repos[(repo_type, repo_id)].head
            return {path: blob.content for path, blob in files.items()}

    def commits(self, repo_id: str, repo_type: str = "model") -> list[str]:
        with self.state.lock:
            return [message for _, _, message in self.state.repos[(repo_type, repo_id)].commits]
