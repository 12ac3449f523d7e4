"""Storage under faults: every errno, FIFOs, symlinks, full and read-only disks.

Nothing raises, the node's data already on disk is kept, each kind of failure
is one warning, and the next record lands once the fault is gone.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import stat
import sys
import threading
from pathlib import Path

import pytest

from editorial_ai.observability import (
    _internal,
    append_node_log,
    list_threads,
    read_node_logs,
)

from ._proc import CHILD_PRELUDE, require, require_root, run_python
from .conftest import make_log


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "editorial_ai.observability" and r.levelno >= logging.WARNING
    ]


@pytest.mark.parametrize(
    "code",
    [
        errno.EIO,
        errno.ENOSPC,
        errno.EACCES,
        errno.EROFS,
        errno.EDQUOT,
        errno.EFBIG,
        errno.EPERM,
        errno.EMFILE,
    ],
)
def test_errno_on_write_is_one_warning(
    code: int,
    log_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """os.write failing with any errno warns once per kind and never raises."""
    caplog.set_level(logging.WARNING, "editorial_ai.observability")
    append_node_log(make_log(node_name="before"))

    def failing_write(fd: int, data: bytes) -> int:
        raise OSError(code, os.strerror(code))

    real_write = os.write
    monkeypatch.setattr(os, "write", failing_write)
    for _ in range(1000):
        append_node_log(make_log(node_name="lost"))
    monkeypatch.setattr(os, "write", real_write)
    messages = warnings_of(caplog)
    assert 1 <= len(messages) <= 10
    assert errno.errorcode[code] in messages[0]
    append_node_log(make_log(node_name="after"))
    assert [log.node_name for log in read_node_logs("t1")] == ["before", "after"]


@pytest.mark.parametrize("code", [errno.EACCES, errno.EMFILE, errno.ENAMETOOLONG])
def test_errno_on_open_is_one_warning(
    code: int,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """os.open failing warns and never raises."""
    caplog.set_level(logging.WARNING, "editorial_ai.observability")

    def failing_open(*args: object, **kwargs: object) -> int:
        raise OSError(code, os.strerror(code))

    real_open = os.open
    monkeypatch.setattr(os, "open", failing_open)
    append_node_log(make_log())
    assert read_node_logs("t1") == []
    monkeypatch.setattr(os, "open", real_open)
    assert errno.errorcode[code] in warnings_of(caplog)[0]


def test_short_write_leaves_a_fragment_that_the_next_append_survives(
    log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write cut short (full disk) is followed by a record that reads back."""
    append_node_log(make_log(node_name="a"))
    real_write = os.write

    def half_write(fd: int, data: bytes) -> int:
        return real_write(fd, data[: len(data) // 2])

    monkeypatch.setattr(os, "write", half_write)
    append_node_log(make_log(node_name="torn"))
    monkeypatch.setattr(os, "write", real_write)
    append_node_log(make_log(node_name="b"))
    assert [log.node_name for log in read_node_logs("t1")] == ["a", "b"]


def test_one_mebibyte_record_is_one_write(
    log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 1 MiB record reaches the file in exactly one os.write ending in newline."""
    append_node_log(make_log(node_name="first"))
    calls: list[bytes] = []
    real_write = os.write

    def spy(fd: int, data: bytes) -> int:
        calls.append(bytes(data))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", spy)
    append_node_log(make_log(input_state={"payload": "x" * (1 << 20)}))
    monkeypatch.setattr(os, "write", real_write)
    assert len(calls) == 1
    assert len(calls[0]) > 1 << 20 and calls[0].endswith(b"\n")
    assert calls[0].count(b"\n") == 1


def test_log_dir_deleted_between_runs(log_dir: Path) -> None:
    """The directory removed between two node runs is re-created by the next."""
    append_node_log(make_log(node_name="a"))
    shutil.rmtree(log_dir)
    append_node_log(make_log(node_name="b"))
    assert [log.node_name for log in read_node_logs("t1")] == ["b"]


def test_log_path_is_a_directory(
    log_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """EISDIR at the thread's path warns and does not raise."""
    caplog.set_level(logging.WARNING, "editorial_ai.observability")
    (log_dir / "t1.jsonl").mkdir(parents=True)
    append_node_log(make_log())
    assert read_node_logs("t1") == []
    assert any("EISDIR" in m for m in warnings_of(caplog))


def test_fifo_at_log_path_neither_hangs_nor_writes(
    log_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A FIFO at the path is refused at once, with and without a reader."""
    caplog.set_level(logging.WARNING, "editorial_ai.observability")
    log_dir.mkdir(parents=True)
    fifo = log_dir / "t1.jsonl"
    os.mkfifo(fifo)
    done = threading.Event()

    def scenario() -> None:
        append_node_log(make_log())
        read_node_logs("t1")
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            append_node_log(make_log())
            assert os.read(reader, 100) == b""
        finally:
            os.close(reader)
        done.set()

    worker = threading.Thread(target=scenario, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert done.is_set(), "append or read blocked on a FIFO"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert warnings_of(caplog)


def test_symlink_at_log_path_is_not_followed(
    tmp_path: Path, log_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A symlink at the path never redirects a write nor a read."""
    caplog.set_level(logging.WARNING, "editorial_ai.observability")
    target = tmp_path / "elsewhere.jsonl"
    target.write_bytes(make_log().model_dump_json().encode() + b"\n")
    before = target.read_bytes()
    log_dir.mkdir(parents=True)
    (log_dir / "t1.jsonl").symlink_to(target)
    append_node_log(make_log(node_name="redirected"))
    assert target.read_bytes() == before
    assert read_node_logs("t1") == []
    assert warnings_of(caplog)


def test_dangling_symlink_creates_nothing(tmp_path: Path, log_dir: Path) -> None:
    """A dangling symlink at the path does not create its target."""
    log_dir.mkdir(parents=True)
    (log_dir / "t1.jsonl").symlink_to(tmp_path / "created-by-attack")
    append_node_log(make_log())
    assert not (tmp_path / "created-by-attack").exists()


def test_unserializable_value_is_written_with_repr(log_dir: Path) -> None:
    """Values JSON cannot hold do not cost the record."""

    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque>"

    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    state = {"o": Opaque(), "h": Hostile(), "n": float("nan"), "s": "\udcff"}
    append_node_log(make_log(input_state=state))
    (log,) = read_node_logs("t1")
    assert log.input_state == {
        "o": "<Opaque>",
        "h": "<unrepresentable Hostile>",
        "n": None,
        "s": "\ufffd",
    }


def test_fork_while_warning_lock_held_child_still_logs(log_dir: Path) -> None:
    """A child forked while another thread holds our lock can still log."""
    require(hasattr(os, "fork"), "os.fork")
    _internal._counts_lock.acquire()
    try:
        pid = os.fork()
        if pid == 0:  # child: must neither deadlock nor fail
            try:
                _internal.warn_failure("fork-test", "child warning")
                append_node_log(make_log(node_name="child"))
                os._exit(0 if read_node_logs("t1") else 3)
            finally:
                os._exit(4)
    finally:
        _internal._counts_lock.release()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert [log.node_name for log in read_node_logs("t1")] == ["child"]


# -- real faults (root: CI runs these) ----------------------------------------


def test_full_disk_then_space_freed(tmp_path: Path) -> None:
    """On a full tmpfs nothing raises; after space is freed the next record reads."""
    require_root("mount")
    mount = tmp_path / "tiny"
    mount.mkdir()
    code = (
        CHILD_PRELUDE
        + f"""
import os, subprocess
os.environ["EDITORIAL_AI_LOG_DIR"] = {str(mount)!r} + "/logs"
mount = ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", {str(mount)!r}]
subprocess.run(mount, check=True)
append_node_log(log("small"))
filler = {str(mount)!r} + "/filler"
with open(filler, "wb") as f:
    try:
        f.write(b"0" * (1 << 20))
    except OSError:
        pass
for i in range(20):
    append_node_log(log("big%d" % i, size=30000))
os.remove(filler)
append_node_log(log("after"))
names = [r.node_name for r in read_node_logs("t1")]
print(",".join(names))
"""
    )
    result = run_python(code, log_dir=mount / "logs", prefix=["unshare", "-m"])
    assert result.returncode == 0, result.stderr
    names = result.stdout.strip().split(",")
    assert names[0] == "small" and names[-1] == "after"
    assert "ENOSPC" in result.stderr
    assert result.stderr.count("ENOSPC") <= 10


def test_read_only_filesystem(tmp_path: Path) -> None:
    """EROFS: a read-only mount warns, raises nothing, and still reads."""
    require_root("mount")
    mount = tmp_path / "ro"
    mount.mkdir()
    code = (
        CHILD_PRELUDE
        + f"""
import os, subprocess
m = {str(mount)!r}
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", m], check=True)
os.environ["EDITORIAL_AI_LOG_DIR"] = m + "/logs"
append_node_log(log("kept"))
from editorial_ai.observability import _writer
_writer.close_all()  # a descriptor open for writing would keep the mount busy
subprocess.run(["mount", "-o", "remount,ro", m], check=True)
for i in range(100):
    append_node_log(log("lost"))
print(",".join(r.node_name for r in read_node_logs("t1")))
"""
    )
    result = run_python(code, log_dir=mount / "logs", prefix=["unshare", "-m"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "kept"
    assert "EROFS" in result.stderr
    assert 1 <= result.stderr.count("EROFS") <= 10


def test_permission_denied_without_dac_override(log_dir: Path) -> None:
    """EACCES: root without CAP_DAC_OVERRIDE on a read-only dir warns, keeps data."""
    require_root("capsh")
    append_node_log(make_log(node_name="kept"))
    os.chmod(log_dir / "t1.jsonl", 0o444)
    os.chmod(log_dir, 0o555)
    code = (
        CHILD_PRELUDE
        + """
append_node_log(log("denied"))
append_node_log(log("denied", thread="new-thread"))
print(",".join(r.node_name for r in read_node_logs("t1")))
"""
    )
    drop = [
        "capsh",
        "--drop=cap_dac_override,cap_dac_read_search",
        "--",
        "-c",
        'exec "$0" "$@"',
    ]
    try:
        result = run_python(code, log_dir=log_dir, prefix=drop)
    finally:
        os.chmod(log_dir, 0o755)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "kept"
    assert result.stderr.count("EACCES") == 2, result.stderr


def test_immutable_directory_and_append_only_file(log_dir: Path) -> None:
    """chattr +i on the dir gives EPERM; chattr +a on the file proves we only append."""
    require_root("chattr")
    append_node_log(make_log(node_name="a"))
    path = log_dir / "t1.jsonl"
    subprocess_run(["chattr", "+a", str(path)])
    try:
        append_node_log(make_log(node_name="b"))
    finally:
        subprocess_run(["chattr", "-a", str(path)])
    assert [log.node_name for log in read_node_logs("t1")] == ["a", "b"]
    subprocess_run(["chattr", "+i", str(log_dir)])
    try:
        append_node_log(make_log("t2"))
        assert read_node_logs("t2") == []
    finally:
        subprocess_run(["chattr", "-i", str(log_dir)])


def subprocess_run(argv: list[str]) -> None:
    import subprocess

    subprocess.run(argv, check=True)


def test_file_size_limit(log_dir: Path) -> None:
    """EFBIG from RLIMIT_FSIZE: warns, raises nothing, earlier records stay."""
    code = (
        CHILD_PRELUDE
        + """
import resource
append_node_log(log("small"))
hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
resource.setrlimit(resource.RLIMIT_FSIZE, (50_000, hard))
append_node_log(log("huge", size=200_000))
append_node_log(log("huge2", size=200_000))
resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
append_node_log(log("after"))
print(",".join(r.node_name for r in read_node_logs("t1")))
"""
    )
    result = run_python(code, log_dir=log_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "small,after"
    assert "EFBIG" in result.stderr or "short write" in result.stderr


def test_out_of_file_descriptors(log_dir: Path) -> None:
    """EMFILE: no descriptor left warns and raises nothing."""
    code = (
        CHILD_PRELUDE
        + """
import resource, os
append_node_log(log("kept"))
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
held = []
try:
    while True:
        held.append(os.open("/dev/null", os.O_RDONLY))
except OSError:
    pass
append_node_log(log("kept too"))  # its descriptor is already open
append_node_log(log("lost", thread="t2"))  # a new file needs a descriptor
for fd in held:
    os.close(fd)
print(",".join(r.node_name for r in read_node_logs("t1")))
"""
    )
    result = run_python(code, log_dir=log_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "kept,kept too"
    assert "EMFILE" in result.stderr


def test_list_threads_on_unreadable_dir(
    log_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A directory that cannot be listed gives [] and a warning."""
    caplog.set_level(logging.WARNING, "editorial_ai.observability")
    append_node_log(make_log())

    def denied(path: object) -> object:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "scandir", denied)
    assert list_threads() == []
    assert "EACCES" in warnings_of(caplog)[0]
    assert sys.modules["editorial_ai.observability.storage"] is not None
