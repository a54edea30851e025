//! The flowrs twins of `bench/metaflow/*.py`: the shapes `bench/compare-metaflow` times
//! against Metaflow. Step bodies are trivial on purpose, so a run's wall-clock time is the
//! framework's overhead: scheduling, (de)serializing and persisting every task's artifacts.
//!
//! Each flow takes `--payload N`: `start` sets an `N` MiB artifact of pseudo-random
//! (incompressible) bytes and every later step, branch or item reads it, as the Python
//! twins do with `os.urandom`.

pub mod foreach;
pub mod linear;
pub mod split;

/// `mib` MiB of pseudo-random bytes (xorshift64*), so neither side gains from compression.
pub fn payload(mib: usize) -> Vec<u8> {
    random_bytes(mib, 0x9E37_79B9_7F4A_7C15)
}

/// `mib` MiB of pseudo-random bytes from another seed than [`payload`]'s, so a second
/// field of the same size is not stored as the same (content-addressed) blob.
pub fn other_random_bytes(mib: usize) -> Vec<u8> {
    random_bytes(mib, 0xD1B5_4A32_D192_ED03)
}

fn random_bytes(mib: usize, seed: u64) -> Vec<u8> {
    let len = mib * 1024 * 1024;
    let mut bytes = Vec::with_capacity(len + 8);
    let mut x: u64 = seed;
    while bytes.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        bytes.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}
