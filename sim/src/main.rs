//! The `zerortt` command line.
fn main() {
    println!("zerortt {}", env!("CARGO_PKG_VERSION"));
}
