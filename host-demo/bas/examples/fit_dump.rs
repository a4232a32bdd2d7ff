//! Prints the FIT messages of a file, one line each: a debugging aid for the mapping rules.
//! Usage: `cargo run -p bincio-bas --example fit_dump -- FILE [KIND...]`.
fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: fit_dump FILE [KIND...]");
    let kinds: Vec<String> = args.collect();
    let bytes = std::fs::read(&path).expect("readable file");
    let opts = [
        fitparser::de::DecodeOption::SkipDataCrcValidation,
        fitparser::de::DecodeOption::SkipHeaderCrcValidation,
    ]
    .into_iter()
    .collect();
    match fitparser::de::from_bytes_with_options(&bytes, &opts) {
        Ok(records) => {
            for r in records {
                let kind = r.kind().to_string();
                if !kinds.is_empty() && !kinds.contains(&kind) {
                    continue;
                }
                let fields: Vec<String> = r
                    .fields()
                    .iter()
                    .map(|f| format!("{}={:?}", f.name(), f.value()))
                    .collect();
                println!("{kind}: {}", fields.join(" "));
            }
        }
        Err(e) => println!("error: {e}"),
    }
}
