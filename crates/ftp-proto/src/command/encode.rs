//! Writing commands. Infallible: arguments were validated when built.

use bytes::BytesMut;

use super::{Command, FormatControl, ProtectionLevel, Structure, TransferMode, TransferType};
use crate::addr::{self, EpsvArg, NetProto};

fn letter(dst: &mut BytesMut, c: u8) {
    dst.extend_from_slice(&[b' ', c]);
}

fn form(dst: &mut BytesMut, f: Option<FormatControl>) {
    match f {
        None => {}
        Some(FormatControl::NonPrint) => letter(dst, b'N'),
        Some(FormatControl::Telnet) => letter(dst, b'T'),
        Some(FormatControl::Carriage) => letter(dst, b'C'),
    }
}

pub(super) fn encode(cmd: &Command, dst: &mut BytesMut) {
    use Command as C;
    match cmd {
        C::Other(ext) => {
            ext.verb.encode(dst);
            if let Some(arg) = &ext.argument {
                dst.extend_from_slice(b" ");
                arg.encode(dst);
            }
        }
        known => {
            dst.extend_from_slice(known.kind().map_or("", super::CommandKind::name).as_bytes());
            encode_argument(known, dst);
        }
    }
    dst.extend_from_slice(b"\r\n");
}

fn encode_argument(cmd: &Command, dst: &mut BytesMut) {
    use Command as C;
    let sp = |dst: &mut BytesMut| dst.extend_from_slice(b" ");
    match cmd {
        C::Cdup
        | C::Rein
        | C::Quit
        | C::Pasv
        | C::Abor
        | C::Pwd
        | C::Syst
        | C::Noop
        | C::Ccc
        | C::Feat
        | C::Xcup
        | C::Xpwd => {}
        C::User(u) => {
            sp(dst);
            u.encode(dst);
        }
        C::Pass(p) => {
            sp(dst);
            p.expose().encode(dst);
        }
        C::Acct(a) => {
            sp(dst);
            a.expose().encode(dst);
        }
        C::Cwd(p)
        | C::Smnt(p)
        | C::Retr(p)
        | C::Stor(p)
        | C::Appe(p)
        | C::Rnfr(p)
        | C::Rnto(p)
        | C::Dele(p)
        | C::Rmd(p)
        | C::Mkd(p)
        | C::Size(p)
        | C::Mdtm(p)
        | C::Hash(p)
        | C::Xcwd(p)
        | C::Xmkd(p)
        | C::Xrmd(p) => {
            sp(dst);
            p.encode(dst);
        }
        C::Stou(p) | C::List(p) | C::Nlst(p) | C::Stat(p) | C::Mlst(p) | C::Mlsd(p) => {
            if let Some(p) = p {
                sp(dst);
                p.encode(dst);
            }
        }
        C::Port(a) => {
            sp(dst);
            addr::encode_host_port(a, dst);
        }
        C::Type(t) => match t {
            TransferType::Ascii(f) => {
                letter(dst, b'A');
                form(dst, *f);
            }
            TransferType::Ebcdic(f) => {
                letter(dst, b'E');
                form(dst, *f);
            }
            TransferType::Image => letter(dst, b'I'),
            TransferType::Local(n) => {
                dst.extend_from_slice(b" L ");
                addr::put_u64(dst, u64::from(n.get()));
            }
        },
        C::Stru(s) => letter(
            dst,
            match s {
                Structure::File => b'F',
                Structure::Record => b'R',
                Structure::Page => b'P',
            },
        ),
        C::Mode(m) => letter(
            dst,
            match m {
                TransferMode::Stream => b'S',
                TransferMode::Block => b'B',
                TransferMode::Compressed => b'C',
                TransferMode::Deflate => b'Z',
            },
        ),
        C::Allo(a) => {
            sp(dst);
            addr::put_u64(dst, a.size);
            if let Some(r) = a.record_size {
                dst.extend_from_slice(b" R ");
                addr::put_u64(dst, r);
            }
        }
        C::Rest(n) => {
            sp(dst);
            addr::put_u64(dst, *n);
        }
        C::Site(t) => {
            sp(dst);
            t.encode(dst);
        }
        C::Help(t) => {
            if let Some(t) = t.as_ref().filter(|t| !t.is_empty()) {
                sp(dst);
                t.encode(dst);
            }
        }
        C::Auth(m) => {
            sp(dst);
            m.encode(dst);
        }
        C::Adat(b) => {
            sp(dst);
            b.expose().encode(dst);
        }
        C::Mic(b) | C::Conf(b) | C::Enc(b) => {
            sp(dst);
            b.encode(dst);
        }
        C::Prot(p) => letter(
            dst,
            match p {
                ProtectionLevel::Clear => b'C',
                ProtectionLevel::Safe => b'S',
                ProtectionLevel::Confidential => b'E',
                ProtectionLevel::Private => b'P',
            },
        ),
        C::Pbsz(n) => {
            sp(dst);
            addr::put_u64(dst, u64::from(*n));
        }
        C::Opts(o) => {
            sp(dst);
            o.command.encode(dst);
            if let Some(opts) = &o.options {
                sp(dst);
                opts.encode(dst);
            }
        }
        C::Eprt(a) => {
            sp(dst);
            addr::encode_eprt(a, dst);
        }
        C::Epsv(arg) => match arg {
            EpsvArg::Any => {}
            EpsvArg::Protocol(NetProto::Ipv4) => dst.extend_from_slice(b" 1"),
            EpsvArg::Protocol(NetProto::Ipv6) => dst.extend_from_slice(b" 2"),
            EpsvArg::All => dst.extend_from_slice(b" ALL"),
        },
        C::Lang(tag) => {
            if let Some(tag) = tag {
                sp(dst);
                tag.encode(dst);
            }
        }
        C::Host(h) => {
            sp(dst);
            h.encode(dst);
        }
        C::Mfmt(t, p) | C::Mfct(t, p) => {
            sp(dst);
            t.encode(dst);
            sp(dst);
            p.encode(dst);
        }
        C::Mff(f, p) => {
            sp(dst);
            f.encode(dst);
            sp(dst);
            p.encode(dst);
        }
        C::Other(_) => {}
    }
}
