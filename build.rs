//! Rebuilds the crate when a migration is added or changed: the migrations
//! are embedded in the binary (`diesel_migrations::embed_migrations!` in
//! src/db/mod.rs), and cargo does not watch the directory by itself.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
