#!/usr/bin/env python3
"""aioftp scenarios for tests/tests/aioftp.rs (our server against aioftp).

usage: aioftp_client.py PORT SECURITY TLS PASSIVE SCENARIO LOCAL_DIR

  SECURITY  plain | explicit (AUTH TLS through upgrade_to_tls, then PBSZ 0,
            PROT P) | implicit (TLS from the first byte: Client(ssl=...))
  TLS       any | 1.2 | 1.3: the only TLS version the client offers
  PASSIVE   epsv | pasv: aioftp's passive_commands (it has no active mode)
  SCENARIO  ops | dirs (see the functions below)
  LOCAL_DIR the client's side of the transfers

aioftp opens each data connection, completes its TLS handshake (resuming
the control connection's session), and only then sends REST and the
transfer command. Every step is bounded by STEP_TIMEOUT; a failed check
exits non-zero naming the step. Connects to 127.0.0.1 only. Needs aioftp
on PYTHONPATH (tests/peers/install.sh puts it in $PREFIX/python).
"""

import asyncio
import os
import ssl
import sys
from pathlib import Path

import aioftp

STEP_TIMEOUT = 15
BLOCK = 64 * 1024


def tls_context(version):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # The test server's certificate is self-signed.
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if version == "1.2":
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    elif version == "1.3":
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    return ctx


async def step(name, awaitable):
    try:
        return await asyncio.wait_for(awaitable, STEP_TIMEOUT)
    except asyncio.TimeoutError:
        raise SystemExit(f"step {name!r}: nothing within {STEP_TIMEOUT} s (hung)")
    except Exception as e:  # name the step in the failure
        raise SystemExit(f"step {name!r} failed: {e!r}") from e


async def connect(port, security, version, passive):
    options = dict(
        socket_timeout=STEP_TIMEOUT,
        connection_timeout=STEP_TIMEOUT,
        path_timeout=STEP_TIMEOUT,
        passive_commands=(passive,),
    )
    if security == "implicit":
        client = aioftp.Client(ssl=tls_context(version), **options)
    else:
        client = aioftp.Client(**options)
    await step("connect", client.connect("127.0.0.1", port))
    if security == "explicit":
        await step("AUTH TLS, PBSZ 0, PROT P", client.upgrade_to_tls(tls_context(version)))
    await step("login", client.login("ftptest", "ftptest"))
    if security == "implicit":
        # aioftp sends no PBSZ/PROT on an implicit connection (its own server
        # protects data by default); RFC 4217 9 wants them for PROT P.
        await step("PBSZ 0", client.command("PBSZ 0", "200"))
        await step("PROT P", client.command("PROT P", "200"))
    return client


async def upload_rest(client, local, remote, offset, command):
    """Sends local[offset:] with REST offset + STOR, or APPE."""
    data = Path(local).read_bytes()[offset:]
    if command == "STOR":
        opened = client.upload_stream(remote, offset=offset)
    else:
        opened = client.append_stream(remote)
    async with opened as stream:
        for i in range(0, len(data), BLOCK):
            await stream.write(data[i : i + BLOCK])


async def download_rest(client, remote, local):
    """Continues local from its size with REST + RETR."""
    offset = os.path.getsize(local)
    with open(local, "ab") as out:
        async with client.download_stream(remote, offset=offset) as stream:
            async for block in stream.iter_by_block(BLOCK):
                out.write(block)


async def collect(lister):
    return [entry async for entry in lister]


def check(failures, what, ok):
    if not ok:
        failures.append(what)


async def download_to(client, remote, local):
    with open(local, "wb") as out:
        async with client.download_stream(remote) as stream:
            async for block in stream.iter_by_block(BLOCK):
                out.write(block)


async def ops(client, local):
    """Every operation. Before: server /src/down.bin, /src/part.bin (the
    first part of local part.bin), /src/app.bin (likewise); local up.bin,
    part.bin, resumed.bin (the first part of /src/down.bin). The plain
    transfers come first, the steps built on MLST (aioftp's stat) after."""
    failures = []
    await step("RETR /src/down.bin", download_to(client, "/src/down.bin", local / "down.bin"))
    await step("STOR /up.bin", upload_rest(client, local / "up.bin", "/up.bin", 0, "STOR"))
    await step("REST + RETR /src/down.bin", download_rest(client, "/src/down.bin", local / "resumed.bin"))
    await step("MKD /d", client.command("MKD /d", "257"))

    listing = {str(p): info for p, info in await step("MLSD /src", collect(client.list("/src")))}
    names = sorted(p.rsplit("/", 1)[-1] for p in listing)
    check(failures, f"MLSD /src names: {names}", names == ["app.bin", "down.bin", "part.bin"])
    down = next((i for p, i in listing.items() if p.endswith("down.bin")), {})
    size = os.path.getsize(local / "down.bin")
    check(failures, f"MLSD size of down.bin {down.get('size')} != {size}", down.get("size") == str(size))
    check(failures, f"MLSD type of down.bin {down.get('type')}", down.get("type") == "file")

    # Upload continuation: the size on the server (MLST of a file), then
    # REST + STOR, or APPE, of the rest.
    have = int((await step("MLST /src/part.bin", client.stat("/src/part.bin")))["size"])
    await step("REST + STOR /src/part.bin", upload_rest(client, local / "part.bin", "/src/part.bin", have, "STOR"))
    have = int((await step("MLST /src/app.bin", client.stat("/src/app.bin")))["size"])
    await step("APPE /src/app.bin", upload_rest(client, local / "part.bin", "/src/app.bin", have, "APPE"))

    # aioftp's high-level upload and download check the remote side with
    # MLST first (the directory exists; the source is a file).
    await step("upload /d/moved.bin", client.upload(local / "up.bin", "/d/moved.bin", write_into=True))
    await step("upload /d/gone.bin", client.upload(local / "up.bin", "/d/gone.bin", write_into=True))
    await step("download /src/down.bin", client.download("/src/down.bin", local / "again.bin", write_into=True))
    check(failures, "is_dir('/d')", await step("MLST /d", client.is_dir("/d")))

    await step("RNFR/RNTO", client.rename("/d/moved.bin", "/d/renamed.bin"))
    check(failures, "moved.bin gone after RNTO", not await step("MLST", client.exists("/d/moved.bin")))
    check(failures, "renamed.bin is a file", await step("MLST", client.is_file("/d/renamed.bin")))
    await step("DELE /d/gone.bin", client.remove_file("/d/gone.bin"))
    check(failures, "gone.bin gone after DELE", not await step("MLST", client.exists("/d/gone.bin")))
    await step("MKD /d/sub", client.command("MKD /d/sub", "257"))
    check(failures, "is_dir('/d/sub')", await step("MLST /d/sub", client.is_dir("/d/sub")))
    await step("RMD /d/sub", client.remove_directory("/d/sub"))
    check(failures, "sub gone after RMD", not await step("MLST", client.exists("/d/sub")))
    return failures


async def dirs(client, local):
    """Existence checks on directories (aioftp's stat is MLST). Before:
    server /sub with files 'a first.txt' (5 bytes) and 'b.txt', and an
    empty directory /sub/inner."""
    failures = []
    for path, want in [
        ("/sub", "dir"),
        ("/sub/inner", "dir"),
        ("/sub/a first.txt", "file"),
        ("/", "dir"),
    ]:
        info = await step(f"stat {path}", client.stat(path))
        kind = info.get("type")
        check(failures, f"MLST {path}: type={kind}, want {want}", kind == want or (want == "dir" and kind in ("cdir", "pdir")))
    check(failures, "exists('/sub')", await step("exists /sub", client.exists("/sub")))
    check(failures, "is_dir('/sub')", await step("is_dir /sub", client.is_dir("/sub")))
    check(failures, "not is_file('/sub')", not await step("is_file /sub", client.is_file("/sub")))
    check(failures, "is_file('/sub/a first.txt')", await step("is_file", client.is_file("/sub/a first.txt")))
    size = (await step("stat", client.stat("/sub/a first.txt"))).get("size")
    check(failures, f"size of 'a first.txt' {size}", size == "5")
    check(failures, "not exists('/nowhere')", not await step("exists /nowhere", client.exists("/nowhere")))
    # make_directory(parents=True) walks up with exists() and makes what is missing.
    await step("MKD /sub/new/deeper", client.make_directory("/sub/new/deeper"))
    check(failures, "is_dir('/sub/new/deeper')", await step("is_dir", client.is_dir("/sub/new/deeper")))
    return failures


async def main():
    port, security, version, passive, scenario, local = sys.argv[1:7]
    client = await connect(int(port), security, version, passive)
    failures = await {"ops": ops, "dirs": dirs}[scenario](client, Path(local))
    await step("QUIT", client.quit())
    if failures:
        raise SystemExit("checks failed:\n  " + "\n  ".join(failures))
    print("ok")


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(), 90))
