//! Runs the live-class benchmark: `cargo run --release -p live --example bench -- [students] [with_video] [seconds]`.

use live::testclient::{BenchOptions, bench};
use std::time::Duration;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let opts = BenchOptions {
        students: args.first().copied().unwrap_or(40),
        students_with_video: args.get(1).copied().unwrap_or(2),
        duration: Duration::from_secs(args.get(2).copied().unwrap_or(10) as u64),
    };
    let r = bench(opts).await?;
    println!("{r:#?}");
    Ok(())
}
