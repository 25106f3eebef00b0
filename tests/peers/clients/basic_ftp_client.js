#!/usr/bin/env node
// basic-ftp scenarios for tests/tests/basic_ftp.rs (our server against the
// npm FTP client, basic-ftp 5).
//
// usage: node basic_ftp_client.js PORT SECURITY TLS PASSIVE SCENARIO LOCAL_DIR
//
//   SECURITY  plain | explicit (AUTH TLS, PBSZ 0, PROT P) | implicit
//   TLS       any | 1.2 | 1.3: the only TLS version the client offers
//   PASSIVE   epsv (basic-ftp's default: EPSV, falling back to PASV) | pasv
//             (PASV only); basic-ftp has no active mode
//   SCENARIO  ops (see below)
//   LOCAL_DIR the client's side of the transfers
//
// Run with NODE_PATH=$PREFIX/node/node_modules (tests/peers/install.sh).
// Every control and data socket times out after 15 s of silence and the
// whole run after 90 s; a failed check exits non-zero naming it. Connects to
// 127.0.0.1 only.
"use strict";

const fs = require("fs");
const path = require("path");
const ftp = require("basic-ftp");

const [port, security, tls, passive, scenario, local] = process.argv.slice(2);

setTimeout(() => {
    console.error("basic-ftp scenario: no result within 90 s (hung)");
    process.exit(3);
}, 90000).unref();

function tlsOptions() {
    // The test server's certificate is self-signed.
    const options = { rejectUnauthorized: false };
    if (tls === "1.2") {
        options.minVersion = options.maxVersion = "TLSv1.2";
    } else if (tls === "1.3") {
        options.minVersion = options.maxVersion = "TLSv1.3";
    }
    return options;
}

const failures = [];
function check(what, ok) {
    if (!ok) {
        failures.push(what);
    }
}

async function step(name, promise) {
    try {
        return await promise;
    } catch (e) {
        throw new Error(`step ${JSON.stringify(name)} failed: ${e && e.message ? e.message : e}`);
    }
}

// Before: server /src/down.bin and /src/part.bin (the first part of local
// part.bin); local up.bin, part.bin and resumed.bin (the first part of
// /src/down.bin).
async function ops(client) {
    await step("MKD /d", client.ensureDir("/d"));
    await step("CWD /", client.cd("/"));
    for (const name of ["up.bin", "moved.bin", "gone.bin"]) {
        await step(`STOR /d/${name}`, client.uploadFrom(path.join(local, "up.bin"), `/d/${name}`));
    }
    await step("RETR /src/down.bin", client.downloadTo(path.join(local, "down.bin"), "/src/down.bin"));

    const listing = await step("list /src", client.list("/src"));
    const names = listing.map(f => f.name).sort();
    check(`list /src names: ${names}`, JSON.stringify(names) === JSON.stringify(["down.bin", "part.bin"]));
    const down = listing.find(f => f.name === "down.bin") || {};
    const size = fs.statSync(path.join(local, "down.bin")).size;
    check(`list size of down.bin ${down.size} != ${size}`, down.size === size);
    check(`list type of down.bin ${down.type}`, down.type === ftp.FileType.File);

    // Download continued: REST from the local file's size, then RETR.
    const have = fs.statSync(path.join(local, "resumed.bin")).size;
    await step("REST + RETR", client.downloadTo(path.join(local, "resumed.bin"), "/src/down.bin", have));
    // Upload continued: SIZE, then APPE of the rest.
    const remote = await step("SIZE /src/part.bin", client.size("/src/part.bin"));
    await step("APPE", client.appendFrom(path.join(local, "part.bin"), "/src/part.bin", { localStart: remote }));

    await step("RNFR/RNTO", client.rename("/d/moved.bin", "/d/renamed.bin"));
    await step("DELE", client.remove("/d/gone.bin"));
    await step("MKD /d/sub", client.ensureDir("/d/sub"));
    await step("CWD /", client.cd("/"));
    const inD = (await step("list /d", client.list("/d"))).map(f => `${f.name}:${f.type}`).sort();
    const want = ["renamed.bin:1", "sub:2", "up.bin:1"];
    check(`list /d: ${inD}, want ${want}`, JSON.stringify(inD) === JSON.stringify(want));
    await step("RMD /d/sub", client.removeEmptyDir("/d/sub"));
    const after = (await step("list /d", client.list("/d"))).map(f => f.name).sort();
    check(`list /d after RMD: ${after}`, JSON.stringify(after) === JSON.stringify(["renamed.bin", "up.bin"]));
}

async function main() {
    const client = new ftp.Client(15000);
    client.ftp.verbose = process.env.BASIC_FTP_VERBOSE === "1";
    try {
        await step(
            "connect and login",
            client.access({
                host: "127.0.0.1",
                port: Number(port),
                user: "ftptest",
                password: "ftptest",
                secure: security === "plain" ? false : security === "implicit" ? "implicit" : true,
                secureOptions: tlsOptions(),
            }),
        );
        if (passive === "pasv") {
            client.prepareTransfer = ftp.enterPassiveModeIPv4;
        }
        if (scenario !== "ops") {
            throw new Error(`unknown scenario ${scenario}`);
        }
        await ops(client);
        if (security !== "plain") {
            const cipher = client.ftp.socket.getProtocol ? client.ftp.socket.getProtocol() : "?";
            check(`control connection TLS version ${cipher}`, tls === "any" || cipher === `TLSv${tls}`);
        }
    } finally {
        client.close();
    }
    if (failures.length > 0) {
        console.error("checks failed:\n  " + failures.join("\n  "));
        process.exit(1);
    }
    console.log("ok");
}

main().catch(e => {
    console.error(e && e.stack ? e.stack : e);
    process.exit(2);
});
