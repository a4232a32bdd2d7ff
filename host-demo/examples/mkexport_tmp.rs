use garmin_emulator::fit_writer::{write_activity, FitActivitySpec, Sport};
use std::io::{Cursor, Write};
use time::OffsetDateTime;
use zip::write::SimpleFileOptions;
fn main() {
    let n: u32 = std::env::args().nth(1).unwrap().parse().unwrap();
    let out = std::env::args().nth(2).unwrap();
    let deflated = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    let mut inner = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..n {
        let start =
            OffsetDateTime::from_unix_timestamp(1_500_000_000 + i64::from(i) * 86_400).unwrap();
        let mut spec = FitActivitySpec::new(start, Sport::Cycling, 1800.0, 15_000.0);
        spec.records = 1800;
        spec.seed = u64::from(i);
        let bytes = write_activity(&spec).unwrap();
        inner
            .start_file(format!("UploadedFiles/{i}.fit"), deflated)
            .unwrap();
        inner.write_all(&bytes).unwrap();
    }
    let inner = inner.finish().unwrap().into_inner();
    let mut outer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().large_file(true);
    outer
        .start_file(
            "DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip",
            stored,
        )
        .unwrap();
    outer.write_all(&inner).unwrap();
    std::fs::write(out, outer.finish().unwrap().into_inner()).unwrap();
}
