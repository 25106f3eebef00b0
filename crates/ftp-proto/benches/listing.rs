//! Directory-listing parsing speed, in lines per second (issue 5).
//!
//! `cargo bench -p ftp-proto --bench listing -- --warm-up-time 1 --measurement-time 3`
//!
//! Corpora: `ls -l` lines as vsftpd/ProFTPD/Pure-FTPd write them, MLSD lines
//! as they write them, and IIS (DOS) lines; each a few thousand lines with
//! varied names, sizes and dates.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ftp_proto::Timestamp;
use ftp_proto::listing;

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

fn unix_lines(n: usize) -> Vec<Bytes> {
    (0..n)
        .map(|i| {
            let kind = if i % 7 == 0 { "drwxr-xr-x" } else { "-rw-r--r--" };
            let date = if i % 3 == 0 {
                format!("{} {:2}  20{:02}", MONTHS[i % 12], 1 + i % 28, 10 + i % 14)
            } else {
                format!("{} {:2} {:02}:{:02}", MONTHS[i % 5], 1 + i % 28, i % 24, i % 60)
            };
            let line = format!("{kind}    1 ftp      ftp      {:>10} {date} file number {i}.dat", i * 7919);
            Bytes::from(line)
        })
        .collect()
}

fn mlsd_lines(n: usize) -> Vec<Bytes> {
    (0..n)
        .map(|i| {
            let ty = if i % 7 == 0 { "dir" } else { "file" };
            Bytes::from(format!(
                "type={ty};size={};modify=2024{:02}{:02}120000;perm=adfrw;UNIX.mode=0644;unique=803g{i:x}; file number {i}.dat",
                i * 7919,
                1 + i % 12,
                1 + i % 28
            ))
        })
        .collect()
}

fn dos_lines(n: usize) -> Vec<Bytes> {
    (0..n)
        .map(|i| {
            let what = if i % 7 == 0 { "<DIR>         ".to_owned() } else { format!("{:>14}", i * 7919) };
            Bytes::from(format!(
                "{:02}-{:02}-24  {:02}:{:02}PM {what} file number {i}.dat",
                1 + i % 12,
                1 + i % 28,
                1 + i % 12,
                i % 60
            ))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let now = Timestamp::new(2024, 6, 15, 12, 0, 0).unwrap();
    let corpora = [("unix", unix_lines(4096)), ("mlsd", mlsd_lines(4096)), ("dos", dos_lines(4096))];
    let mut group = c.benchmark_group("listing");
    for (name, lines) in &corpora {
        // Every line must parse: a benchmark of errors would measure nothing useful.
        for l in lines {
            listing::parse_list_line(l, now).or_else(|_| listing::parse_mlsx(l)).expect("corpus line parses");
        }
        group.throughput(Throughput::Elements(lines.len() as u64));
        group.bench_function(format!("{name}/auto"), |b| {
            b.iter(|| {
                for l in lines {
                    let e = if *name == "mlsd" { listing::parse_mlsx(l) } else { listing::parse_list_line(l, now) };
                    black_box(e.ok());
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
