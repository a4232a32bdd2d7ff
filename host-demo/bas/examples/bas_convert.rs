//! Converts FIT files and prints one line per file (outcome, sport, figures, warnings).
//! Usage: `cargo run -p bincio-bas --example bas_convert -- FILE...`; `--json` prints the
//! activity documents instead.
fn main() {
    let mut json = false;
    for arg in std::env::args().skip(1) {
        if arg == "--json" {
            json = true;
            continue;
        }
        let bytes = std::fs::read(&arg).expect("readable file");
        let name = std::path::Path::new(&arg)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match bincio_bas::convert(&bytes, &name) {
            Ok(c) if json => println!("{}", serde_json::to_string_pretty(&c.activity).unwrap()),
            Ok(c) => println!(
                "{name}: {} {:?}/{:?} {:?} m {:?} s moving {:?} laps {} ts {} track {:?} {:?}",
                c.id(),
                c.activity.sport,
                c.activity.sub_sport,
                c.distance_m,
                c.elapsed_s,
                c.activity.moving_time_s,
                c.activity.laps.len(),
                c.activity.timeseries.t.len(),
                c.track.as_ref().map(|t| t.points.len()),
                c.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>()
            ),
            Err(rejected) => println!("REJECTED {rejected}"),
        }
    }
}
