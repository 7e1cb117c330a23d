//! Hardware profiles for the roofline: the peak throughput of a device per
//! precision and the bandwidth of its memory. With a node's FLOPs and the
//! bytes it moves, they give the least time the node can take on that
//! device — a lower bound, never a measurement.

mod builtin;

pub use builtin::builtin_profiles;

/// The number formats a device states a peak for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Precision {
    Fp64,
    Fp32,
    /// NVIDIA's TensorFloat-32 (fp32 storage, 10-bit mantissa products).
    Tf32,
    Fp16,
    Bf16,
    Fp8,
    Int8,
    Int4,
}

impl Precision {
    pub const ALL: [Precision; 8] = [
        Precision::Fp64,
        Precision::Fp32,
        Precision::Tf32,
        Precision::Fp16,
        Precision::Bf16,
        Precision::Fp8,
        Precision::Int8,
        Precision::Int4,
    ];

    /// The name used on the command line and in profile files.
    pub fn name(self) -> &'static str {
        match self {
            Precision::Fp64 => "fp64",
            Precision::Fp32 => "fp32",
            Precision::Tf32 => "tf32",
            Precision::Fp16 => "fp16",
            Precision::Bf16 => "bf16",
            Precision::Fp8 => "fp8",
            Precision::Int8 => "int8",
            Precision::Int4 => "int4",
        }
    }

    pub fn parse(text: &str) -> Option<Precision> {
        Precision::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(text.trim()))
    }
}

/// One device: what it can compute per second and how fast it reads
/// memory.
#[derive(Clone, Debug, PartialEq)]
pub struct HardwareProfile {
    /// Short name for `--hardware` (`h100-sxm`).
    pub id: String,
    /// Full name (`NVIDIA H100 SXM5 80 GB`).
    pub name: String,
    /// Device memory in bytes (for "does it fit"); 0 when not stated.
    pub memory_bytes: u64,
    /// Peak memory bandwidth in bytes per second.
    pub bandwidth: f64,
    /// Peak dense throughput, in operations per second (a fused
    /// multiply-add counts 2), for each precision the vendor states. No
    /// structured-sparsity figures: nncost counts dense work.
    pub peaks: Vec<(Precision, f64)>,
    /// Where the figures come from (the datasheet's title and address).
    pub source: String,
}

impl HardwareProfile {
    /// A profile from a datasheet's units: memory in GiB (2^30 bytes, what
    /// a vendor's "80 GB" of device memory is), bandwidth in GB/s (10^9
    /// bytes/s), peaks in TFLOPS or TOPS (10^12 per second).
    pub fn from_datasheet(
        id: &str,
        name: &str,
        memory_gb: f64,
        bandwidth_gbs: f64,
        peaks_tflops: &[(Precision, f64)],
        source: &str,
    ) -> HardwareProfile {
        HardwareProfile {
            id: id.to_string(),
            name: name.to_string(),
            memory_bytes: (memory_gb * (1u64 << 30) as f64).round() as u64,
            bandwidth: bandwidth_gbs * 1e9,
            peaks: peaks_tflops.iter().map(|&(p, t)| (p, t * 1e12)).collect(),
            source: source.to_string(),
        }
    }

    /// The peak for `precision`, when the device states one.
    pub fn peak(&self, precision: Precision) -> Option<f64> {
        self.peaks
            .iter()
            .find(|(p, _)| *p == precision)
            .map(|&(_, v)| v)
    }
}
